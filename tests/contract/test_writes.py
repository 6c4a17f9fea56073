"""Contract: writes. Deals and tasks are written once per opportunity key: a rerun finds them, a
crash between the deal call and the task call is finished by the next pass, and a deal whose
answer was lost is not created twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.base import Connector
from domain import FollowUpTask, Opportunity, WriteResult
from tests.contract.harnesses import Harness, opportunity, task_for
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger


def write_pass(
    connector: Connector, opportunities: Sequence[Opportunity]
) -> tuple[list[WriteResult], list[WriteResult]]:
    """What the worker sends in a pass, in its order: list our deals, write deals, write tasks."""
    list(connector.read_opportunities())
    deals = connector.write_deals(opportunities)
    tasks = connector.write_tasks(
        [task_for(o) for o in opportunities], {r.key: r.crm_id for r in deals if r.ok}
    )
    return deals, tasks


def once_each(harness: Harness, keys: Sequence[str]) -> None:
    assert Counter(harness.deal_keys()) == Counter(keys), "one deal per key"
    assert Counter(harness.task_keys()) == Counter(keys), "one task per key"


def once_per_account(harness: Harness, settings: Settings, keys: Sequence[str]) -> None:
    """A pass's writes (#15 item 2): a deal per key, one task per account on its lead offer's deal;
    the account's other keys hold that task's id in the ledger."""
    rows = Ledger(settings.ledger_url).rows(harness.name, keys)
    leads = [k for k in keys if rows[k]["lead_key"] is None]
    assert Counter(harness.deal_keys()) == Counter(keys), "one deal per key"
    assert Counter(harness.task_keys()) == Counter(leads), "one task per account, on its lead offer"
    assert len({rows[k]["account_id"] for k in leads}) == len(leads)
    for key in set(keys) - set(leads):
        assert rows[key]["task_id"] == rows[rows[key]["lead_key"]]["task_id"] and rows[key]["state"] == "done"


def test_write_deals_and_tasks_then_rerun_writes_nothing(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(3)]
    keys = [o.key for o in opportunities]
    connector = harness.build()
    deals, tasks = write_pass(connector, opportunities)
    assert [(r.key, r.created, r.ok) for r in deals] == [(k, True, True) for k in keys]
    assert [(r.key, r.created, r.ok) for r in tasks] == [(k, True, True) for k in keys]
    connector.close()
    once_each(harness, keys)
    assert sorted(harness.deals()) == sorted((r.crm_id, r.key) for r in deals)
    assert {o.key for o in harness.build().read_opportunities()} == set(keys)

    for listed_first in (True, False):  # the next pass lists first; a resumed write may not have listed
        again = harness.build()  # a new process: knows nothing but what the CRM says
        if listed_first:
            list(again.read_opportunities())
        deals2 = again.write_deals(opportunities)
        tasks2 = again.write_tasks([task_for(o) for o in opportunities], {r.key: r.crm_id for r in deals2})
        assert [(r.key, r.crm_id) for r in deals2] == [(r.key, r.crm_id) for r in deals]
        if listed_first or harness.unlisted_write_tells_found:
            assert not any(r.created for r in deals2)
        assert [(r.key, r.crm_id, r.created, r.ok) for r in tasks2] == [
            (r.key, r.crm_id, False, True) for r in tasks
        ]
        again.close()
        once_each(harness, keys)


def test_crash_between_deal_and_task_is_finished_by_the_next_pass(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(4)]
    crashed = harness.build()
    list(crashed.read_opportunities())
    deal_ids = {r.key: r.crm_id for r in crashed.write_deals(opportunities)}
    crashed.write_tasks([task_for(opportunities[0])], deal_ids)
    crashed.close()  # the worker dies here: all deals, one task, nothing recorded
    assert harness.task_keys() == [opportunities[0].key]

    deals, tasks = write_pass(harness.build(), opportunities)
    assert [r.created for r in deals] == [False] * 4  # found, not created again
    assert {r.key: r.crm_id for r in deals} == deal_ids
    assert [(r.created, r.ok) for r in tasks] == [(False, True)] + [(True, True)] * 3
    once_each(harness, [o.key for o in opportunities])


@pytest.mark.parametrize("status", [502, 504])
def test_deal_created_but_its_answer_lost_is_found_not_created_twice(harness: Harness, status: int) -> None:
    """The create happens, the client sees a 5xx: the connector finds what it created, in the same call."""
    opportunities = [opportunity(a) for a in harness.seed_accounts(5)]
    harness.fail_next("create_deals", status, times=1, after=True)
    connector = harness.build()
    harness.sleeps(connector)
    deals, tasks = write_pass(connector, opportunities)
    assert all(r.ok for r in deals + tasks)
    once_each(harness, [o.key for o in opportunities])
    assert sorted(harness.deals()) == sorted((r.crm_id, r.key) for r in deals)


def test_a_deal_the_crm_refuses_is_an_item_error_and_the_rest_are_written(harness: Harness) -> None:
    if not harness.refuses_unknown_accounts:
        pytest.skip(f"{harness.name} accepts any deal")
    good = [opportunity(a) for a in harness.seed_accounts(2)]
    refused = opportunity("999999999")  # no such account in the CRM
    connector = harness.build()
    deals, tasks = write_pass(connector, [good[0], refused, good[1]])
    assert [r.ok for r in deals] == [True, False, True]
    assert "999999999" in (deals[1].error or "") or "HTTP 4" in (deals[1].error or "")
    assert [r.ok for r in tasks] == [True, False, True]  # no deal, so no task: refused without a call
    once_each(harness, [o.key for o in good])


@pytest.mark.parametrize("crash", ["before_tasks", "after_tasks"])
def test_a_pass_killed_mid_write_is_finished_exactly_once_by_the_next(
    harness: Harness, tmp_path: Path, crash: str
) -> None:
    harness.seed_for_pass(60)
    settings = Settings(  # an account's offers share one task (#15), across the crash too
        **{**UNCAPPED, "one_task_per_account": True},
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        output_dir=tmp_path / "pass",
    )
    connector = harness.build()
    write_tasks = connector.write_tasks

    def dies(tasks: Sequence[FollowUpTask], deal_ids: dict[str, str]) -> list[WriteResult]:
        if crash == "after_tasks":
            write_tasks(tasks, deal_ids)
        raise RuntimeError(f"worker killed {crash.replace('_', ' ')}")

    connector.write_tasks = dies  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        run_pass(settings, crm=harness.name, connector=connector, now=harness.now)
    deals = harness.deal_keys()
    assert deals, "the killed pass wrote deals"
    if crash == "before_tasks":
        assert harness.task_keys() == []

    rerun = run_pass(settings, crm=harness.name, connector=harness.build(), now=harness.now)
    assert rerun.mode == "full"  # the killed pass stored no cursor
    keys = harness.deal_keys()
    assert set(deals) <= set(keys)
    once_per_account(harness, settings, keys)
    again = run_pass(settings, crm=harness.name, full=True, connector=harness.build(), now=harness.now)
    assert again.deals_created == 0 and again.tasks_created == 0
    once_per_account(harness, settings, keys)
