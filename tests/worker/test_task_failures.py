"""Failure policy through a real worker: a 429 is retried after its Retry-After; a bad token fails
the run at once with a clear message and is not retried."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.own_services import free_port

from .conftest import WorkerProcs, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.service.enqueue import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def test_rate_limited_step_is_retried_and_auth_failure_is_not(
    workers: WorkerProcs, service_env: dict[str, str]
) -> None:
    from worker.service.enqueue import enqueue_pass
    from worker.service.resources import redis_client
    from worker.service.settings import service_settings

    port = free_port()
    workers.start(
        "w", concurrency=2, extra_env={"OPPWORKER_METRICS_PORT": str(port), "OPPWORKER_MAX_RETRIES": "2"}
    )
    flaky = enqueue_pass(None, "flaky")
    bad = enqueue_pass(None, "bad-token")
    limited = enqueue_pass(None, "always-limited")
    row = wait_for(lambda: _finished(flaky), 60, "the rate-limited pass", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    assert row["report"]["new"] > 0
    assert "retrying in" in workers.text()

    row = wait_for(lambda: _finished(bad), 60, "the pass with a bad token", workers.logs)
    assert row["status"] == "failed"
    assert "auth" in row["error"] and "check the CRM token" in row["error"]
    assert "token revoked" in row["error"]
    marker = Path(service_env["OPPWORKER_TEST_FLAKY_MARKER"] + ".auth")
    assert marker.read_text() == "1"  # called once: no retry
    # the failed pass let go of its CRM's lock
    assert redis_client().get(service_settings().key("pass-lock", "bad-token")) is None

    # retries run out: the run fails (it does not stay "running") and frees its CRM
    row = wait_for(lambda: _finished(limited), 60, "the pass that is always rate limited", workers.logs)
    assert row["status"] == "failed" and "rate_limited" in row["error"]
    assert workers.text().count("daily limit (rate_limited); retrying in") == 2
    assert redis_client().get(service_settings().key("pass-lock", "always-limited")) is None

    # the worker's Prometheus exporter saw both outcomes and timed the tasks
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'oppworker_passes_total{crm="flaky",outcome="succeeded"} 1.0' in metrics
    assert 'oppworker_passes_total{crm="bad-token",outcome="failed"} 1.0' in metrics
    assert 'oppworker_task_seconds_count{task="oppworker.write_batch"}' in metrics
    assert 'oppworker_accounts_scored_total{crm="flaky"}' in metrics
