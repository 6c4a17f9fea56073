"""The waiting list: candidates a pass found but did not write, and each owner's current load.

A CSM can act on about ten new tasks a week, so a pass records every new opportunity as a `waiting`
row first (ledger only, never the CRM). The planning step (worker/pipeline/capacity.py) then
promotes, per owner, the best candidates that fit to `pending`, and the write step writes those
exactly as before. A waiting row is replaced whenever its account is assessed again, so it always
carries the latest score; it is never part of an account's history (it was not offered).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select, update
from sqlalchemy.engine import Engine

from worker.store.outcomes import outcomes
from worker.store.probes import select_each
from worker.store.schema import PENDING, WAITING, opportunities


@dataclass(frozen=True)
class WaitingCandidate:
    """What planning needs of a waiting row; the payload stays in the database."""

    key: str
    account_id: str
    owner_id: str | None
    priority: float
    score: int


@dataclass(slots=True)
class Lead:
    """An account's best waiting candidate, with how many waiting offers the account has (this one
    included) and how many of them have no owner: all planning needs to decide the account."""

    candidate: WaitingCandidate
    offers: int = 1
    ownerless: int = 0


@dataclass(frozen=True)
class OwnerLoad:
    planned_this_week: int = 0
    open_tasks: int = 0


@dataclass(frozen=True)
class Promotion:
    """A candidate chosen by planning, with the owner and due date its task gets."""

    key: str
    owner_id: str
    due_date: date | None  # None: the due date the playbook drafted
    lead_key: str | None = None  # another offer of the same account whose task covers this one


class CandidateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace_for_accounts(
        self, crm: str, run_id: str, account_ids: Sequence[str], rows: Sequence[dict[str, Any]], now: datetime
    ) -> None:
        """The accounts' waiting candidates become `rows` (the latest assessment): a candidate no
        longer proposed disappears, one proposed again gets its new score and payload. Keys already
        pending or written are left alone."""
        if not account_ids:
            return
        c = opportunities.c
        # One DELETE per account (sent as one batch) and the known keys read by `select_each`'s probes:
        # with a chunk's 200 accounts in an IN list, a planner without table statistics probed
        # the `(crm, account_id)` index by `crm` alone and read every row of the CRM for each
        # chunk scored; a join to the probes was planned as a scan of the CRM too
        # (tests/worker/test_ledger_indexes.py).
        with self.engine.begin() as db:
            db.execute(
                delete(opportunities).where(c.crm == crm, c.account_id == bindparam("a"), c.state == WAITING),
                [{"a": a} for a in account_ids],
            )
            if not rows:
                return
            known = set(
                db.execute(
                    select_each(self.engine.dialect, c.key, [r["key"] for r in rows], (c.key,), c.crm == crm)
                ).scalars()
            )
            fresh = {
                r["key"]: {
                    **r,
                    "crm": crm,
                    "state": WAITING,
                    "run_id": run_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for r in rows
                if r["key"] not in known
            }
            if fresh:
                db.execute(insert(opportunities), list(fresh.values()))

    def waiting(self, crm: str, account_ids: Sequence[str] | None = None) -> Iterator[WaitingCandidate]:
        """The CRM's waiting candidates, or those of `account_ids` (a promoted account's offers)."""
        c = opportunities.c
        columns = (c.key, c.account_id, c.owner_id, c.priority, c.score)
        if account_ids is None:
            query = select(*columns).where(c.crm == crm, c.state == WAITING)
        else:
            query = select_each(
                self.engine.dialect, c.account_id, account_ids, columns, c.crm == crm, c.state == WAITING
            )
        with self.engine.connect() as db:
            result = db.execution_options(yield_per=5000).execute(query)
            for key, account_id, owner_id, priority, score in result:
                yield WaitingCandidate(key, account_id, owner_id, float(priority or 0), int(score))

    def leads(self, crm: str, per_account: bool = True) -> Iterator[Lead]:
        """Each account's best waiting candidate (every candidate when `per_account` is off), best
        first, ranked and counted by the database: planning a million accounts holds no list of
        them (worker/pipeline/planning.py). The order is planning's `rank_key`: rank value, score,
        then key by code point (COLLATE "C" on PostgreSQL, whatever the database's collation;
        SQLite compares bytes)."""
        c = opportunities.c
        postgres = self.engine.dialect.name == "postgresql"

        def by_code_point(column: Any) -> Any:
            return column.collate("C") if postgres else column

        priority = func.coalesce(c.priority, 0.0)
        ranked = [priority.desc(), c.score.desc(), by_code_point(c.key)]
        ownerless = case((c.owner_id.is_(None), 1), else_=0)
        waiting = and_(c.crm == crm, c.state == WAITING)
        if per_account:
            inner = (
                select(
                    c.key,
                    c.account_id,
                    c.owner_id,
                    priority.label("priority"),
                    c.score,
                    func.row_number().over(partition_by=c.account_id, order_by=ranked).label("nth"),
                    func.count().over(partition_by=c.account_id).label("offers"),
                    func.sum(ownerless).over(partition_by=c.account_id).label("ownerless"),
                )
                .where(waiting)
                .subquery()
            )
            i = inner.c
            query = (
                select(i.key, i.account_id, i.owner_id, i.priority, i.score, i.offers, i.ownerless)
                .where(i.nth == 1)
                .order_by(i.priority.desc(), i.score.desc(), by_code_point(i.key))
            )
        else:
            query = (
                select(c.key, c.account_id, c.owner_id, priority, c.score, literal(1), ownerless)
                .where(waiting)
                .order_by(*ranked)
            )
        for key, account_id, owner_id, prio, score, offers, none in self._stream(query):
            candidate = WaitingCandidate(key, account_id, owner_id, float(prio or 0), int(score))
            yield Lead(candidate, int(offers), int(none or 0))

    def _stream(self, query: Any) -> Iterator[Any]:
        """Rows as the server sends them on PostgreSQL (a server-side cursor, while promotions are
        written on another connection); all at once on SQLite, where an open read would block
        them (SQLite ledgers are the small, single-process ones)."""
        with self.engine.connect() as db:
            if self.engine.dialect.name == "sqlite":
                yield from db.execute(query).all()
                return
            yield from db.execution_options(yield_per=5000).execute(query)

    def owner_loads(self, crm: str, week_start: datetime, week_end: datetime) -> dict[str, OwnerLoad]:
        """Per owner: tasks planned in this week, and our tasks still open (no outcome closed the
        deal and the CSM has not completed the task, as far as the outcome sync knows). An offer
        covered by its account's lead task is no task of its own: only the lead counts."""
        ours = and_(
            opportunities.c.crm == crm,
            opportunities.c.state != WAITING,
            opportunities.c.owner_id.is_not(None),
            opportunities.c.lead_key.is_(None),
        )
        with self.engine.connect() as db:
            weekly = db.execute(
                select(opportunities.c.owner_id, func.count())
                .where(ours, opportunities.c.planned_at >= week_start, opportunities.c.planned_at < week_end)
                .group_by(opportunities.c.owner_id)
            ).all()
            still_open = db.execute(
                select(opportunities.c.owner_id, func.count())
                .select_from(
                    opportunities.outerjoin(
                        outcomes,
                        and_(outcomes.c.crm == opportunities.c.crm, outcomes.c.key == opportunities.c.key),
                    )
                )
                .where(
                    ours,
                    (outcomes.c.key.is_(None))
                    | (and_(outcomes.c.status == "open", outcomes.c.task_completed.is_not(True))),
                )
                .group_by(opportunities.c.owner_id)
            ).all()
        loads: dict[str, OwnerLoad] = {}
        for owner, n in weekly:
            loads[owner] = OwnerLoad(planned_this_week=int(n))
        for owner, n in still_open:
            loads[owner] = OwnerLoad(loads.get(owner, OwnerLoad()).planned_this_week, int(n))
        return loads

    def promote(
        self,
        crm: str,
        run_id: str,
        chosen: Sequence[Promotion],
        now: datetime,
        shape: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        """Chosen candidates become `pending`, their payload carrying the owner and due date planned.
        `shape` may rewrite the planned payloads (key -> payload) before they are stored, in the same
        transaction: an account's offers become one conversation together or not at all."""
        if not chosen:
            return
        with self.engine.begin() as db:
            c = opportunities.c
            payloads: dict[str, str] = dict(
                db.execute(
                    select_each(
                        self.engine.dialect,
                        c.key,
                        [p.key for p in chosen],
                        (c.key, c.payload),
                        c.crm == crm,
                        c.state == WAITING,
                    )
                ).all()
            )
            planned = {p.key: with_plan(payloads[p.key], p) for p in chosen if p.key in payloads}
            if shape is not None:
                planned = shape(planned)
            rows = [
                {"k": p.key, "owner": p.owner_id, "lead": p.lead_key, "payload": planned[p.key]}
                for p in chosen
                if p.key in planned
            ]
            if rows:
                db.execute(
                    update(opportunities)
                    .where(opportunities.c.crm == crm, opportunities.c.key == bindparam("k"))
                    .values(
                        state=PENDING,
                        owner_id=bindparam("owner"),
                        lead_key=bindparam("lead"),
                        payload=bindparam("payload"),
                        run_id=run_id,
                        planned_at=now,
                        created_at=now,
                        updated_at=now,
                    ),
                    rows,
                )


def with_plan(payload: str, chosen: Promotion) -> str:
    data = json.loads(payload)
    data["opportunity"]["owner_id"] = chosen.owner_id
    data["task"]["owner_id"] = chosen.owner_id
    if chosen.due_date is not None:
        data["task"]["due_date"] = chosen.due_date.isoformat()
    return json.dumps(data)
