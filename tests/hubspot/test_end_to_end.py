"""Whole passes through `worker.pipeline.run.run_pass` against the sandbox: full, rerun, incremental,
dry run, and crashes between the deal call and the task call."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.hubspot.connector import HubSpotConnector
from domain import FollowUpTask, Opportunity, WriteResult
from tests.hubspot.conftest import connector_for, install, settings_for
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.uncapped import UNCAPPED
from worker.outcomes.sync import store_for
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

N = 150
DAY_MS = 86_400_000
NOW = sample_as_of()


@pytest.fixture
def world(sandbox: HubSpotSandbox, tmp_path: Path) -> tuple[HubSpotSandbox, Settings, list[str]]:
    install(sandbox)
    ids = seed_sample(sandbox, N, modified_ms=int(time.time() * 1000) - 2 * DAY_MS)
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    return sandbox, settings, ids


def assert_one_task_per_deal(box: HubSpotSandbox) -> None:
    deals = box.records("deals")
    keys = Counter(d["properties"]["oppworker_key"] for d in deals)
    assert keys and max(keys.values()) == 1, "duplicate deal for a key"
    for deal in deals:
        assert len(box.associated("deals", deal["id"], "tasks")) == 1, f"deal {deal['id']} has no single task"
    assert len(box.records("tasks")) == len(deals)


def test_full_then_rerun_then_incremental(world: tuple[HubSpotSandbox, Settings, list[str]]) -> None:
    box, settings, ids = world
    first = run_pass(settings, crm="hubspot", connector=connector_for(box), now=NOW)
    assert first.accounts_read == N and first.new > 0
    assert first.deals_created == first.new and first.tasks_created == first.new and not first.write_errors
    assert first.cursor is not None
    assert_one_task_per_deal(box)
    deals_after_first = len(box.records("deals"))

    rerun = run_pass(settings, crm="hubspot", full=True, connector=connector_for(box), now=NOW)
    assert rerun.accounts_read == N and rerun.new == 0 and rerun.deals_created == 0
    assert len(box.records("deals")) == deals_after_first

    box.touch("companies", ids[3], at_ms=int(time.time() * 1000) - 5, seats_used="500")
    box.touch("companies", ids[4], at_ms=int(time.time() * 1000) - 5, nps="10")
    incremental = run_pass(settings, crm="hubspot", connector=connector_for(box), now=NOW + timedelta(days=1))
    assert incremental.mode == "incremental" and incremental.accounts_read == 2
    assert_one_task_per_deal(box)


def test_dry_run_prints_payloads_and_writes_nothing(
    world: tuple[HubSpotSandbox, Settings, list[str]],
) -> None:
    box, settings, _ = world
    report = run_pass(
        settings, crm="hubspot", dry_run=True, connector=connector_for(box, dry_run=True), now=NOW
    )
    assert report.new > 0 and box.records("deals") == [] and box.records("tasks") == []
    deal_inputs = [
        i
        for p in report.dry_run_payloads
        if p["path"].endswith(("deals/batch/create", "0-3/batch/create"))
        for i in p["json"]["inputs"]
    ]
    task_inputs = [
        i
        for p in report.dry_run_payloads
        if p["path"].endswith("tasks/batch/create")
        for i in p["json"]["inputs"]
    ]
    assert len(deal_inputs) == len(task_inputs) == report.new
    assert {p["method"] for p in report.dry_run_payloads} == {"POST"}
    assert not any("batch/create" in path for _, path in box.server.requests)


class Crash(Exception):
    pass


class CrashingConnector(HubSpotConnector):
    """Dies once, at `where`: after the deal call took effect but before its result reached the
    ledger, or after the deal ids were recorded but before the task call."""

    def __init__(self, *args, where: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.where = where

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        results = super().write_deals(opportunities)
        if self.where == "after_deal_call":
            raise Crash("process died after the deal call")
        return results

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        if self.where == "before_task_call":
            raise Crash("process died before the task call")
        return super().write_tasks(tasks, deal_ids)


@pytest.mark.parametrize("where", ["after_deal_call", "before_task_call"])
def test_crash_between_calls_recovers_exactly_once(
    world: tuple[HubSpotSandbox, Settings, list[str]], where: str
) -> None:
    box, settings, _ = world
    with pytest.raises(Crash):
        run_pass(
            settings, crm="hubspot", connector=CrashingConnector(settings_for(box), where=where), now=NOW
        )
    deals_before = len(box.records("deals"))
    assert deals_before > 0 and box.records("tasks") == []  # the crash left deals without tasks

    recovered = run_pass(settings, crm="hubspot", connector=connector_for(box), now=NOW)
    assert recovered.resumed > 0 and not recovered.write_errors
    assert_one_task_per_deal(box)
    total = len(box.records("deals"))
    assert recovered.tasks_created == total and recovered.tasks_existing == 0
    if where == "after_deal_call":  # the ledger never saw those ids: HubSpot's unique key found them
        assert recovered.deals_existing == deals_before and recovered.deals_created == total - deals_before
    else:  # the ledger had the ids: no deal call for them, only their missing tasks
        assert recovered.deals_existing == 0 and recovered.deals_created == total - deals_before

    again = run_pass(settings, crm="hubspot", full=True, connector=connector_for(box), now=NOW)
    assert again.new == 0 and again.deals_created == 0 and again.tasks_created == 0
    assert_one_task_per_deal(box)


def test_incremental_reads_only_the_changed_accounts_deals(
    world: tuple[HubSpotSandbox, Settings, list[str]],
) -> None:
    """An incremental pass asks HubSpot for the changed accounts' deals only, still sees a deal
    there as open (no duplicate) and still notices a deal there that a CSM closed."""
    box, settings, ids = world
    run_pass(settings, crm="hubspot", connector=connector_for(box), now=NOW)
    deals = box.records("deals")
    account = deals[0]["properties"]["oppworker_account_id"]
    other = next(d for d in deals if d["properties"]["oppworker_account_id"] != account)
    box.touch("deals", deals[0]["id"], hs_is_closed="true", hs_is_closed_won="false", dealstage="closedlost")
    box.touch("deals", other["id"], hs_is_closed="true", hs_is_closed_won="true", dealstage="closedwon")
    box.touch("companies", account, at_ms=int(time.time() * 1000) - 5, nps="10")

    connector = connector_for(box)
    asked: list[list[str]] = []
    full_reads: list[int] = []
    read_for, read_all = connector.read_opportunities_for, connector.read_opportunities
    connector.read_opportunities_for = lambda ids: (asked.append(list(ids)), read_for(asked[-1]))[1]  # type: ignore[method-assign]
    connector.read_opportunities = lambda: (full_reads.append(1), read_all())[1]  # type: ignore[method-assign]
    report = run_pass(settings, crm="hubspot", connector=connector, now=NOW + timedelta(days=1))

    assert report.mode == "incremental" and report.accounts_read == 1
    assert asked == [[account]] and full_reads == []
    playbook = deals[0]["properties"]["oppworker_playbook"]
    same = [
        d
        for d in box.records("deals")
        if d["properties"]["oppworker_key"].startswith(f"{account}:{playbook}:")
    ]
    assert len(same) == 1  # the lost offer is in its cooldown: not offered again
    assert_one_task_per_deal(box)
    outcomes = {r["key"]: r["status"] for r in store_for(Ledger(settings.ledger_url)).outcomes("hubspot")}
    assert outcomes[deals[0]["properties"]["oppworker_key"]] == "lost"  # seen: its account changed
    assert outcomes.get(other["properties"]["oppworker_key"]) != "won"  # not looked at: its account did not
