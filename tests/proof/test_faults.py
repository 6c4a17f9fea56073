"""Fault injection: whole passes against the HubSpot sandbox under a seeded fault plan
(tests/sandboxes/fault_plan.py: 429 with and without Retry-After, 500/502/503, answers held past the
client's timeout after the write happened, connection resets before and after the write, 207
partial failures), in-process and through real Celery workers with a worker SIGKILLed mid-write,
Redis restarted and PostgreSQL stopped. The full-size run with its table is `bench/faults.py`.

What must hold, compared with the deals a fault-free dry run computes from the same data:
- after the faulted pass: no duplicate, no deal for an unexpected key; a key may still lack its
  deal or task only if the pass counted a write error for it (the connector resends a 207's transient
  per-item failures within the call, up to max_attempts; past that the ledger keeps the key pending
  and the next pass resumes it);
- after the next pass: nothing missing, no orphan deal or task;
- the pass after that writes nothing.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.faults import TOKEN, Check, check, expected_keys, install_with, tasks_expected
from tests.hubspot.conftest import connector_for
from tests.hubspot.seed import seed_sample
from tests.sandboxes.fault_plan import KINDS, FaultPlan
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

DAY_MS = 86_400_000


@pytest.mark.parametrize("seed", [11, 12])
def test_passes_under_the_fault_plan_write_each_deal_and_task_exactly_once(tmp_path: Path, seed: int) -> None:
    n, modified = 200, int(time.time() * 1000) - 2 * DAY_MS
    expected = expected_keys(n, modified, tmp_path)
    assert expected
    with HubSpotSandbox(token=TOKEN, burst_limit=100_000, burst_window=1.0, search_limit=100_000) as box:
        install_with(box)
        seed_sample(box, n, modified_ms=modified)
        plan = FaultPlan(seed=seed, rate=0.3, slow_seconds=0.8).install(box)
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            output_dir=tmp_path / "out",
            tasks_per_owner_per_week=None,
            open_tasks_per_owner=None,
        )  # as expected_keys plans

        def one_pass() -> tuple[object, Check]:
            connector = connector_for(
                box,
                access_token=TOKEN,
                timeout_seconds=0.4,
                max_attempts=10,
                page_size=20,
                batch_size=10,
                search_page_size=20,
                rolling_wait_seconds=0.05,
            )
            report = run_pass(settings, crm="hubspot", connector=connector)
            return report, check(box, expected)

        first, after_first = one_pass()
        assert after_first.duplicates == 0 and after_first.unexpected == 0, after_first
        pending = sum(first.write_errors.values())
        assert after_first.missing + after_first.orphans <= 2 * pending, (after_first, first.write_errors)

        second, after_second = one_pass()
        # a deal per key, one task per account (#15: the account's other offers listed on it)
        assert after_second == Check(len(expected), tasks_expected(expected), 0, 0, 0, 0), after_second
        assert second.deals_created + second.tasks_created <= 2 * pending

        third, after_third = one_pass()
        assert (
            third.deals_created == third.tasks_created == 0 and third.resumed == 0 and not third.write_errors
        )
        assert after_third == after_second
    # the plan really injected most kinds (a fault run that injected nothing proves nothing)
    assert len(plan.injected) >= len(KINDS) - 2 and sum(plan.injected.values()) >= 20, plan.injected


@pytest.mark.services
@pytest.mark.slow
def test_celery_pass_survives_worker_kill_redis_restart_and_postgres_stop() -> None:
    """bench/faults.py at a small size: 2 worker processes, SIGKILL of one mid-write, own Redis
    restarted, own PostgreSQL cluster stopped for 2 s (the shared services are never touched)."""
    import os

    if not os.environ.get("REDIS_URL") and os.environ.get("OPPWORKER_REQUIRE_SERVICES") != "1":
        pytest.skip(
            "REDIS_URL is not set: this test needs the real services (it starts its own Redis and PostgreSQL)"
        )
    for tool in ("redis-server",):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and shutil.which("initdb") is None:
        pytest.skip("initdb is not installed")
    import json
    import subprocess
    import sys

    # its own process: the scenario points the Celery app of the process running it at its own Redis
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.faults",
            "--n",
            "300",
            "--rate",
            "0.08",
            "--latency",
            "0.25",
            "--pg-down",
            "2",
            "--seed",
            "5",
            "--batch-size",
            "10",
            "--visibility",
            "8",
            "--lease",
            "10",
            "--json",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    outcome = SimpleNamespace(
        disruptions=data["disruptions"],
        faults=data["faults"],
        expected=data["expected"],
        expected_tasks=data["expected_tasks"],
        passes=[(name, summary, Check(**c)) for name, summary, c in data["passes"]],
    )
    assert set(outcome.disruptions) == {"worker SIGKILL", "Redis restart", "PostgreSQL stop"}, (
        outcome.disruptions
    )
    assert sum(outcome.faults.values()) > 0
    (_, faulted, after_faulted), (_, second, after_second), (_, third, after_third) = outcome.passes
    assert faulted["status"] == "succeeded", faulted
    assert after_faulted.duplicates == 0 and after_faulted.unexpected == 0, after_faulted
    assert after_second == Check(outcome.expected, outcome.expected_tasks, 0, 0, 0, 0), after_second
    assert third["status"] == "succeeded" and third["deals_created"] == third["tasks_created"] == 0, third
    assert after_third == after_second


def test_a_write_batch_delivered_twice_at_once_creates_each_task_once(tmp_path: Path) -> None:
    """Celery can run one write_batch twice at once (bench/faults.py saw a retry's new message and the
    copy Redis restored after a worker died, both running on one worker). Two writers of one batch on
    one ledger, against slow batch creates: each task must still be created once (the HubSpot writer
    skips the marker lookup for deals it just created, so only the ledger's key leases, worker/ledger.py,
    keep the second copy from creating the tasks again; found by this suite, fixed in cd3c1a0)."""
    import threading
    from datetime import datetime

    from tests.hubspot.conftest import opportunity, task_for
    from worker.pipeline.writeback import WriteBack, pending_rows
    from worker.store.ledger import Ledger

    with HubSpotSandbox(token=TOKEN, burst_limit=100_000, burst_window=1.0, search_limit=100_000) as box:
        install_with(box)
        companies = seed_sample(box, 10)
        FaultPlan(rate=0.0, write_latency=0.5).install(box)  # no faults: only slow batch creates
        ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        now = datetime.now(UTC)
        batch = [(o, task_for(o)) for o in map(opportunity, companies)]
        ledger.record_pending("hubspot", "run-1", pending_rows(batch), now)  # as plan_writes does, once
        start = threading.Barrier(2)

        def deliver() -> None:
            writer = WriteBack(connector_for(box, access_token=TOKEN), ledger, "hubspot", "run-1", now)
            for o, t in batch:
                writer.add(o, t)
            start.wait()
            writer.flush()

        failures: list[BaseException] = []

        def run() -> None:
            try:
                deliver()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        result = check(box, {o.key for o, _ in batch})
    assert (result.duplicates, result.missing) == (0, 0)  # the unique deal key holds
    assert result.tasks == len(batch) and result.orphans == 0, result
