"""Benchmark: usage rows streamed from a SQL source and joined to a stream of accounts.

    python -m bench.sql_source [--accounts 100000] [--rows-per-account 10] [--chunk 10000] [--engine both]

Builds a usage table of accounts x rows-per-account rows (two metrics, weekly periods) in a throwaway
PostgreSQL database (on the server DATABASE_URL names; indexed on the key) and in a DuckDB file
(sorted by key), then reads every account through `EnrichedConnector` exactly as a pass does: the
accounts arrive in a shuffled order (a CRM's order is not the key's) and each chunk asks the source
for its keys (`WHERE account_key IN (...)`, server-side cursor). Each engine runs in its own child
process so its peak RSS is its own. Prints rows per second and RSS (MB) after the first 10% of
accounts, at the end, and the process peak: flat memory shows as the first two being about equal.
`join rows/s` leaves out the stand-in CRM's own cost of building 100,000 account records (timed
separately, before the join). `rows/CPU-s` divides by this process's CPU time (DuckDB's threads
included, the PostgreSQL server's not): on a machine whose cores other work shares, wall-clock
rows/s falls with the load and rows/CPU-s does not. Target (issue 14): >= 200,000 rows/s from DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.base import AccountRecord, ReadReport
from connectors.sql.enriched import enrich
from domain import Account

AS_OF = datetime(2026, 11, 2, tzinfo=UTC)
QUERY = "SELECT account_key, metric, period_start, value FROM usage WHERE period_start >= :since"
# Table body shared by both engines: account i has rows-per-account rows, alternating two metrics.
SELECT_ROWS = (
    "SELECT 'acc-' || lpad(CAST(i AS VARCHAR), 7, '0') AS account_key, "
    "CASE WHEN j % 2 = 0 THEN 'active_users' ELSE 'api_calls' END AS metric, "
    "CAST(DATE '2026-01-05' + CAST(7 * (j / 2) AS INTEGER) AS DATE) AS period_start, "
    "CAST((i * 31 + j * 7) % 1000 AS DOUBLE PRECISION) AS value"
)


def cpu_seconds() -> float:
    """This process's CPU time, DuckDB's threads included (a PostgreSQL server's is not)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class AccountStream:
    """A stand-in CRM: accounts in a shuffled order, copies of one validated account (so the
    numbers are the join's, not the cost of building accounts)."""

    name = "bench"

    def __init__(self, n: int) -> None:
        self.ids = [f"acc-{i:07d}" for i in range(n)]
        random.Random(14).shuffle(self.ids)

    def data_as_of(self) -> datetime:
        return AS_OF

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        template = Account(id="template", name="template")
        for account_id in self.ids:
            yield AccountRecord(template.model_copy(update={"id": account_id, "name": account_id}))

    def close(self) -> None:
        pass


def build_postgres(base_url: str, n: int, per: int) -> str:
    base = make_url(base_url)
    name = f"ow_bench_sql_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                f"CREATE TABLE usage AS {SELECT_ROWS} FROM generate_series(0, {n - 1}) AS i, "
                f"generate_series(0, {per - 1}) AS j"
            )
        )
        db.execute(text("CREATE INDEX ON usage (account_key)"))
        db.execute(text("ANALYZE usage"))
    engine.dispose()
    return url


def drop_postgres(base_url: str, url: str) -> None:
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build_duckdb(folder: Path, n: int, per: int) -> str:
    import duckdb

    path = folder / "usage.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            f"CREATE TABLE usage AS {SELECT_ROWS} FROM range({n}) AS a(i), range({per}) AS b(j) ORDER BY 1, 3, 2"
        )
    return f"duckdb:///{path}"


def measure(url: str, n: int, chunk: int) -> dict[str, Any]:
    """Child process: stream every account through the join; rows/s and RSS."""
    stream_started = time.perf_counter()
    for _ in AccountStream(n).read_accounts(None, ReadReport()):
        pass
    stream_seconds = time.perf_counter() - stream_started  # the stand-in CRM's own cost
    connector = enrich(
        AccountStream(n), [{"name": "bench", "url": url, "usage_query": QUERY, "chunk_size": chunk}]
    )
    report = ReadReport()
    start_rss, tenth_rss, accounts, points = rss_mb(), 0.0, 0, 0
    started, cpu_started = time.perf_counter(), cpu_seconds()
    for record in connector.read_accounts(None, report):
        accounts += 1
        points += sum(len(s.days) for s in (record.series or {}).values())
        if accounts == n // 10:
            tenth_rss = rss_mb()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    connector.close()
    return {
        "accounts": accounts,
        "rows": points,
        "seconds": seconds,
        "rows_per_s": points / seconds,
        "join_rows_per_s": points / max(seconds - stream_seconds, 1e-9),
        "cpu_seconds": cpu,
        "rows_per_cpu_s": points / max(cpu, 1e-9),
        "rss_start_mb": start_rss,
        "rss_10pct_mb": tenth_rss,
        "rss_end_mb": rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(url: str, n: int, chunk: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.sql_source",
            "--measure",
            url,
            "--accounts",
            str(n),
            "--chunk",
            str(chunk),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rows-per-account", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--engine", choices=["both", "postgresql", "duckdb"], default="both")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.accounts, args.chunk)))
        return
    n, per = args.accounts, args.rows_per_account
    print(f"{n:,} accounts x {per} rows = {n * per:,} usage rows; chunks of {args.chunk} accounts")
    print(
        f"{'engine':<11} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'join rows/s':>12} {'rows/CPU-s':>11} {'RSS@10% MB':>11} "
        f"{'RSS@end MB':>11} {'peak MB':>8}"
    )
    with tempfile.TemporaryDirectory() as folder:
        engines = ["postgresql", "duckdb"] if args.engine == "both" else [args.engine]
        for engine in engines:
            base = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
            built = time.perf_counter()
            url = (
                build_postgres(base, n, per) if engine == "postgresql" else build_duckdb(Path(folder), n, per)
            )
            build_seconds = time.perf_counter() - built
            try:
                r = run_child(url, n, args.chunk)
            finally:
                if engine == "postgresql":
                    drop_postgres(base, url)
            assert r["rows"] == n * per, f"{engine}: joined {r['rows']} rows of {n * per}"
            print(
                f"{engine:<11} {r['rows']:>10,} {r['seconds']:>8.2f} {r['rows_per_s']:>10,.0f} {r['join_rows_per_s']:>12,.0f} {r['rows_per_cpu_s']:>11,.0f} "
                f"{r['rss_10pct_mb']:>11.1f} {r['rss_end_mb']:>11.1f} {r['peak_rss_mb']:>8.1f}"
                f"   (table built in {build_seconds:.1f} s)"
            )


if __name__ == "__main__":
    main()
