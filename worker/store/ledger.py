"""The ledger: what this tool has written, where each write stands, cursors, snapshots and runs.

It is the memory that makes passes exactly-once together with the connectors' idempotent writes:
a key is recorded `pending` with its full payload *before* any CRM call, then gains its deal id and
task id as each call succeeds. A pass that dies anywhere leaves rows that say precisely what is left
to do, and the next pass finishes them first. SQLAlchemy Core, so SQLite (default) and PostgreSQL
(production, `OPPWORKER_DATABASE_URL`) run the same code.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from worker.store.ledger_runs import RunsAndCursors
from worker.store.ledger_usage import UsageAndBaskets
from worker.store.ledger_writes import OpportunityWrites
from worker.store.mentions import MentionStore
from worker.store.schema import make_engine, metadata, upgrade_opportunities


class Ledger(RunsAndCursors, OpportunityWrites, UsageAndBaskets):
    """One object over the ledger's tables, its queries grouped by concept: runs and cursors
    (ledger_runs.py), the per-key write state (ledger_writes.py), usage snapshots and baskets
    (ledger_usage.py), mentions (mentions.py)."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        metadata.create_all(self.engine)
        self.mentions = MentionStore(self.engine)  # what customers said (worker/store/mentions.py)
        upgrade_opportunities(self.engine)

    def ping(self) -> None:
        """Raise if the database cannot be reached (the health check)."""
        with self.engine.connect() as db:
            db.execute(select(1))
