"""Scoring throughput at scale: N generated accounts (default 1,000,000) through the Celery task
graph with 1 and with 2 worker processes; accounts per second, the scaling ratio, and each
worker's memory as the pass goes on. Needs the real services (REDIS_URL, DATABASE_URL).

    REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.scale                    # N=1,000,000, workers 1 and 2
    ... -m bench.scale --n 100000 --workers 1              # quick

The accounts come from the sample generator through `bench/_generated.py` (validated as a connector
validates them, handed over with their weekly series); writes go to a sink, so the numbers are the
worker's: reading and chunking, scoring every built-in playbook, the ledger recording each new
opportunity as pending before any write, the write batches marking them done, the barrier and
the report. Each worker is `celery worker -P threads -c 2` (one process: one core for Python). Each
run has its own PostgreSQL database and Redis db.

Printed per run: the scoring phase (enqueue until every chunk is scored: accounts/s), the whole
pass (until `succeeded`), deals recorded, and each worker's resident memory at 10%, 50% and 100%
of the chunks scored and its peak (VmHWM). Flat in N means the 100% column is not above the 10%
one by more than noise. Target (issue 6): under 300 MB per worker.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from redis import Redis

from bench.worker import _database, _redis, service_env

CHUNK = 200
MARKS = (0.1, 0.5, 1.0)


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Sampler(threading.Thread):
    """Every 0.2 s: chunks scored so far, each worker's RSS, Redis memory; RSS noted at the marks."""

    def __init__(self, redis: Redis, parts_key: str, planned_key: str, chunks: int, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.redis, self.parts_key, self.planned_key, self.chunks, self.pids = (
            redis,
            parts_key,
            planned_key,
            chunks,
            pids,
        )
        self.at_mark: dict[float, list[float]] = {}
        self.scored_at: float | None = None
        self.redis_peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                done = self.redis.hlen(self.parts_key)
                planned = self.redis.exists(self.planned_key)
                self.redis_peak_mb = max(self.redis_peak_mb, self.redis.info("memory")["used_memory"] / 2**20)
            except Exception:
                continue
            rss = [_status_kb(pid, "VmRSS") / 1024 for pid in self.pids]
            for mark in MARKS:
                if mark not in self.at_mark and (done >= mark * self.chunks or planned):
                    self.at_mark[mark] = rss
            if planned and self.scored_at is None:
                self.scored_at = time.perf_counter()


def one_run(n: int, k: int, redis_url: str, pg_base: str, work: Path) -> dict[str, Any]:
    from tests.worker.conftest import WorkerProcs, _reset_process_state

    database_url, drop = _database(pg_base)
    Redis.from_url(redis_url).flushdb()
    env = {
        **service_env(redis_url, database_url, work / f"out-{k}", "owscale"),
        "OPPWORKER_CONNECTOR_PLUGINS": "generated=bench._generated:from_options",
        # Throughput of writing every candidate: the per-owner caps of issue #15 are lifted.
        "OPPWORKER_TASKS_PER_OWNER_PER_WEEK": "none",
        "OPPWORKER_OPEN_TASKS_PER_OWNER": "none",
        "OPPWORKER_BENCH_ACCOUNTS": str(n),
        "OPPWORKER_CRMS": '["generated"]',
    }
    saved = dict(os.environ)
    os.environ.update(env)
    _reset_process_state()
    logs = work / f"logs-{k}"
    logs.mkdir()
    procs = WorkerProcs(env, logs)
    try:
        for i in range(k):
            procs.start(f"scale{i}", concurrency=2)
        from worker.service.enqueue import enqueue_pass, pass_report
        from worker.service.stash import stash_key as _stash_key

        run_id = enqueue_pass(None, "generated", full=True)
        started = time.perf_counter()
        sampler = Sampler(
            Redis.from_url(redis_url),
            _stash_key(run_id, "parts"),
            _stash_key(run_id, "planned"),
            math.ceil(n / CHUNK),
            [p.pid for p in procs.procs],
        )
        sampler.start()
        while True:
            row = pass_report(run_id)
            if row and row["status"] in ("succeeded", "failed", "skipped"):
                break
            time.sleep(0.5)
        finished = time.perf_counter()
        sampler.stop.set()
        sampler.join()
        peaks = [_status_kb(p.pid, "VmHWM") / 1024 for p in procs.procs]
        restarts = list(procs.restarts)
    finally:
        procs.stop_all()
        os.environ.clear()
        os.environ.update(saved)
        drop()
        Redis.from_url(redis_url).flushdb()
    if row["status"] != "succeeded":
        raise SystemExit(f"pass {row['status']}: {row['error']}\n{procs.logs()}")
    report = row["report"]
    scored = (sampler.scored_at or finished) - started
    return {
        "workers": k,
        "accounts": report["accounts_read"],
        "new": report["new"],
        "deals": report["deals_created"],
        "scoring_s": scored,
        "pass_s": finished - started,
        "marks": sampler.at_mark,
        "peaks": peaks,
        "redis_peak_mb": sampler.redis_peak_mb,
        "restarts": restarts,
    }


def run(n: int, workers: list[int], redis_db: int = 6, log=print) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One pass of N accounts per worker count, each on fresh services (REDIS_URL, DATABASE_URL)."""
    redis_url = _redis(os.environ["REDIS_URL"], redis_db)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in workers:
            log(f"running N={n:,} through {k} worker process(es) ...")
            results.append(one_run(n, k, redis_url, os.environ["DATABASE_URL"], Path(tmp)))
            r = results[-1]
            log(f"  scored in {r['scoring_s']:.0f} s, pass in {r['pass_s']:.0f} s")
    return results


def print_table(n: int, results: list[dict[str, Any]]) -> None:
    print(
        f"\nN={n:,} generated accounts through the Celery task graph (7 playbooks, PostgreSQL ledger, "
        f"writes to a sink), {os.cpu_count()} cores"
    )
    print(
        "| workers | scoring s | scoring accounts/s | pass s | pass accounts/s | new (pending -> done) "
        "| RSS MB per worker at 10% / 50% / 100% scored | peak RSS MB | Redis peak MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for r in results:
        marks = " ; ".join(
            "/".join(f"{mb:.0f}" for mb in col)
            for col in zip(*(r["marks"].get(m, [0] * r["workers"]) for m in MARKS))
        )
        print(
            f"| {r['workers']} | {r['scoring_s']:.0f} | {r['accounts'] / r['scoring_s']:,.0f} | {r['pass_s']:.0f} | "
            f"{r['accounts'] / r['pass_s']:,.0f} | {r['new']:,} | {marks} | "
            f"{' ; '.join(f'{p:.0f}' for p in r['peaks'])} | {r['redis_peak_mb']:.0f} |"
        )
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            print(
                f"scaling {base['workers']} -> {r['workers']} workers: scoring x{base['scoring_s'] / r['scoring_s']:.2f}, "
                f"whole pass x{base['pass_s'] / r['pass_s']:.2f}"
            )
    restarts = [x for r in results for x in r["restarts"]]
    if restarts:
        print(f"workers restarted after exiting: {restarts}")
    print("target: peak RSS under 300 MB per worker, flat in N")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--redis-db", type=int, default=6)
    args = parser.parse_args()
    results = run(
        args.n, [int(x) for x in args.workers.split(",")], args.redis_db, log=lambda m: print(m, flush=True)
    )
    print_table(args.n, results)


if __name__ == "__main__":
    main()
