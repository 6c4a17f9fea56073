"""The ledger's tables and the few helpers every query shares (UTC on read, the engine's options,
insert-or-replace). Only worker/store/ imports this module: the rest of the code asks `Ledger` or
`OutcomeStore`, never a table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

metadata = MetaData()

runs = Table(
    "ow_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("crm", String(40), nullable=False, index=True),
    Column("mode", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("data_as_of", DateTime(timezone=True)),
    Column("report", Text),
    Column("error", Text),
)

cursors = Table(
    "ow_cursors",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("value", Text, nullable=False),
    Column("run_id", String(40)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

opportunities = Table(
    "ow_opportunities",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("account_id", String(120), nullable=False),
    Column("playbook", String(60), nullable=False),
    Column("offer", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("score", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # pending -> deal_written -> done
    Column("deal_id", String(60)),
    Column("task_id", String(60)),
    Column("payload", Text, nullable=False),  # the opportunity and task, to finish without rescoring
    Column("run_id", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # A writer's lease on the key while it calls the CRM: two copies of one write batch (a Celery
    # retry racing a redelivered message) must not both create the task.
    Column("claimed_by", String(40)),
    Column("claimed_until", DateTime(timezone=True)),
    # Capacity planning (worker/pipeline/capacity.py): a `waiting` candidate's owner and rank; the
    # pass that promoted it to `pending` sets `planned_at`, which the weekly cap counts by.
    Column("owner_id", String(120), index=True),
    Column("priority", Float),
    Column("planned_at", DateTime(timezone=True)),
    # One conversation per account (issue #15): an offer promoted with a stronger one of the same
    # account names that offer's key; its task is the lead's, so capacity counts the lead alone.
    Column("lead_key", String(300)),
    # Every per-account query is `crm = ? AND account_id IN (...)`. With an index on account_id
    # alone, PostgreSQL without fresh statistics (autovacuum off, or a table filled within one
    # pass) took the primary key's `crm` prefix instead and read every row of the CRM for each
    # chunk: 1.7 s per chunk of 200 accounts at 440,000 rows, 15 ms with this index
    # (bench/scale.py, 1,000,000 accounts). Both columns in one index win whatever the statistics.
    Index("ix_ow_opportunities_crm_account", "crm", "account_id"),
)

usage_snapshots = Table(
    "ow_usage_snapshots",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("metric", String(80), primary_key=True),
    Column("taken_on", Date, primary_key=True),
    Column("value", Float, nullable=False),
)

baskets = Table(
    "ow_baskets",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("products", Text, nullable=False),
)

# What customers said (issue #13): one row per intent heard in one conversation, so an incremental
# pass reads only new conversations and still knows the older mentions and their age.
heard_mentions = Table(
    "ow_heard_mentions",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("intent", String(40), primary_key=True),
    Column("evidence", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("said_at", Date, nullable=False, index=True),
    Column("source", String(20), nullable=False),
    Column("product", String(120)),
)

PENDING, DEAL_WRITTEN, DONE = "pending", "deal_written", "done"
# A candidate that did not fit its owner's capacity yet: in the ledger only, never in the CRM. It
# is replaced when its account is assessed again and promoted to `pending` when it fits.
WAITING = "waiting"
# Columns added after a ledger may have been created: `Ledger` adds them to an older table
# (`upgrade_opportunities`).
LATER_COLUMNS = {
    "owner_id": "VARCHAR(120)",
    "priority": "FLOAT",
    "planned_at": "TIMESTAMP WITH TIME ZONE",
    "lead_key": "VARCHAR(300)",
}


def upgrade_opportunities(engine: Engine) -> None:
    """`create_all` never alters an existing table: add the capacity columns and the per-account
    index to an older ledger, and drop the index on account_id alone that this one replaces."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    present = {c["name"] for c in inspector.get_columns(opportunities.name)}
    missing = {n: t for n, t in LATER_COLUMNS.items() if n not in present}
    if missing:
        with engine.begin() as db:
            for name, sql_type in missing.items():
                if engine.dialect.name == "sqlite":
                    sql_type = "TIMESTAMP" if sql_type.startswith("TIMESTAMP") else sql_type
                db.execute(text(f"ALTER TABLE {opportunities.name} ADD COLUMN {name} {sql_type}"))
    indexes = {i["name"] for i in inspector.get_indexes(opportunities.name)}
    for index in opportunities.indexes:
        if index.name not in indexes:
            index.create(engine)
    if "ix_ow_opportunities_account_id" in indexes:
        with engine.begin() as db:
            db.execute(text("DROP INDEX ix_ow_opportunities_account_id"))


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything in the ledger is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def make_engine(url: str) -> Engine:
    """psycopg prepares a statement on its fifth run, and PostgreSQL may then keep the generic plan
    it costed while the ledger's tables were empty: a sequential scan. On a first pass over a big
    portal the tables grow by a chunk at a time, so every chunk's `DELETE ... WHERE account_id IN`
    scanned the whole table: 1,000 accounts/s fell to 270 at 100,000 accounts (bench/scale.py).
    Planning each statement afresh costs far less than that."""
    options: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        options["connect_args"] = {"prepare_threshold": None}
    return create_engine(url, future=True, pool_pre_ping=True, **options)


def replace_rows(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, replacing those with the same primary key: one INSERT ... ON CONFLICT DO UPDATE
    (PostgreSQL and SQLite), which finds each conflict through the primary key index row by row.
    A DELETE ... WHERE key IN (...) before the insert depends on the planner instead, and with no
    table statistics (autovacuum off, or a table filled within one pass) PostgreSQL scanned every
    row of the day for each chunk of 200 accounts."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    module = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    with engine.begin() as db:
        db.execute(statement, rows)
