"""Benchmark: a pass in-process vs. through K Celery worker processes, and the shared limiter's
held rate under contention. Needs the real services (REDIS_URL, DATABASE_URL), like the tests.

    REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.worker                      # N=5,000 accounts, workers 1 and 2
    ... -m bench.worker --n 20000 --workers 1,2,4 --limiter-procs 8

Part 1: a full pass of N generated accounts (the file connector; PostgreSQL ledger) timed from the
call/enqueue to the run's `succeeded` in the ledger; workers are started before timing. Each run
has its own database, Redis db (`--redis-db`, flushed) and output folder.
Part 2: P processes acquire one Redis budget (B calls per W s) for T seconds: calls per second
achieved against the budget, the most grants seen in any rolling window (must be <= B), and
the mean wait per call.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.files.sample import generate, write


def _database(base_url: str, name: str | None = None) -> tuple[str, Any]:
    """A new database on the server of `base_url` (a random ow_bench_ name unless given), and
    the function that drops it."""
    base = make_url(base_url)
    name = name or f"ow_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def _redis(url: str, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{db}"


def in_process(n: int, data: Path, database_url: str, work: Path) -> tuple[float, Any]:
    from worker.pipeline.run import run_pass
    from worker.pipeline.settings import Settings

    settings = Settings(database_url=database_url, data_dir=data, output_dir=work / "inproc")
    started = time.perf_counter()
    report = run_pass(settings, "files")
    return time.perf_counter() - started, report


def service_env(redis_url: str, database_url: str, output: Path, prefix: str) -> dict[str, str]:
    """The environment of one service deployment a bench starts workers in (as compose sets it):
    one Redis for broker, results and stashes under its own key prefix, one ledger database."""
    return {
        "OPPWORKER_REDIS_URL": redis_url,
        "OPPWORKER_BROKER_URL": redis_url,
        "OPPWORKER_RESULT_BACKEND": redis_url,
        "OPPWORKER_KEY_PREFIX": f"{prefix}-{uuid.uuid4().hex[:8]}",
        "OPPWORKER_DATABASE_URL": database_url,
        "OPPWORKER_OUTPUT_DIR": str(output),
        "OPPWORKER_METRICS_PORT": "0",
        "OPPWORKER_LOG_JSON": "true",
    }


def through_workers(
    k: int, data: Path, database_url: str, redis_url: str, work: Path
) -> tuple[float, dict[str, Any]]:
    from tests.worker.conftest import WorkerProcs, _reset_process_state

    env = {
        **service_env(redis_url, database_url, work / f"workers-{k}", "owbench"),
        "OPPWORKER_DATA_DIR": str(data),
    }
    os.environ.update(env)
    _reset_process_state()
    logs = work / f"logs-{k}"
    logs.mkdir()
    procs = WorkerProcs(env, logs)
    try:
        for i in range(k):
            procs.start(f"bench{i}", concurrency=2)
        from worker.service.enqueue import enqueue_pass, pass_report

        started = time.perf_counter()
        run_id = enqueue_pass(None, "files")
        while True:
            row = pass_report(run_id)
            if row and row["status"] in ("succeeded", "failed", "skipped"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        procs.stop_all()
    if row["status"] != "succeeded":
        raise SystemExit(f"pass {row['status']}: {row['error']}")
    return elapsed, row["report"]


def _hammer(url: str, key: str, max_calls: int, window: float, seconds: float, queue: Any) -> None:
    from worker.service.limiter import RedisSlidingWindowLimiter

    limiter = RedisSlidingWindowLimiter(Redis.from_url(url), key, max_calls, window)
    grants, waited = [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waited += limiter.acquire()
        grants.append(limiter.last_grant_us)
    queue.put((grants, waited))


def limiter(url: str, procs: int, max_calls: int, window: float, seconds: float) -> dict[str, float]:
    key = f"owbench:limit:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_hammer, args=(url, key, max_calls, window, seconds, queue))
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=seconds + 60) for _ in workers]
    for w in workers:
        w.join()
    Redis.from_url(url).delete(key)
    grants = sorted(g for r, _ in results for g in r)
    waited = sum(w for _, w in results)
    span = (grants[-1] - grants[0]) / 1e6 if len(grants) > 1 else 0.0
    window_us = int(window * 1e6)
    most, j = 0, 0
    for i, g in enumerate(grants):
        while grants[j] <= g - window_us:
            j += 1
        most = max(most, i - j + 1)
    return {
        "calls": len(grants),
        "rate": (len(grants) - 1) / span if span else 0.0,
        "budget_rate": max_calls / window,
        "max_in_window": most,
        "mean_wait": waited / len(grants),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--limiter-procs", type=int, default=8)
    parser.add_argument("--limiter-calls", type=int, default=50)
    parser.add_argument("--limiter-window", type=float, default=1.0)
    parser.add_argument("--limiter-seconds", type=float, default=5.0)
    args = parser.parse_args()
    redis_base, pg_base = os.environ["REDIS_URL"], os.environ["DATABASE_URL"]
    redis_url = _redis(redis_base, args.redis_db)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        write(generate(args.n), data)
        rows = []
        url, drop = _database(pg_base)
        try:
            seconds, report = in_process(args.n, data, url, work)
            rows.append(("in-process", seconds, report.accounts_read, report.new, report.deals_created))
        finally:
            drop()
        for k in (int(x) for x in args.workers.split(",")):
            Redis.from_url(redis_url).flushdb()
            url, drop = _database(pg_base)
            try:
                seconds, rep = through_workers(k, data, url, redis_url, work)
                rows.append(
                    (
                        f"{k} worker(s) x 2 threads",
                        seconds,
                        rep["accounts_read"],
                        rep["new"],
                        rep["deals_created"],
                    )
                )
            finally:
                drop()
                Redis.from_url(redis_url).flushdb()
    print(
        f"\nFull pass, N={args.n} generated accounts, file connector, PostgreSQL ledger, {os.cpu_count()} cores"
    )
    print("| how | wall s | accounts/s | read | new | deals written |\n|---|---:|---:|---:|---:|---:|")
    for how, seconds, read, new, deals in rows:
        print(f"| {how} | {seconds:.2f} | {read / seconds:,.0f} | {read} | {new} | {deals} |")

    result = limiter(
        redis_base, args.limiter_procs, args.limiter_calls, args.limiter_window, args.limiter_seconds
    )
    print(
        f"\nShared limiter: {args.limiter_procs} processes, budget {args.limiter_calls} per {args.limiter_window:g} s, "
        f"{args.limiter_seconds:g} s"
    )
    print(
        "| calls | achieved/s | budget/s | most in any window | mean wait per call s |\n|---:|---:|---:|---:|---:|"
    )
    print(
        f"| {result['calls']} | {result['rate']:.1f} | {result['budget_rate']:.1f} | {result['max_in_window']} "
        f"(limit {args.limiter_calls}) | {result['mean_wait']:.3f} |"
    )


if __name__ == "__main__":
    main()
