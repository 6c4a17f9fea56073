"""The outcome loop's tables: what became of our deals, which accounts were held out, and how
accounts' plans and seats moved. SQLAlchemy Core on the ledger's own `metadata`, so SQLite and
PostgreSQL run the same code and the tables live beside the ledger's.

`Ledger` creates only the tables imported when it was built, so `OutcomeStore` calls
`metadata.create_all` itself (idempotent: it skips tables that exist).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, String, Text, insert, select, update
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Engine

from worker.store.schema import metadata, replace_rows, utc

# One row per deal of ours, its latest known state. `status`: open | won | lost | deleted.
outcomes = SATable(
    "ow_outcomes",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("account_id", String(120), nullable=False, index=True),
    Column("playbook", String(60), nullable=False),
    Column("offer", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("score", Integer),
    Column("journey_stage", String(40)),
    Column("estimated_amount", Float),
    Column("currency", String(8)),
    Column("deal_id", String(60)),
    Column("created_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("amount", Float),  # won amount: the CRM's, else the estimate
    Column("lost_reason", Text),
    Column("task_completed", Boolean, nullable=False, default=False),
    Column("task_completed_at", DateTime(timezone=True)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every change the loop saw, in order: `field` is status or task; old is None on first sight.
outcome_events = SATable(
    "ow_outcome_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("crm", String(40), nullable=False, index=True),
    Column("key", String(300), nullable=False, index=True),
    Column("field", String(20), nullable=False),
    Column("old", String(20)),
    Column("new", String(20), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

# Control-group accounts: a playbook would have fired here and deliberately did not.
holdouts = SATable(
    "ow_holdouts",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("playbook", String(60), primary_key=True),
    Column("key", String(300), nullable=False),
    Column("offer", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("score", Integer, nullable=False),
    Column("journey_stage", String(40)),
    Column("estimated_amount", Float),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(40)),
)

# Plan and seats per account per pass day (and imported history): expansions nobody's deal recorded.
account_states = SATable(
    "ow_account_states",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("taken_on", Date, primary_key=True),
    Column("plan_rank", Integer),
    Column("seats_purchased", Integer),
    Column("mrr", Float),
)

OPEN, WON, LOST, DELETED = "open", "won", "lost", "deleted"


def _row(row: Any) -> dict[str, Any]:
    data = dict(row)
    for name in (
        "created_at",
        "closed_at",
        "task_completed_at",
        "first_seen_at",
        "updated_at",
        "last_seen_at",
        "seen_at",
    ):
        if name in data:
            data[name] = utc(data[name])
    return data


class OutcomeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, tables=[outcomes, outcome_events, holdouts, account_states])

    # --- outcomes -------------------------------------------------------------------------------
    def outcomes(self, crm: str | None = None) -> list[dict[str, Any]]:
        query = select(outcomes)
        if crm:
            query = query.where(outcomes.c.crm == crm)
        with self.engine.connect() as db:
            return [_row(r) for r in db.execute(query.order_by(outcomes.c.crm, outcomes.c.key)).mappings()]

    def save(
        self,
        crm: str,
        inserts: Sequence[dict[str, Any]],
        updates: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]],
    ) -> None:
        """One transaction per sync: the rows and the events that explain them land together."""
        with self.engine.begin() as db:
            if inserts:
                db.execute(insert(outcomes), [{**row, "crm": crm} for row in inserts])
            for row in updates:
                values = {k: v for k, v in row.items() if k != "key"}
                db.execute(
                    update(outcomes)
                    .where(outcomes.c.crm == crm, outcomes.c.key == row["key"])
                    .values(**values)
                )
            if events:
                db.execute(insert(outcome_events), [{**e, "crm": crm} for e in events])

    def events(self, crm: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        query = select(outcome_events)
        if crm:
            query = query.where(outcome_events.c.crm == crm)
        if key:
            query = query.where(outcome_events.c.key == key)
        with self.engine.connect() as db:
            return [_row(r) for r in db.execute(query.order_by(outcome_events.c.id)).mappings()]

    # --- holdouts -------------------------------------------------------------------------------
    def record_holdouts(self, crm: str, run_id: str, items: Sequence[dict[str, Any]], now: datetime) -> None:
        """First sighting keeps its date (the start of the control account's window); later passes
        only move `last_seen_at`."""
        if not items:
            return
        with self.engine.begin() as db:
            for item in items:
                done = db.execute(
                    update(holdouts)
                    .where(
                        holdouts.c.crm == crm,
                        holdouts.c.account_id == item["account_id"],
                        holdouts.c.playbook == item["playbook"],
                    )
                    .values(last_seen_at=now, run_id=run_id)
                )
                if done.rowcount == 0:
                    db.execute(
                        insert(holdouts).values(
                            **item, crm=crm, first_seen_at=now, last_seen_at=now, run_id=run_id
                        )
                    )

    def holdouts(self, crm: str | None = None) -> list[dict[str, Any]]:
        query = select(holdouts)
        if crm:
            query = query.where(holdouts.c.crm == crm)
        with self.engine.connect() as db:
            return [
                _row(r)
                for r in db.execute(query.order_by(holdouts.c.account_id, holdouts.c.playbook)).mappings()
            ]

    # --- account states -------------------------------------------------------------------------
    def store_states(
        self, crm: str, taken_on: date, states: Iterable[tuple[str, int | None, int | None, float | None]]
    ) -> None:
        """(account, plan rank, seats, mrr) seen on `taken_on`; a later pass the same day replaces it."""
        rows = {
            a: {
                "crm": crm,
                "account_id": a,
                "taken_on": taken_on,
                "plan_rank": p,
                "seats_purchased": s,
                "mrr": m,
            }
            for a, p, s, m in states
        }
        replace_rows(self.engine, account_states, list(rows.values()))

    def states(self, crm: str | None = None) -> Iterator[dict[str, Any]]:
        """Oldest first per account."""
        query = select(account_states)
        if crm:
            query = query.where(account_states.c.crm == crm)
        with self.engine.connect() as db:
            rows = (
                db.execute(query.order_by(account_states.c.account_id, account_states.c.taken_on))
                .mappings()
                .all()
            )
        for row in rows:
            yield dict(row)
