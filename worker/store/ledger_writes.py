"""The ledger's write state, one row per opportunity key: recorded `pending` with its full payload
before any CRM call, then its deal id and task id as each call succeeds, under a lease so two
writers never write one key at once. What a dead pass left undone is read back from here first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from worker.store.probes import select_each
from worker.store.schema import DEAL_WRITTEN, DONE, PENDING, WAITING, opportunities, utc


class OpportunityWrites:
    """Mixed into `Ledger` (worker/store/ledger.py), which owns the engine."""

    engine: Engine

    def record_pending(self, crm: str, run_id: str, items: Sequence[dict[str, Any]], now: datetime) -> None:
        """Insert keys not yet known; keys already in the ledger keep their state and ids."""
        if not items:
            return
        keys = [i["key"] for i in items]
        with self.engine.begin() as db:
            c = opportunities.c
            known = set(db.execute(select_each(db.dialect, c.key, keys, (c.key,), c.crm == crm)).scalars())
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

        One conditional UPDATE per key (one batch; an IN list of the batch's keys was planned as a
        read of the whole CRM without table statistics): PostgreSQL re-checks the condition on a row
        a concurrent claim committed first, and SQLite serialises writers, so a key is never leased
        twice at once. The keys go in sorted order, so two writers claiming overlapping batches lock
        their rows in the same order and cannot deadlock. A writer that dies leaves its lease to
        expire; the next pass resumes the key."""
        if not keys:
            return set()
        now = datetime.now(UTC)  # leases are wall-clock time, whatever the pass's `now`
        c = opportunities.c
        with self.engine.begin() as db:
            db.execute(
                update(opportunities)
                .where(
                    c.crm == crm,
                    c.key == bindparam("k"),
                    c.state != DONE,
                    or_(
                        c.claimed_until.is_(None),
                        c.claimed_until < now,
                        c.claimed_by == owner,  # renewing our own lease
                    ),
                )
                .values(claimed_by=owner, claimed_until=now + lease),
                [{"k": k} for k in sorted(set(keys))],
            )
            mine = db.execute(
                select_each(db.dialect, c.key, keys, (c.key,), c.crm == crm, c.claimed_by == owner)
            )
            return set(mine.scalars())

    def release(self, crm: str, keys: Iterable[str], owner: str) -> None:
        """Give up our lease on the keys: one UPDATE per key (one batch, in `claim`'s lock order)."""
        keys = sorted(set(keys))
        if not keys:
            return
        c = opportunities.c
        with self.engine.begin() as db:
            db.execute(
                update(opportunities)
                .where(c.crm == crm, c.key == bindparam("k"), c.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None),
                [{"k": k} for k in keys],
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
        c = opportunities.c
        with self.engine.connect() as db:
            result = db.execute(
                select_each(db.dialect, c.key, keys, opportunities.c, c.crm == crm)
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
        c = opportunities.c
        with self.engine.connect() as db:
            rows = db.execute(
                select_each(
                    db.dialect, c.account_id, account_ids, opportunities.c, c.crm == crm, c.state != WAITING
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
