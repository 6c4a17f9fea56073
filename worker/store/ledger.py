"""The ledger: what this tool has written, where each write stands, cursors, snapshots and runs.

It is the memory that makes passes exactly-once together with the connectors' idempotent writes:
a key is recorded `pending` with its full payload *before* any CRM call, then gains its deal id and
task id as each call succeeds. A pass that dies anywhere leaves rows that say precisely what is left
to do, and the next pass finishes them first. SQLAlchemy Core, so SQLite (default) and PostgreSQL
(production, `OPPWORKER_DATABASE_URL`) run the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from worker.store.mentions import MentionStore
from worker.store.schema import (
    DEAL_WRITTEN,
    DONE,
    PENDING,
    WAITING,
    add_later_columns,
    baskets,
    cursors,
    make_engine,
    metadata,
    opportunities,
    replace_rows,
    runs,
    usage_snapshots,
    utc,
)


class Ledger:
    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        metadata.create_all(self.engine)
        self.mentions = MentionStore(self.engine)  # what customers said (worker/store/mentions.py)
        add_later_columns(self.engine)

    # --- runs -------------------------------------------------------------------------------
    def start_run(self, run_id: str, crm: str, mode: str, now: datetime, data_as_of: datetime | None) -> None:
        with self.engine.begin() as db:
            db.execute(
                insert(runs).values(
                    id=run_id, crm=crm, mode=mode, status="running", started_at=now, data_as_of=data_as_of
                )
            )

    def finish_run(self, run_id: str, status: str, report: dict[str, Any], error: str | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=datetime.now(UTC),
                    report=json.dumps(report, default=str),
                    error=error,
                )
            )

    def last_successful_run(self, crm: str) -> datetime | None:
        """When the last completed, non-dry pass of this CRM looked at its data (for milestones)."""
        with self.engine.connect() as db:
            row = db.execute(
                select(runs.c.data_as_of, runs.c.started_at)
                .where(runs.c.crm == crm, runs.c.status == "succeeded", runs.c.mode != "dry-run")
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return utc(row.data_as_of or row.started_at)

    def last_successful_start(self, crm: str) -> datetime | None:
        """Wall-clock start of the last completed, non-dry pass of this CRM: the watermark from
        which conversations are new to the next pass (worker/pipeline/revisits.py)."""
        with self.engine.connect() as db:
            started = db.execute(
                select(runs.c.started_at)
                .where(runs.c.crm == crm, runs.c.status == "succeeded", runs.c.mode != "dry-run")
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).scalar()
        return None if started is None else utc(started)

    def mark_run(self, run_id: str, **values: Any) -> None:
        """Set some columns of a run's row (queued -> running, its mode and data date)."""
        with self.engine.begin() as db:
            db.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's row as stored (`report` still JSON text), or None."""
        with self.engine.connect() as db:
            row = db.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return dict(row) if row else None

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit)).mappings().all()
        return [dict(r) | {"report": json.loads(r["report"]) if r["report"] else None} for r in rows]

    # --- cursors ------------------------------------------------------------------------------
    def cursor(self, crm: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(cursors.c.value).where(cursors.c.crm == crm)).scalar_one_or_none()

    def store_cursor(self, crm: str, value: str, run_id: str) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as db:
            done = db.execute(
                update(cursors).where(cursors.c.crm == crm).values(value=value, run_id=run_id, updated_at=now)
            )
            if done.rowcount == 0:
                db.execute(insert(cursors).values(crm=crm, value=value, run_id=run_id, updated_at=now))

    # --- opportunities --------------------------------------------------------------------------
    def record_pending(self, crm: str, run_id: str, items: Sequence[dict[str, Any]], now: datetime) -> None:
        """Insert keys not yet known; keys already in the ledger keep their state and ids."""
        if not items:
            return
        keys = [i["key"] for i in items]
        with self.engine.begin() as db:
            known = set(
                db.execute(
                    select(opportunities.c.key).where(
                        opportunities.c.crm == crm, opportunities.c.key.in_(keys)
                    )
                ).scalars()
            )
            fresh = {
                i["key"]: {
                    **i,
                    "crm": crm,
                    "state": PENDING,
                    "run_id": run_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in items
                if i["key"] not in known
            }
            if fresh:
                db.execute(insert(opportunities), list(fresh.values()))

    def claim(self, crm: str, keys: Sequence[str], owner: str, lease: timedelta) -> set[str]:
        """Take a lease on the unfinished keys no other writer holds; return the keys now ours.

        One conditional UPDATE: PostgreSQL re-checks the condition on rows a concurrent claim
        committed first, and SQLite serialises writers, so a key is never leased twice at once. A
        writer that dies leaves its lease to expire; the next pass resumes the key."""
        if not keys:
            return set()
        now = datetime.now(UTC)  # leases are wall-clock time, whatever the pass's `now`
        with self.engine.begin() as db:
            db.execute(
                update(opportunities)
                .where(
                    opportunities.c.crm == crm,
                    opportunities.c.key.in_(list(keys)),
                    opportunities.c.state != DONE,
                    or_(
                        opportunities.c.claimed_until.is_(None),
                        opportunities.c.claimed_until < now,
                        opportunities.c.claimed_by == owner,  # renewing our own lease
                    ),
                )
                .values(claimed_by=owner, claimed_until=now + lease)
            )
            mine = db.execute(
                select(opportunities.c.key).where(
                    opportunities.c.crm == crm,
                    opportunities.c.key.in_(list(keys)),
                    opportunities.c.claimed_by == owner,
                )
            ).scalars()
            return set(mine)

    def release(self, crm: str, keys: Iterable[str], owner: str) -> None:
        keys = list(keys)
        if not keys:
            return
        with self.engine.begin() as db:
            db.execute(
                update(opportunities)
                .where(
                    opportunities.c.crm == crm,
                    opportunities.c.key.in_(keys),
                    opportunities.c.claimed_by == owner,
                )
                .values(claimed_by=None, claimed_until=None)
            )

    def record_deals(self, crm: str, deal_ids: dict[str, str], now: datetime) -> None:
        """Deal ids of one connector call, in one transaction (one commit per batch, not per key).
        A key whose task id is already known (an offer covered by its account's lead task, issue
        #15) is done with its deal."""
        rows = [{"k": k, "v": v} for k, v in deal_ids.items()]
        done_if_task = case((opportunities.c.task_id.is_not(None), DONE), else_=DEAL_WRITTEN)
        with self.engine.begin() as db:
            self._record(db, crm, rows, "deal_id", done_if_task, now)

    def record_tasks(
        self, crm: str, task_ids: dict[str, str], now: datetime, covered: dict[str, str] | None = None
    ) -> None:
        """Task ids of one connector call, and in the same transaction the keys those tasks cover
        (an account's other offers, issue #15): a covered key is done once its own deal is written
        too (`record_deals` finishes it otherwise), so neither order leaves it unfinished."""
        done_if_deal = case((opportunities.c.deal_id.is_not(None), DONE), else_=opportunities.c.state)
        with self.engine.begin() as db:
            self._record(db, crm, [{"k": k, "v": v} for k, v in task_ids.items()], "task_id", DONE, now)
            self._record(
                db, crm, [{"k": k, "v": v} for k, v in (covered or {}).items()], "task_id", done_if_deal, now
            )

    @staticmethod
    def _record(
        db: Connection, crm: str, rows: list[dict[str, str]], column: str, state: Any, now: datetime
    ) -> None:
        if not rows:
            return
        statement = (
            update(opportunities)
            .where(opportunities.c.crm == crm, opportunities.c.key == bindparam("k"))
            .values({column: bindparam("v"), "state": state, "updated_at": now})
        )
        db.execute(statement, rows)

    def rows(self, crm: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        with self.engine.connect() as db:
            result = db.execute(
                select(opportunities).where(opportunities.c.crm == crm, opportunities.c.key.in_(keys))
            ).mappings()
            return {r["key"]: dict(r) for r in result}

    def unfinished(self, crm: str) -> list[dict[str, Any]]:
        """Keys a previous pass started but did not finish (no task yet): resumed first."""
        with self.engine.connect() as db:
            result = db.execute(
                select(opportunities)
                .where(opportunities.c.crm == crm, opportunities.c.state.not_in([DONE, WAITING]))
                .order_by(opportunities.c.created_at, opportunities.c.key)
            ).mappings()
            return [dict(r) for r in result]

    def unfinished_keys(self, crm: str) -> Iterator[tuple[str, str]]:
        """(key, run id) of the unfinished keys, in `unfinished` order, streamed without their
        payloads: a first pass over a big portal leaves hundreds of thousands pending, and planning
        the write batches needs only their keys, a batch at a time."""
        with self.engine.connect() as db:
            result = db.execution_options(yield_per=2000).execute(
                select(opportunities.c.key, opportunities.c.run_id)
                .where(opportunities.c.crm == crm, opportunities.c.state.not_in([DONE, WAITING]))
                .order_by(opportunities.c.created_at, opportunities.c.key)
            )
            yield from ((key, run_id) for key, run_id in result)  # Row -> plain tuple

    def written(self, crm: str) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as db:
            # Waiting candidates are not ours in the CRM yet: no history, no outcome, re-proposed.
            query = select(opportunities).where(opportunities.c.crm == crm, opportunities.c.state != WAITING)
            for row in db.execute(query).mappings():
                yield dict(row) | {"created_at": utc(row["created_at"])}

    def written_for(self, crm: str, account_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Our ledger rows for some accounts only (an incremental pass's chunk)."""
        if not account_ids:
            return []
        with self.engine.connect() as db:
            rows = db.execute(
                select(opportunities).where(
                    opportunities.c.crm == crm,
                    opportunities.c.account_id.in_(list(account_ids)),
                    opportunities.c.state != WAITING,
                )
            ).mappings()
            return [dict(r) | {"created_at": utc(r["created_at"])} for r in rows]

    def count(self, crm: str, state: str | None = None) -> int:
        """Keys of this CRM (in one state), counted by the database, not by fetching them."""
        query = select(func.count()).select_from(opportunities).where(opportunities.c.crm == crm)
        if state:
            query = query.where(opportunities.c.state == state)
        with self.engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def lease_until(self, crm: str) -> datetime | None:
        """When the last lease on this CRM's unfinished keys expires (None: none is held)."""
        query = select(func.max(opportunities.c.claimed_until)).where(
            opportunities.c.crm == crm,
            opportunities.c.state.not_in([DONE, WAITING]),
            opportunities.c.claimed_until > datetime.now(UTC),
        )
        with self.engine.connect() as db:
            value = db.execute(query).scalar_one()
        return utc(value) if value is not None else None

    def count_unfinished(self, crm: str) -> int:
        """Keys of this CRM whose deal or task is still to be written: a clean pass leaves none."""
        query = (
            select(func.count())
            .select_from(opportunities)
            .where(opportunities.c.crm == crm, opportunities.c.state.not_in([DONE, WAITING]))
        )
        with self.engine.connect() as db:
            return int(db.execute(query).scalar_one())

    # --- usage snapshots and baskets --------------------------------------------------------------
    def store_snapshots(self, crm: str, taken_on: date, values: Iterable[tuple[str, str, float]]) -> None:
        """One value per (account, metric, day): a later pass the same day replaces the value."""
        unique = {(a, m): v for a, m, v in values}  # an account listed twice: its last value counts
        rows = [
            {"crm": crm, "account_id": a, "metric": m, "taken_on": taken_on, "value": v}
            for (a, m), v in unique.items()
        ]
        replace_rows(self.engine, usage_snapshots, rows)

    def replace_snapshots(self, crm: str, values: Sequence[tuple[str, str, date, float]]) -> None:
        """Webhook usage: each (account, metric, day) value replaces what was stored for that day,
        all in one transaction."""
        with self.engine.begin() as db:
            for account_id, metric, day, value in values:
                db.execute(
                    usage_snapshots.delete().where(
                        usage_snapshots.c.crm == crm,
                        usage_snapshots.c.account_id == account_id,
                        usage_snapshots.c.metric == metric,
                        usage_snapshots.c.taken_on == day,
                    )
                )
                db.execute(
                    insert(usage_snapshots).values(
                        crm=crm, account_id=account_id, metric=metric, taken_on=day, value=value
                    )
                )

    def ping(self) -> None:
        """Raise if the database cannot be reached (the health check)."""
        with self.engine.connect() as db:
            db.execute(select(1))

    def snapshots(
        self, crm: str, account_ids: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[date, float]]]]:
        """account -> metric -> [(taken_on, value)], oldest first."""
        found: dict[str, dict[str, list[tuple[date, float]]]] = {}
        if not account_ids:
            return found
        with self.engine.connect() as db:
            result = db.execute(
                select(
                    usage_snapshots.c.account_id,
                    usage_snapshots.c.metric,
                    usage_snapshots.c.taken_on,
                    usage_snapshots.c.value,
                )
                .where(usage_snapshots.c.crm == crm, usage_snapshots.c.account_id.in_(list(account_ids)))
                .order_by(usage_snapshots.c.taken_on)
            )
            for account_id, metric, taken_on, value in result:
                found.setdefault(account_id, {}).setdefault(metric, []).append((taken_on, value))
        return found

    def has_baskets(self, crm: str) -> bool:
        with self.engine.connect() as db:
            return (
                db.execute(select(baskets.c.account_id).where(baskets.c.crm == crm).limit(1)).first()
                is not None
            )

    def store_baskets(self, crm: str, items: Iterable[tuple[str, frozenset[str]]]) -> None:
        rows = {a: ";".join(sorted(p)) for a, p in items}
        replace_rows(
            self.engine, baskets, [{"crm": crm, "account_id": a, "products": p} for a, p in rows.items()]
        )

    def iter_baskets(self, crm: str) -> Iterator[frozenset[str]]:
        with self.engine.connect() as db:
            for (products,) in db.execute(select(baskets.c.products).where(baskets.c.crm == crm)).yield_per(
                2000
            ):
                yield frozenset(p for p in products.split(";") if p)
