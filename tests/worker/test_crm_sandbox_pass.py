"""A pass of the HubSpot connector through real Celery workers against the HubSpot sandbox (real
sockets) gives the same opportunities as the in-process pass against an identical sandbox, writes
each deal and task once, and sends the CRM calls through the shared Redis limiter."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hubspot.conftest import TOKEN, connector_for, install, settings_for
from tests.hubspot.seed import seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

from .conftest import WorkerProcs, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 120
DAY_MS = 86_400_000


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.service.enqueue import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def _sandbox() -> HubSpotSandbox:
    return HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000)


def _keys(box: HubSpotSandbox) -> list[str]:
    return sorted(d["properties"]["oppworker_key"] for d in box.records("deals"))


def test_hubspot_pass_through_workers_matches_in_process(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.service.enqueue import enqueue_pass
    from worker.service.resources import redis_client
    from worker.service.settings import service_settings

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

        hubspot_env = {
            f"HUBSPOT_{k.upper()}": str(v)
            for k, v in settings_for(remote_box).model_dump().items()
            if isinstance(v, (int, float, str)) and not isinstance(v, bool)
        }
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
        # capacity (#15): both drivers plan alike, one task per account, a deal per offer
        assert len(remote_box.records("deals")) == expected.planned
        assert len(remote_box.records("tasks")) == expected.tasks_created <= expected.planned
        # the calls went through the shared budget in Redis
        assert list(redis_client().scan_iter(service_settings().key("limit", "hubspot", "*")))
        # the workers' JSON log lines name the run, CRM and task; the token appears in none
        logs = workers.text()
        assert TOKEN not in logs
        lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        ours = [line for line in lines if line.get("run_id") == run_id]
        assert {line["task"] for line in ours} >= {"oppworker.start_pass", "oppworker.finish_pass"}
        assert all(line["crm"] == "hubspot" for line in ours)


def test_zendesk_sell_pass_through_workers_matches_in_process(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.zendesk_sell.connector import ZendeskSellConnector
    from connectors.zendesk_sell.settings import ZendeskSellSettings
    from tests.sandboxes.zendesk_sell import SellSandbox
    from worker.service.enqueue import enqueue_pass

    fast = {"backoff_base": 0.01, "backoff_max": 0.05, "requests_per_hour": 36_000_000}
    with SellSandbox() as local_box, SellSandbox() as remote_box:
        for box in (local_box, remote_box):
            box.add_user("Casey CSM", "casey@example.com")
            box.generate_accounts(120, seed=11)

        with monkeypatch.context() as env:
            env.delenv("OPPWORKER_DATABASE_URL")
            env.delenv("OPPWORKER_OUTPUT_DIR")
            local = Settings(database_url=f"sqlite:///{tmp_path / 'local.db'}", output_dir=tmp_path / "local")
            connector = ZendeskSellConnector(
                ZendeskSellSettings(access_token=local_box.token, base_url=local_box.url, **fast)
            )
            expected = run_pass(local, "zendesk-sell", connector=connector)
            connector.close()
        assert expected.new > 0

        sell_env = {
            "ZENDESK_SELL_ACCESS_TOKEN": remote_box.token,
            "ZENDESK_SELL_BASE_URL": remote_box.url,
            **{f"ZENDESK_SELL_{k.upper()}": str(v) for k, v in fast.items()},
            "OPPWORKER_BUDGETS": '{"zendesk-sell": {"max_calls": 10000, "window_seconds": 1}}',
        }
        monkeypatch.setenv("OPPWORKER_BUDGETS", sell_env["OPPWORKER_BUDGETS"])
        workers.start("a", extra_env=sell_env)
        run_id = enqueue_pass(None, "zendesk-sell")
        row = wait_for(lambda: _finished(run_id), 120, "the Zendesk Sell pass", workers.logs)
        assert row["status"] == "succeeded", row["error"]
        report = row["report"]
        assert report["new"] == expected.new
        assert report["accounts_read"] == expected.accounts_read
        assert report["deals_created"] == expected.deals_created == len(remote_box.deals)
        keys = lambda box: sorted(d["custom_fields"]["opportunity_key"] for d in box.deals.values())  # noqa: E731
        assert keys(remote_box) == keys(local_box)
        # one task per account (#15): an account's other offers are listed on its lead task
        assert len(remote_box.tasks) == report["tasks_created"] == expected.tasks_created
        accounts = {d["contact_id"] for d in remote_box.deals.values()}
        assert len(remote_box.tasks) == len(accounts) <= len(remote_box.deals)
