"""End to end through the runner (`worker.pipeline.run.run_pass`) against the sandbox, including crashes
between the deal call and the task call: every key ends with exactly one deal and one task."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.crashing_connector import CRASH_POINTS, CrashingConnector
from tests.sandboxes.zendesk_sell import SellSandbox
from tests.uncapped import UNCAPPED
from tests.zendesk_sell.conftest import ConnectorFactory
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
N = 200


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/ledger.db", output_dir=tmp_path)


@pytest.fixture
def accounts(sandbox: SellSandbox) -> list[int]:
    return sandbox.generate_accounts(N, seed=11)


def assert_exactly_once(sandbox: SellSandbox) -> int:
    """One deal per key, and each deal has exactly one task carrying its key's marker."""
    keys = Counter(d["custom_fields"]["opportunity_key"] for d in sandbox.deals.values())
    assert keys and max(keys.values()) == 1, f"duplicate deals: {[k for k, n in keys.items() if n > 1]}"
    tasks_by_deal = Counter(t["resource_id"] for t in sandbox.tasks.values())
    for deal in sandbox.deals.values():
        assert tasks_by_deal[deal["id"]] == 1, f"deal {deal['id']} has {tasks_by_deal[deal['id']]} tasks"
        (task,) = [t for t in sandbox.tasks.values() if t["resource_id"] == deal["id"]]
        assert (
            task["content"].splitlines()[-1] == f"oppworker-key: {deal['custom_fields']['opportunity_key']}"
        )
    assert len(sandbox.tasks) == len(sandbox.deals)
    return len(sandbox.deals)


def test_full_then_incremental_pass_write_each_opportunity_once(
    sandbox: SellSandbox, make_connector: ConnectorFactory, settings: Settings, accounts: list[int]
) -> None:
    # These passes count the organisation scans; main contacts' persons listing is tested apart.
    first = run_pass(
        settings, crm="zendesk-sell", connector=make_connector(read_main_contacts=False), now=NOW
    )
    assert first.mode == "full" and first.accounts_read == N
    assert first.new > 0 and first.deals_created == first.new == first.tasks_created
    assert first.cursor and first.cursor.startswith("firehose:contacts:")
    # baskets and accounts come from one scan of the contacts (N=200: two pages of 100)
    assert sandbox.calls.count(("GET", "/v2/contacts")) == 2
    created = assert_exactly_once(sandbox)

    for account_id in accounts[:10]:  # these ten fill every seat and grow
        sandbox.update_contact(
            account_id,
            custom_fields={"seats_purchased": "50", "seats_used": "50", "active_users": "50", "nps": "9"},
        )
    before = len(sandbox.calls)
    second = run_pass(
        settings,
        crm="zendesk-sell",
        connector=make_connector(read_main_contacts=False),
        now=NOW.replace(day=26),
    )
    assert second.mode == "incremental" and second.accounts_read == 10
    assert sandbox.calls[before:].count(("GET", "/v2/contacts")) == 0  # read from the stream only
    assert second.cursor and second.cursor != first.cursor
    assert assert_exactly_once(sandbox) == created + second.deals_created

    third = run_pass(
        settings, crm="zendesk-sell", full=True, connector=make_connector(), now=NOW.replace(day=27)
    )
    assert third.accounts_read == N and third.deals_created == 0 and third.tasks_created == 0
    assert_exactly_once(sandbox)


@pytest.mark.parametrize("where", CRASH_POINTS)
def test_crash_during_writes_then_rerun_leaves_one_deal_and_one_task_per_key(
    sandbox: SellSandbox,
    make_connector: ConnectorFactory,
    settings: Settings,
    accounts: list[int],
    where: str,
) -> None:
    crashing = CrashingConnector(make_connector(), where)
    with pytest.raises(RuntimeError):
        run_pass(settings, crm="zendesk-sell", connector=crashing, now=NOW)  # type: ignore[arg-type]
    assert sandbox.deals  # the crash left deals behind
    if where == "before_tasks":
        assert not sandbox.tasks  # ...without their tasks

    rerun = run_pass(settings, crm="zendesk-sell", connector=make_connector(), now=NOW)
    assert rerun.mode == "full"  # the crashed pass stored no cursor
    total = assert_exactly_once(sandbox)
    assert rerun.resumed > 0
    assert rerun.deals_created + rerun.deals_existing + rerun.resumed >= total
    again = run_pass(settings, crm="zendesk-sell", full=True, connector=make_connector(), now=NOW)
    assert again.deals_created == 0 and again.tasks_created == 0
    assert assert_exactly_once(sandbox) == total


def test_dry_run_pass_writes_nothing_and_returns_the_payloads(
    sandbox: SellSandbox, make_connector: ConnectorFactory, settings: Settings, accounts: list[int]
) -> None:
    report = run_pass(
        settings, crm="zendesk-sell", dry_run=True, connector=make_connector(dry_run=True), now=NOW
    )
    assert report.new > 0
    assert not sandbox.writes and not sandbox.deals
    methods = Counter((p["method"], p["path"].split("?")[0]) for p in report.dry_run_payloads)
    assert methods == {("POST", "/v2/deals/upsert"): report.new, ("POST", "/v2/tasks"): report.new}
