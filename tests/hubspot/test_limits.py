"""Limits as HubSpot counts them (issue #11, item 5): search and association batch calls outside the
ten-secondly budget; the daily budget read from HubSpot's headers and a pass stopped before it runs
out, resumable by the next pass."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.limits import DailyBudgetExhausted
from connectors.hubspot.paths import Paths, exempt_from_ten_secondly
from connectors.hubspot.setup import run_setup
from tests.hubspot.conftest import TOKEN, connector_for, settings_for
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.hubspot.test_end_to_end import assert_one_task_per_deal
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings


@pytest.mark.parametrize("version", ["2026-03", "v3"])
def test_exempt_paths_are_searches_and_association_batches(version: str) -> None:
    paths = Paths(version)  # type: ignore[arg-type]
    assert exempt_from_ten_secondly("POST", paths.search("companies"))
    assert exempt_from_ten_secondly("POST", paths.search("deals"))
    assert exempt_from_ten_secondly("POST", paths.association_batch("deals", "tasks", "read"))
    assert not exempt_from_ten_secondly("POST", paths.batch("deals", "create"))
    assert not exempt_from_ten_secondly("POST", paths.batch("tasks", "read"))
    assert not exempt_from_ten_secondly("GET", paths.objects("companies"))
    assert not exempt_from_ten_secondly("GET", paths.owners())


def searches_and_association_reads(box: HubSpotSandbox, **overrides: object) -> HubSpotClient:
    client = HubSpotClient(settings_for(box, burst_limit=3, burst_window_seconds=1.0, **overrides))
    body = {"filterGroups": [], "sorts": [], "properties": ["name"], "limit": 10, "after": "0"}
    for _ in range(6):
        client.search_page("companies", body)
        client.association_batch_read("deals", "tasks", ["1"])
    return client


def test_search_and_associations_do_not_spend_the_burst_budget() -> None:
    with HubSpotSandbox(token=TOKEN, burst_limit=3, burst_window=1.0, search_limit=1_000) as box:
        client = searches_and_association_reads(box)
        assert box.rate_limited == 0 and box.burst_counted == 0
        assert len(client.burst._calls) == 0  # never waited for, never spent
        assert client.stats.calls == 12


def test_without_the_exemption_they_queue_behind_the_burst_budget() -> None:
    with HubSpotSandbox(token=TOKEN, burst_limit=3, burst_window=1.0, search_limit=1_000) as box:
        client = searches_and_association_reads(box, exempt_search_from_burst=False)
        assert box.rate_limited == 0
        assert client.stats.limiter_wait_seconds > 0  # 12 calls through a 3-per-second budget


def test_the_daily_budget_is_read_from_hubspot_headers(sandbox: HubSpotSandbox) -> None:
    sandbox.daily_limit = 1_000
    client = HubSpotClient(settings_for(sandbox, daily_reserve_calls=10))
    client.owners_page(None)
    assert client.daily.daily == 1_000 and client.daily.remaining == 999


def test_a_pass_stops_before_the_daily_budget_runs_out_and_the_next_pass_resumes(
    sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    run_setup(HubSpotClient(settings_for(sandbox)))
    seed_sample(sandbox, 150, modified_ms=int(time.time() * 1000) - 86_400_000)
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    reserve = 20
    sandbox.daily_limit = sandbox._daily + reserve + 6  # room for a handful of calls above the reserve
    with pytest.raises(DailyBudgetExhausted) as stopped:
        run_pass(
            settings,
            crm="hubspot",
            connector=connector_for(sandbox, daily_reserve_calls=reserve),
            now=sample_as_of(),
        )
    assert stopped.value.remaining <= reserve and not stopped.value.retryable
    assert "DAILY" not in sandbox.rate_limited_by  # stopped before HubSpot had to refuse anything
    assert sandbox.daily_limit - sandbox._daily >= reserve  # the reserve is left for other apps

    sandbox.daily_limit = None  # the next day
    resumed = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=sample_as_of())
    assert resumed.mode == "full"  # the stopped pass stored no cursor: nothing was skipped
    assert resumed.new + resumed.resumed > 0 and not resumed.write_errors  # the stopped writes, finished
    assert_one_task_per_deal(sandbox)


def test_search_responses_without_daily_headers_do_not_reset_the_budget(sandbox: HubSpotSandbox) -> None:
    sandbox.daily_limit = 1_000
    client = HubSpotClient(settings_for(sandbox, daily_reserve_calls=10))
    client.owners_page(None)
    before = client.daily.remaining
    client.search_page(
        "companies", {"filterGroups": [], "sorts": [], "properties": [], "limit": 1, "after": "0"}
    )
    assert client.daily.remaining == before - 1  # counted locally; search answers carry no headers
