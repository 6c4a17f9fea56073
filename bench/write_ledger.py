"""The ledger's share of one write batch, on a big ledger PostgreSQL has no statistics for.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.write_ledger
    ... -m bench.write_ledger --rows 200000 --batches 20

A first pass fills `ow_opportunities` within the pass, and with autovacuum off (or before it runs)
the planner has no row counts: a statement it plans as a read of the CRM's `crm` prefix costs time
in proportion to the whole ledger, for every write batch. This fills a scratch database with
`--rows` written keys (one SQL INSERT, no ANALYZE), then runs `--batches` write batches of 100 new
keys through the ledger exactly as `WriteBack._write` does (record_pending, claim, rows,
record_deals, the lease renewed by claim, record_tasks, release; no CRM), and times each step. Also
timed: `written_for` over a chunk of 200 accounts (a scoped pass's history read per chunk).

Run it from the checkout to measure (it imports `worker` from the current directory). The database
is created on the server DATABASE_URL names and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from worker.store.ledger import Ledger

CRM = "hubspot"
BATCH = 100
CHUNK = 200
PAYLOAD = "x" * 600  # about a real payload's size: the rows a bad plan reads are this wide


def fill(url: str, rows: int) -> None:
    Ledger(url).engine.dispose()  # the tables and indexes as the worker creates them
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO ow_opportunities (crm, key, account_id, playbook, offer, kind, score, state,"
                " payload, deal_id, task_id, created_at, updated_at)"
                " SELECT :crm, 'acc-' || g || ':seats:seats', 'acc-' || g, 'seats', 'seats', 'upsell',"
                " 70, 'done', :payload, 'd-' || g, 't-' || g, now(), now() FROM generate_series(1, :n) AS g"
            ),
            {"crm": CRM, "n": rows, "payload": PAYLOAD},
        )
    engine.dispose()


def pending_items(batch: int) -> list[dict[str, object]]:
    return [
        {
            "key": f"new-{batch}-{i}:seats:seats",
            "account_id": f"new-{batch}-{i}",
            "playbook": "seats",
            "offer": "seats",
            "kind": "upsell",
            "score": 71,
            "payload": PAYLOAD,
        }
        for i in range(BATCH)
    ]


def one_batch(ledger: Ledger, batch: int, spent: dict[str, list[float]]) -> None:
    items = pending_items(batch)
    keys = [str(i["key"]) for i in items]
    now = datetime.now(UTC)
    owner = uuid.uuid4().hex
    lease = timedelta(minutes=5)

    def step(name: str, call: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = call()
        spent.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return result

    step("record_pending", lambda: ledger.record_pending(CRM, "bench", items, now))
    mine = step("claim", lambda: ledger.claim(CRM, keys, owner, lease))
    assert mine == set(keys), "every new key is this writer's"
    step("rows", lambda: ledger.rows(CRM, keys))
    step("record_deals", lambda: ledger.record_deals(CRM, {k: f"d-{k}" for k in keys}, now))
    step("claim (renew)", lambda: ledger.claim(CRM, keys, owner, lease))
    step("record_tasks", lambda: ledger.record_tasks(CRM, {k: f"t-{k}" for k in keys}, now))
    step("release", lambda: ledger.release(CRM, keys, owner))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="written keys in the ledger")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--database", default=f"ow_bench_write_{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()

    base = make_url(os.environ["DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{args.database}"'))
    try:
        url = base.set(database=args.database).render_as_string(hide_password=False)
        started = time.perf_counter()
        fill(url, args.rows)
        print(f"filled {args.rows:,} rows without statistics: {time.perf_counter() - started:.0f} s")
        ledger = Ledger(url)
        spent: dict[str, list[float]] = {}
        for batch in range(args.batches):
            one_batch(ledger, batch, spent)
        chunk = [f"acc-{n}" for n in range(1, args.rows, args.rows // CHUNK)][:CHUNK]
        for _ in range(args.batches):
            started = time.perf_counter()
            assert len(ledger.written_for(CRM, chunk)) == len(chunk)
            spent.setdefault("written_for (per chunk)", []).append((time.perf_counter() - started) * 1000)
        ledger.engine.dispose()
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        admin.dispose()

    print(f"{'step':<24} {'median ms':>10} {'max ms':>8}")
    for name, times in spent.items():
        print(f"{name:<24} {statistics.median(times):>10.1f} {max(times):>8.1f}")
    per_batch = [
        sum(ts[b] for n, ts in spent.items() if n != "written_for (per chunk)") for b in range(args.batches)
    ]
    print(f"{'one write batch':<24} {statistics.median(per_batch):>10.1f} {max(per_batch):>8.1f}")


if __name__ == "__main__":
    main()
