"""Failure policy through a real worker: a 429 is retried after its Retry-After; a bad token fails
the run at once with a clear message and is not retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import WorkerProcs, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.tasks import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def test_rate_limited_step_is_retried_and_auth_failure_is_not(workers: WorkerProcs, service_env: dict[str, str]) -> None:
    from worker.tasks import enqueue_pass, redis_client
    from worker.service_settings import service_settings

    workers.start("w", concurrency=2)
    flaky = enqueue_pass(None, "flaky")
    bad = enqueue_pass(None, "bad-token")
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
