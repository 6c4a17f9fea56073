"""End to end through the runner (`worker.pipeline.run.run_pass`) against the sandbox, including crashes
between the deal call and the activity call: every key ends with exactly one deal and one activity."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.crashing_connector import CRASH_POINTS, CrashingConnector
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
N = 200


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/ledger.db", output_dir=tmp_path)


@pytest.fixture
def accounts(sandbox: PipedriveSandbox) -> list[int]:
    return sandbox.generate_accounts(N, seed=11)


def assert_exactly_once(sandbox: PipedriveSandbox) -> int:
    """One deal per key, and each deal has exactly one activity whose note ends with its marker."""
    code = sandbox.code("deal", "Opportunity key")
    keys = Counter(d["custom_fields"][code] for d in sandbox.deals.values() if d["custom_fields"].get(code))
    assert keys and max(keys.values()) == 1, f"duplicate deals: {[k for k, n in keys.items() if n > 1]}"
    ours = [d for d in sandbox.deals.values() if d["custom_fields"].get(code)]
    per_deal = Counter(a["deal_id"] for a in sandbox.activities.values())
    for deal in ours:
        assert per_deal[deal["id"]] == 1, f"deal {deal['id']} has {per_deal[deal['id']]} activities"
        (activity,) = [a for a in sandbox.activities.values() if a["deal_id"] == deal["id"]]
        assert activity["type"] == "task" and activity["org_id"] == deal["org_id"]
        assert activity["note"].split("<br>")[-1] == f"oppworker-key: {deal['custom_fields'][code]}"
    assert len(sandbox.activities) == len(ours)
    return len(ours)


def test_full_then_incremental_pass_write_each_opportunity_once(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, settings: Settings, accounts: list[int]
) -> None:
    first = run_pass(settings, crm="pipedrive", connector=make_connector(), now=NOW)
    assert first.mode == "full" and first.accounts_read == N
    assert first.new > 0 and first.deals_created == first.new == first.tasks_created
    assert first.cursor and first.cursor.startswith("pipedrive:orgs:updated_since:")
    assert sandbox.calls.count(("GET", "/api/v2/organizations")) == 1  # 200 orgs: one page of 500
    created = assert_exactly_once(sandbox)

    for account_id in accounts[:10]:  # these ten fill every seat and grow
        sandbox.update_org(
            account_id, {"seats_purchased": 50, "seats_used": 50, "active_users": 50, "nps": 9}
        )
    second = run_pass(settings, crm="pipedrive", connector=make_connector(), now=NOW.replace(day=26))
    assert second.mode == "incremental"
    assert second.accounts_read == 10
    assert second.cursor and second.cursor != first.cursor
    assert assert_exactly_once(sandbox) == created + second.deals_created

    third = run_pass(
        settings, crm="pipedrive", full=True, connector=make_connector(), now=NOW.replace(day=27)
    )
    assert third.accounts_read == N and third.deals_created == 0 and third.tasks_created == 0
    assert_exactly_once(sandbox)


@pytest.mark.parametrize("where", CRASH_POINTS)
def test_crash_during_writes_then_rerun_leaves_one_deal_and_one_activity_per_key(
    sandbox: PipedriveSandbox,
    make_connector: ConnectorFactory,
    settings: Settings,
    accounts: list[int],
    where: str,
) -> None:
    crashing = CrashingConnector(make_connector(), where)
    with pytest.raises(RuntimeError):
        run_pass(settings, crm="pipedrive", connector=crashing, now=NOW)  # type: ignore[arg-type]
    assert sandbox.deals
    if where == "before_tasks":
        assert not sandbox.activities  # the crash left deals without their activities

    rerun = run_pass(settings, crm="pipedrive", connector=make_connector(), now=NOW)
    assert rerun.mode == "full"  # the crashed pass stored no cursor
    total = assert_exactly_once(sandbox)
    assert rerun.resumed > 0
    again = run_pass(settings, crm="pipedrive", full=True, connector=make_connector(), now=NOW)
    assert again.deals_created == 0 and again.tasks_created == 0
    assert assert_exactly_once(sandbox) == total


def test_rerun_with_a_fresh_ledger_writes_nothing_because_the_crm_is_searched(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, tmp_path: Path, accounts: list[int]
) -> None:
    """Lose the ledger entirely: the listing of our deals and the marker lookup still find everything."""
    first = run_pass(
        Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/a.db", output_dir=tmp_path),
        crm="pipedrive",
        connector=make_connector(),
        now=NOW,
    )
    writes = len(sandbox.writes)
    other = Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/b.db", output_dir=tmp_path / "b")
    second = run_pass(other, crm="pipedrive", connector=make_connector(), now=NOW)
    assert first.deals_created > 0 and second.deals_created == 0 and second.tasks_created == 0
    assert len(sandbox.writes) == writes


def test_dry_run_pass_writes_nothing_and_returns_the_payloads(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, settings: Settings, accounts: list[int]
) -> None:
    seeded = len(sandbox.deals)  # the won purchase deals products are read from
    report = run_pass(
        settings, crm="pipedrive", dry_run=True, connector=make_connector(dry_run=True), now=NOW
    )
    assert report.new > 0
    assert not sandbox.writes and len(sandbox.deals) == seeded and not sandbox.activities
    methods = Counter((p["method"], p["path"]) for p in report.dry_run_payloads)
    assert methods == {("POST", "/api/v2/deals"): report.new, ("POST", "/api/v2/activities"): report.new}
