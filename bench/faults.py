"""Fault injection: a pass of N accounts through real Celery worker processes against the HubSpot sandbox
under a seeded fault plan, while a worker is SIGKILLed mid-write, Redis is restarted and PostgreSQL
is stopped for a few seconds; then the sandbox is compared with the deals and tasks computed
in-process from the same data.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.faults          # N=2,000, 2 workers

Run it as its own process: it points this process's Celery app at its own Redis and PostgreSQL.
    .venv/bin/python -m bench.faults --n 300 --latency 0.3                        # quick

Nothing shared is touched: Redis is a `redis-server` of our own on a free port (append-only, as compose
runs it), PostgreSQL a throwaway cluster (`initdb` into a temporary folder, run as the `postgres`
user when we are root) on a free port. The fault plan (tests/sandboxes/fault_plan.py) fails a share
`--rate` of the CRM data requests with 429 (with and without Retry-After), 500/502/503, answers held
past the client's timeout after the write happened, connection resets before and after the write,
and 207 partial failures of batch creates. Disruptions are triggered by write progress: SIGKILL of
worker w0 (and a new worker w2 started) at 15% of the expected writes (deals + tasks), a Redis kill +
restart at 40%,
PostgreSQL stopped for `--pg-down` seconds at 65%.

Expected: a dry run in-process against a fault-free sandbox seeded identically. Checked after the
faulted pass and after each following pass (same data): duplicates (a key with two deals), missing
(an expected key without a deal), unexpected (a deal for no expected key), orphans (a deal without
exactly one task, or a task without a deal). Targets (issue 6): all zero, and the pass after the
recovery pass writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.worker import service_env
from tests.hubspot.conftest import connector_for
from tests.hubspot.seed import seed_sample
from tests.own_services import OwnPostgres, OwnRedis, wait
from tests.sandboxes.fault_plan import FaultPlan
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

TOKEN = "pat-na1-fault-bench-token"
DAY_MS = 86_400_000


@dataclass
class Check:
    deals: int
    tasks: int
    duplicates: int
    missing: int
    unexpected: int
    orphans: int


LISTED_KEY = re.compile(r"deal key ([^<\s]+)")


def tasks_expected(keys: set[str]) -> int:
    """One task per account: the accounts of the expected deal keys (`account:playbook:offer`)."""
    return len({k.split(":", 1)[0] for k in keys})


def check(box: HubSpotSandbox, expected: set[str]) -> Check:
    deals = box.records("deals")
    keys = Counter(d["properties"].get("oppworker_key") for d in deals)
    tasks = box.records("tasks")
    # One task per account (#15): an account's other offers are listed on its lead offer's task
    # ("deal key <key>" in the body) rather than getting a task of their own.
    listed = {k for t in tasks for k in LISTED_KEY.findall(t["properties"].get("hs_task_body") or "")}
    orphan_deals = sum(
        1
        for d in deals
        if len(box.associated("deals", d["id"], "tasks")) != 1
        and not (
            d["properties"].get("oppworker_key") in listed and not box.associated("deals", d["id"], "tasks")
        )
    )
    orphan_tasks = sum(1 for t in tasks if len(box.associated("tasks", t["id"], "deals")) != 1)
    return Check(
        len(deals),
        len(tasks),
        sum(1 for c in keys.values() if c > 1),
        len(expected - set(keys)),
        len(set(keys) - expected),
        orphan_deals + orphan_tasks,
    )


def expected_keys(n: int, modified_ms: int, tmp: Path) -> set[str]:
    """The deals a fault-free pass writes for the same data: a dry run in-process."""
    with HubSpotSandbox(token=TOKEN, burst_limit=100_000, burst_window=1.0, search_limit=100_000) as clean:
        install_with(clean)
        seed_sample(clean, n, modified_ms=modified_ms)
        # Exactly-once under faults, for every candidate: the per-owner caps of #15 are lifted.
        settings = Settings(
            database_url=f"sqlite:///{tmp / 'expected.db'}",
            output_dir=tmp / "expected",
            tasks_per_owner_per_week=None,
            open_tasks_per_owner=None,
        )
        report = run_pass(
            settings,
            crm="hubspot",
            dry_run=True,
            connector=connector_for(clean, dry_run=True, access_token=TOKEN),
        )
    return {
        i["properties"]["oppworker_key"]
        for p in report.dry_run_payloads
        if p["path"].endswith(("deals/batch/create", "0-3/batch/create"))
        for i in p["json"]["inputs"]
    }


def install_with(box: HubSpotSandbox) -> None:
    from connectors.hubspot.client import HubSpotClient
    from connectors.hubspot.setup import run_setup
    from tests.hubspot.conftest import settings_for

    client = HubSpotClient(settings_for(box, access_token=TOKEN))
    try:
        run_setup(client)
    finally:
        client.close()


@dataclass
class Outcome:
    n: int
    workers_started: int = 0
    disruptions: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    http_retries: int = 0
    task_retries: int = 0
    worker_restarts: int = 0
    passes: list[tuple[str, dict[str, Any], Check]] = field(default_factory=list)
    expected: int = 0
    expected_tasks: int = 0  # one per account (#15): an account's other offers are listed on it


def run(
    n: int = 2000,
    rate: float = 0.12,
    latency: float = 1.0,
    pg_down: float = 4.0,
    seed: int = 7,
    batch_size: int = 100,
    visibility: int = 60,
    lease: int | None = None,
    folder: Path | None = None,
    keep: bool = False,
    log: Callable[[str], None] = print,
) -> Outcome:
    """The whole scenario; returns what the table prints. Raises if a service cannot be started."""
    from tests.worker.conftest import WorkerProcs, _reset_process_state

    tmp = Path(tempfile.mkdtemp(prefix="oppworker-faults-", dir=folder))
    tmp.chmod(0o755)  # the postgres user must reach its cluster folder inside
    outcome = Outcome(n)
    modified_ms = int(time.time() * 1000) - 2 * DAY_MS
    log(f"computing the expected deals for {n:,} accounts in-process ...")
    expected = expected_keys(n, modified_ms, tmp)
    outcome.expected = len(expected)
    outcome.expected_tasks = tasks_expected(expected)

    redis = OwnRedis(tmp / "redis")
    (tmp / "redis").mkdir()
    postgres = OwnPostgres(tmp / "pg")
    box = HubSpotSandbox(token=TOKEN, burst_limit=100_000, burst_window=1.0, search_limit=100_000).start()
    procs: WorkerProcs | None = None
    saved = dict(os.environ)
    try:
        redis.start()
        postgres.init()
        install_with(box)
        seed_sample(box, n, modified_ms=modified_ms)
        # the client's read timeout sits above the added write latency (else every create would time out),
        # and `slow` answers are held past it
        timeout = latency + 2.0
        plan = FaultPlan(seed=seed, rate=rate, slow_seconds=timeout + 1.5, write_latency=latency).install(box)
        env = {
            **service_env(redis.url, postgres.url, tmp / "out", "owfault"),
            "OPPWORKER_VISIBILITY_TIMEOUT": str(visibility),
            "OPPWORKER_UNACKED_RESTORE_INTERVAL": "1",
            "OPPWORKER_CRMS": '["hubspot"]',
            "OPPWORKER_MAX_RETRIES": "30",
            "OPPWORKER_TASKS_PER_OWNER_PER_WEEK": "none",
            "OPPWORKER_OPEN_TASKS_PER_OWNER": "none",
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_BASE_URL": box.url,
            "HUBSPOT_BURST_LIMIT": "100000",
            "HUBSPOT_BURST_WINDOW_SECONDS": "1",
            "HUBSPOT_SEARCH_PER_SECOND": "100000",
            "HUBSPOT_TIMEOUT_SECONDS": str(timeout),
            "HUBSPOT_MAX_ATTEMPTS": "8",
            "HUBSPOT_BACKOFF_BASE_SECONDS": "0.05",
            "HUBSPOT_ROLLING_WAIT_SECONDS": "0.5",
            "HUBSPOT_SECONDLY_WAIT_SECONDS": "0.2",
            "HUBSPOT_BATCH_SIZE": str(batch_size),
        }
        if lease is not None:  # how long a killed writer's keys stay leased (worker default: 120 s)
            env["OPPWORKER_WRITE_LEASE_SECONDS"] = str(lease)
        os.environ.update(env)
        _reset_process_state()
        from worker.service.enqueue import enqueue_pass, pass_report

        (tmp / "logs").mkdir()
        procs = WorkerProcs(env, tmp / "logs")
        log("starting workers w0, w1 ...")
        w0 = procs.start("w0", concurrency=2)
        procs.start("w1", concurrency=2)
        outcome.workers_started = 2

        def finished(run_id: str) -> dict[str, Any] | None:
            try:
                row = pass_report(run_id)
            except Exception:
                return None
            return row if row and row["status"] in ("succeeded", "failed", "skipped") else None

        log("faulted pass ...")
        run_id = enqueue_pass(None, "hubspot", full=True)
        # share of the expected writes (a deal per key, a task per account) done
        writes = max(1, len(expected) + tasks_expected(expected))
        progress = lambda: (len(box.objects["deals"]) + len(box.objects["tasks"])) / writes  # noqa: E731
        steps = [(0.15, "worker SIGKILL"), (0.40, "Redis restart"), (0.65, "PostgreSQL stop")]
        row = None
        for threshold, name in steps:
            reached = wait(
                lambda t=threshold: progress() >= t or finished(run_id), 900, f"{threshold:.0%} of the writes"
            )
            if isinstance(reached, dict):
                log(f"  the pass ended before {name} could be injected")
                row = reached
                break
            log(f"  {progress():.0%} of the writes done: {name}")
            if name == "worker SIGKILL":
                procs.kill(w0)
                procs.start("w2", concurrency=2)
                outcome.workers_started += 1
            elif name == "Redis restart":
                redis.kill()
                time.sleep(1)
                redis.start()
                _reset_process_state()
            else:
                postgres.stop("immediate")
                time.sleep(pg_down)
                postgres.start()
            outcome.disruptions[name] += 1
        row = row or wait(lambda: finished(run_id), 900, "the faulted pass to finish")
        outcome.passes.append(("faulted", _summary(row), check(box, expected)))
        log(f"  {row['status']}: {outcome.passes[-1][2]}")

        for name in ("second", "third"):
            log(f"{name} pass (same data, the fault plan still on) ...")
            run_id = enqueue_pass(None, "hubspot")
            row = wait(lambda r=run_id: finished(r), 900, f"the {name} pass")
            outcome.passes.append((name, _summary(row), check(box, expected)))
            log(f"  {row['status']}: {outcome.passes[-1][2]}")
        outcome.faults = Counter(plan.injected)
        text = procs.text()
        outcome.http_retries = len(re.findall(r"retrying after", text))
        outcome.task_retries = len(re.findall(r"retry: Retry in \d", text))
        outcome.worker_restarts = len(procs.restarts)
    finally:
        if procs is not None:
            procs.stop_all()
        box.stop()
        redis.kill()
        if (postgres.data / "postmaster.pid").exists():
            try:
                postgres.stop("immediate")
            except RuntimeError:
                pass
        os.environ.clear()
        os.environ.update(saved)
        if keep:
            log(f"kept {tmp} (worker logs in logs/)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return outcome


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    report = row.get("report") or {}
    return {
        "status": row["status"],
        "error": row.get("error"),
        **{
            k: report.get(k, 0)
            for k in (
                "accounts_read",
                "new",
                "deals_created",
                "deals_existing",
                "tasks_created",
                "tasks_existing",
                "resumed",
            )
        },
        "write_errors": sum((report.get("write_errors") or {}).values()),
    }


def print_table(outcome: Outcome) -> None:
    print(
        f"\nN={outcome.n:,} accounts, {outcome.expected:,} expected deals (one task per account), "
        f"{outcome.workers_started} worker processes started (2 at a time)\n"
    )
    print(f"| {'fault injected':<28} | {'count':>5} |")
    print(f"|{'-' * 30}|{'-' * 7}|")
    for kind, count in sorted(outcome.faults.items()):
        print(f"| {'CRM ' + kind:<28} | {count:>5} |")
    for kind, count in outcome.disruptions.items():
        print(f"| {kind:<28} | {count:>5} |")
    print(f"| {'HTTP retries (worker logs)':<28} | {outcome.http_retries:>5} |")
    print(f"| {'Celery task retries':<28} | {outcome.task_retries:>5} |")
    print(f"| {'workers restarted (exited)':<28} | {outcome.worker_restarts:>5} |")
    print()
    head = (
        f"| {'pass':<8} | {'status':<9} | {'deals new':>9} | {'found':>5} | {'tasks new':>9} | {'found':>5} | "
        f"{'resumed':>7} | {'write err':>9} | {'dup':>3} | {'missing':>7} | {'unexpected':>10} | {'orphans':>7} |"
    )
    print(head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|")
    for name, s, c in outcome.passes:
        print(
            f"| {name:<8} | {s['status']:<9} | {s['deals_created']:>9} | {s['deals_existing']:>5} | "
            f"{s['tasks_created']:>9} | {s['tasks_existing']:>5} | {s['resumed']:>7} | {s['write_errors']:>9} | "
            f"{c.duplicates:>3} | {c.missing:>7} | {c.unexpected:>10} | {c.orphans:>7} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="accounts (default 2,000)")
    parser.add_argument("--rate", type=float, default=0.12, help="share of CRM data requests that fail")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds added to each batch create")
    parser.add_argument("--pg-down", type=float, default=4.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batch-size", type=int, default=100, help="records per batch create (HubSpot: <= 100)"
    )
    parser.add_argument(
        "--visibility",
        type=int,
        default=60,
        help="OPPWORKER_VISIBILITY_TIMEOUT seconds (Redis "
        "redelivers a task unacknowledged that long: a killed worker's chunk comes back after it)",
    )
    parser.add_argument(
        "--lease",
        type=int,
        default=None,
        help="OPPWORKER_WRITE_LEASE_SECONDS (default: the "
        "worker's): a killed worker's keys wait that long before another worker writes them",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (worker logs)")
    parser.add_argument(
        "--json", action="store_true", help="print the outcome as one JSON line (for the tests)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    outcome = run(
        args.n,
        args.rate,
        args.latency,
        args.pg_down,
        args.seed,
        args.batch_size,
        args.visibility,
        args.lease,
        keep=args.keep,
        log=(lambda _: None) if args.json else print,
    )
    if args.json:
        print(
            json.dumps(
                {  # by hand: dataclasses.asdict turns a Counter into counts of its item tuples
                    "n": outcome.n,
                    "expected": outcome.expected,
                    "expected_tasks": outcome.expected_tasks,
                    "disruptions": dict(outcome.disruptions),
                    "faults": dict(outcome.faults),
                    "http_retries": outcome.http_retries,
                    "task_retries": outcome.task_retries,
                    "worker_restarts": outcome.worker_restarts,
                    "passes": [(name, summary, dataclasses.asdict(c)) for name, summary, c in outcome.passes],
                },
                default=str,
            )
        )
    else:
        print_table(outcome)


if __name__ == "__main__":
    main()
