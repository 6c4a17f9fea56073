"""The ledger's per-account queries must not depend on PostgreSQL's table statistics.

A first pass over a big portal fills `ow_opportunities` within one pass, and a server may run
with autovacuum off: the planner then has no idea how many rows a CRM has. With an index on
account_id alone it read every row of the CRM for each chunk's `crm = ? AND account_id IN (...)`
(1.7 s per chunk at 440,000 rows in bench/scale.py). These tests hold the fix: one index over both
columns, chosen with no statistics at all, and added to a ledger created before it existed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine

from worker.store.candidates import CandidateStore, Promotion
from worker.store.ledger import Ledger

ROWS = 20_000
NEW_INDEX = "ix_ow_opportunities_crm_account"
OLD_INDEX = "ix_ow_opportunities_account_id"


def _fill_without_statistics(url: str, payload: str = "{}") -> None:
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO ow_opportunities (crm, key, account_id, playbook, offer, kind, score, state,"
                " payload, created_at, updated_at)"
                " SELECT 'hubspot', 'acc-' || g || ':seats:seats', 'acc-' || g, 'seats', 'seats', 'upsell',"
                " 70, 'waiting', :payload, now(), now() FROM generate_series(1, :n) AS g"
            ),
            {"n": ROWS, "payload": payload},
        )
    engine.dispose()


def test_recording_a_chunk_deletes_and_reads_by_index_probes_without_statistics(postgres_url: str) -> None:
    """Each scored chunk replaces its 200 accounts' waiting candidates: the DELETE and the read of
    the keys already known must probe by account and key, not read the CRM by its `crm` prefix."""
    Ledger(postgres_url)  # creates the tables
    _fill_without_statistics(postgres_url)  # no ANALYZE: the planner's row counts are guesses
    chunk = [f"acc-{n}" for n in range(1, ROWS, ROWS // 200)]
    now = datetime(2026, 11, 2, tzinfo=UTC)
    rows = [
        {
            "key": f"{a}:seats:seats",
            "account_id": a,
            "playbook": "seats",
            "offer": "seats",
            "kind": "upsell",
            "score": 71,
            "payload": "{}",
            "owner_id": "o1",
            "priority": 1.0,
        }
        for a in chunk[:50]
    ]

    def records(engine: Engine) -> None:
        CandidateStore(engine).replace_for_accounts("hubspot", "run-2", chunk, rows, now)

    plans = _plans_of(postgres_url, records)
    assert len(plans) == 2, plans
    for plan in plans:
        assert NEW_INDEX in plan or "ow_opportunities_pkey" in plan, plan
        assert _probes_the_index(plan), plan  # by account and key, not by the `crm` prefix alone
    with create_engine(postgres_url).connect() as db:
        waiting = db.execute(
            text("SELECT count(*) FROM ow_opportunities WHERE state = 'waiting' AND run_id = 'run-2'")
        ).scalar()
    assert waiting == 50  # the 50 re-proposed came back, the other 150 accounts' candidates are gone


def _old_ledger(url: str) -> None:
    """The table as ledgers created before the capacity columns and the composite index had it."""
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "CREATE TABLE ow_opportunities (crm VARCHAR(40) NOT NULL, key VARCHAR(300) NOT NULL,"
                " account_id VARCHAR(120) NOT NULL, playbook VARCHAR(60) NOT NULL,"
                " offer VARCHAR(120) NOT NULL, kind VARCHAR(20) NOT NULL, score INTEGER NOT NULL,"
                " state VARCHAR(20) NOT NULL, deal_id VARCHAR(60), task_id VARCHAR(60), payload TEXT NOT NULL,"
                " run_id VARCHAR(40), created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                " updated_at TIMESTAMP WITH TIME ZONE NOT NULL, claimed_by VARCHAR(40),"
                " claimed_until TIMESTAMP WITH TIME ZONE, PRIMARY KEY (crm, key))"
            )
        )
        db.execute(text(f"CREATE INDEX {OLD_INDEX} ON ow_opportunities (account_id)"))
        db.execute(
            text(
                "INSERT INTO ow_opportunities (crm, key, account_id, playbook, offer, kind, score, state,"
                " payload, created_at, updated_at) VALUES ('hubspot', 'a:seats:seats', 'a', 'seats',"
                " 'seats', 'upsell', 70, 'done', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()


def _check_upgraded(url: str) -> None:
    Ledger(url)
    Ledger(url)  # a second start finds everything in place and changes nothing
    engine = create_engine(url)
    inspector = inspect(engine)
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("ow_opportunities")}
    columns = {c["name"] for c in inspector.get_columns("ow_opportunities")}
    with engine.connect() as db:
        kept = db.execute(text("SELECT key, state FROM ow_opportunities")).all()
    engine.dispose()
    assert indexes[NEW_INDEX] == ["crm", "account_id"]
    assert OLD_INDEX not in indexes
    assert {"owner_id", "priority", "planned_at", "lead_key"} <= columns
    assert "ix_ow_opportunities_owner_id" in indexes
    assert [tuple(r) for r in kept] == [("a:seats:seats", "done")]


def test_an_older_postgresql_ledger_gets_the_columns_and_the_index(postgres_url: str) -> None:
    _old_ledger(postgres_url)
    _check_upgraded(postgres_url)


def test_an_older_sqlite_ledger_gets_the_columns_and_the_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _old_ledger(url)
    _check_upgraded(url)


def _plans_of(url: str, sends: Callable[[Engine], object]) -> list[str]:
    """EXPLAIN of each SELECT, UPDATE and DELETE that `sends` sends through the engine it is given,
    with the parameters it was sent with (for a batch, the first statement's)."""
    engine = create_engine(url)
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            sent.append((sql, params[0] if many else params))  # a batch: its first statement

    event.listen(engine, "before_cursor_execute", record)
    sends(engine)
    event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as db:
        plans = [
            "\n".join(row[0] for row in db.exec_driver_sql(f"EXPLAIN {sql}", params)) for sql, params in sent
        ]
    engine.dispose()
    return plans


def _probes_the_index(plan: str) -> bool:
    """Every index condition names the looked-up column, not the `crm` prefix alone."""
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    return (
        bool(conditions)
        and all("key" in c or "account_id" in c for c in conditions)
        and "Seq Scan" not in plan
    )


def test_a_promotion_batch_reads_by_index_probes_without_statistics(postgres_url: str) -> None:
    """A batch of planning reads hundreds of accounts' offers and payloads: an IN list that long made
    the planner scan the whole CRM (0.5 s a query at 1,000,000 rows); each value is probed instead."""
    Ledger(postgres_url)
    _fill_without_statistics(postgres_url, payload='{"opportunity": {}, "task": {}}')
    batch = range(1, ROWS, ROWS // 500)
    now = datetime(2026, 11, 2, tzinfo=UTC)

    def reads(engine: Engine) -> None:
        store = CandidateStore(engine)
        assert len(list(store.waiting("hubspot", [f"acc-{n}" for n in batch]))) == len(batch)
        store.promote("hubspot", "run-1", [Promotion(f"acc-{n}:seats:seats", "o1", None) for n in batch], now)

    plans = _plans_of(postgres_url, reads)
    assert len(plans) == 3  # the offers, the payloads, the promotions' UPDATE (one per key)
    for plan in plans:
        assert _probes_the_index(plan), plan


def test_a_write_batch_reads_and_updates_by_index_probes_without_statistics(postgres_url: str) -> None:
    """Every write batch of 100 keys records them pending, claims them, reads their state and
    releases them: with IN lists of its keys each of those statements read every row of the CRM
    (bench/write_ledger.py); each key is probed instead."""
    Ledger(postgres_url)
    _fill_without_statistics(postgres_url)
    known = [f"acc-{n}:seats:seats" for n in range(1, ROWS, ROWS // 50)]
    items = [
        {"key": f"new-{n}:seats:seats", "account_id": f"new-{n}", "playbook": "seats", "offer": "seats"}
        | {"kind": "upsell", "score": 71, "payload": "{}"}
        for n in range(50)
    ]
    keys = known + [str(i["key"]) for i in items]
    now = datetime(2026, 11, 2, tzinfo=UTC)
    seen: dict[str, Any] = {}

    def writes(engine: Engine) -> None:
        ledger = Ledger(postgres_url, engine=engine)
        ledger.record_pending("hubspot", "run-1", items, now)
        seen["claimed"] = ledger.claim("hubspot", keys, "me", timedelta(minutes=5))
        seen["rows"] = ledger.rows("hubspot", keys)
        ledger.release("hubspot", keys, "me")

    plans = _plans_of(postgres_url, writes)
    written = [p for p in plans if " on ow_opportunities" in p]  # not Ledger(...)'s catalog reads
    assert len(written) == 5, plans  # known keys, claim's UPDATE and SELECT, rows, release
    for plan in written:
        assert _probes_the_index(plan), plan
    assert seen["claimed"] == set(keys)
    assert {k: r["claimed_by"] for k, r in seen["rows"].items()} == dict.fromkeys(keys, "me")
    with create_engine(postgres_url).connect() as db:
        held = db.execute(text("SELECT count(*) FROM ow_opportunities WHERE claimed_by IS NOT NULL")).scalar()
    assert held == 0  # released


def test_a_chunks_history_reads_by_index_probes_without_statistics(postgres_url: str) -> None:
    """A scoped pass reads its chunk's 200 accounts' ledger rows (`written_for`) for every chunk."""
    Ledger(postgres_url)
    _fill_without_statistics(postgres_url)
    with create_engine(postgres_url).begin() as db:
        db.execute(text("UPDATE ow_opportunities SET state = 'done' WHERE account_id LIKE 'acc-1%'"))
    chunk = [f"acc-{n}" for n in range(1, ROWS, ROWS // 200)]
    found: list[dict[str, Any]] = []

    def reads(engine: Engine) -> None:
        found.extend(Ledger(postgres_url, engine=engine).written_for("hubspot", chunk + chunk[:10]))

    plans = [p for p in _plans_of(postgres_url, reads) if " on ow_opportunities" in p]
    assert len(plans) == 1, plans
    assert _probes_the_index(plans[0]), plans[0]
    assert sorted(r["account_id"] for r in found) == sorted(a for a in chunk if a.startswith("acc-1"))


def test_a_chunks_snapshots_and_mentions_read_by_index_probes_without_statistics(postgres_url: str) -> None:
    """A CRM pass reads each chunk's stored usage snapshots (every account's metrics for 30 days)
    and, when listening, what its accounts said before: both by account, never the whole CRM."""
    Ledger(postgres_url)
    engine = create_engine(postgres_url)
    with engine.begin() as db:  # 20,000 accounts x 2 metrics x 3 days, 20,000 mentions; no ANALYZE
        db.execute(
            text(
                "INSERT INTO ow_usage_snapshots (crm, account_id, metric, taken_on, value)"
                " SELECT 'hubspot', 'acc-' || g, m, DATE '2026-11-01' + d, g FROM generate_series(1, :n) AS g,"
                " unnest(ARRAY['api_calls', 'active_users']) AS m, generate_series(0, 2) AS d"
            ),
            {"n": ROWS},
        )
        db.execute(
            text(
                "INSERT INTO ow_heard_mentions (crm, account_id, conversation_id, intent, evidence, language,"
                " confidence, said_at, source) SELECT 'hubspot', 'acc-' || g, 'note-' || g, 'more_seats',"
                " 'we need more seats', 'en', 0.9, DATE '2026-11-20', 'note' FROM generate_series(1, :n) AS g"
            ),
            {"n": ROWS},
        )
    engine.dispose()
    chunk = [f"acc-{n}" for n in range(1, ROWS, ROWS // 200)]
    snapshots: dict[str, Any] = {}
    heard: dict[str, Any] = {}

    def reads(engine: Engine) -> None:
        ledger = Ledger(postgres_url, engine=engine)
        snapshots.update(ledger.snapshots("hubspot", chunk))
        heard.update(ledger.mentions.recall("hubspot", chunk, date(2026, 11, 1)))

    plans = [
        p for p in _plans_of(postgres_url, reads) if " on ow_usage_snapshots" in p or " on ow_heard" in p
    ]
    assert len(plans) == 2, plans
    for plan in plans:
        assert _probes_the_index(plan), plan
    assert sorted(snapshots) == sorted(chunk) and sorted(heard) == sorted(chunk)
    assert snapshots["acc-101"]["api_calls"] == [(date(2026, 11, d), 101.0) for d in (1, 2, 3)]
    assert [m.conversation_id for m in heard["acc-101"]] == ["note-101"]
