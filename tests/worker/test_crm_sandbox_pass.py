"""A pass of the HubSpot connector through real Celery workers against the HubSpot sandbox (real
sockets) gives the same opportunities as the in-process pass against an identical sandbox, writes
each deal and task once, and sends the CRM calls through the shared Redis limiter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.hubspot.conftest import TOKEN, connector_for, install, settings_for
from tests.hubspot.seed import seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.jobs import run_pass
from worker.settings import Settings

from .conftest import WorkerProcs, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 120
DAY_MS = 86_400_000


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.tasks import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def _sandbox() -> HubSpotSandbox:
    return HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000)


def _keys(box: HubSpotSandbox) -> list[str]:
    return sorted(d["properties"]["oppworker_key"] for d in box.records("deals"))


def test_hubspot_pass_through_workers_matches_in_process(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.tasks import enqueue_pass, redis_client
    from worker.service_settings import service_settings

    modified = int(time.time() * 1000) - 2 * DAY_MS
    with _sandbox() as local_box, _sandbox() as remote_box:
        for box in (local_box, remote_box):
            install(box)
            seed_sample(box, N, modified_ms=modified)

        with monkeypatch.context() as env:
            env.delenv("OPPWORKER_DATABASE_URL")
            env.delenv("OPPWORKER_OUTPUT_DIR")
            local = Settings(database_url=f"sqlite:///{tmp_path / 'local.db'}", output_dir=tmp_path / "local")
            expected = run_pass(local, "hubspot", connector=connector_for(local_box))
        assert expected.new > 0

        hubspot_env = {f"HUBSPOT_{k.upper()}": str(v) for k, v in settings_for(remote_box).model_dump().items()
                       if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        hubspot_env["HUBSPOT_ACCESS_TOKEN"] = TOKEN
        workers.start("a", extra_env=hubspot_env)
        workers.start("b", extra_env=hubspot_env)
        run_id = enqueue_pass(None, "hubspot")
        row = wait_for(lambda: _finished(run_id), 120, "the HubSpot pass", workers.logs)
        assert row["status"] == "succeeded", row["error"]

        report = row["report"]
        assert report["new"] == expected.new
        assert report["accounts_read"] == expected.accounts_read == N
        assert report["deals_created"] == expected.deals_created
        assert report["tasks_created"] == expected.tasks_created
        assert _keys(remote_box) == _keys(local_box)
        assert len(remote_box.records("tasks")) == len(remote_box.records("deals")) == expected.new
        # the calls went through the shared budget in Redis
        assert redis_client().exists(service_settings().key("limit", "hubspot"))
