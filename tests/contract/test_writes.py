"""Contract: writes. Deals and tasks are written once per opportunity key: a rerun finds them, a
crash between the deal call and the task call is finished by the next pass, and a deal whose
answer was lost is not created twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.base import Connector
from domain import ConnectorError, FollowUpTask, Opportunity, WriteResult
from tests.contract.harnesses import Harness, opportunity, task_for
from worker.jobs import run_pass
from worker.settings import Settings


def write_pass(connector: Connector, opportunities: Sequence[Opportunity]) -> tuple[list[WriteResult], list[WriteResult]]:
    """What the worker sends in a pass, in its order: list our deals, write deals, write tasks."""
    list(connector.read_opportunities())
    deals = connector.write_deals(opportunities)
    tasks = connector.write_tasks([task_for(o) for o in opportunities], {r.key: r.crm_id for r in deals if r.ok})
    return deals, tasks


def once_each(harness: Harness, keys: Sequence[str]) -> None:
    assert Counter(harness.deal_keys()) == Counter(keys), "one deal per key"
    assert Counter(harness.task_keys()) == Counter(keys), "one task per key"


def test_write_deals_and_tasks_then_rerun_writes_nothing(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(3)]
    keys = [o.key for o in opportunities]
    connector = harness.build()
    deals, tasks = write_pass(connector, opportunities)
    assert [(r.key, r.created, r.ok) for r in deals] == [(k, True, True) for k in keys]
    assert [(r.key, r.created, r.ok) for r in tasks] == [(k, True, True) for k in keys]
    connector.close()
    once_each(harness, keys)
    assert {o.key for o in harness.build().read_opportunities()} == set(keys)

    again = harness.build()  # the next pass, in a new process
    deals2, tasks2 = write_pass(again, opportunities)
    assert [(r.key, r.crm_id, r.created) for r in deals2] == [(r.key, r.crm_id, False) for r in deals]
    assert [(r.key, r.crm_id, r.created) for r in tasks2] == [(r.key, r.crm_id, False) for r in tasks]
    again.close()
    once_each(harness, keys)


def test_crash_between_deal_and_task_is_finished_by_the_next_pass(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(3)]
    crashed = harness.build()
    list(crashed.read_opportunities())
    assert all(r.created for r in crashed.write_deals(opportunities))
    crashed.close()  # the worker dies here: deals written, no task, nothing recorded
    assert harness.task_keys() == []

    deals, tasks = write_pass(harness.build(), opportunities)
    assert [r.created for r in deals] == [False] * 3  # found, not created again
    assert [r.created for r in tasks] == [True] * 3
    once_each(harness, [o.key for o in opportunities])


def test_deal_created_but_its_answer_lost_is_not_created_twice(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(2)]
    harness.fail_next("create_deals", 500, times=1, after=True)  # the CRM created them; we saw a 500
    connector = harness.build()
    harness.sleeps(connector)
    try:
        write_pass(connector, opportunities)
    except ConnectorError:  # a connector may give up this pass; the next one must not duplicate
        pass
    connector.close()
    write_pass(harness.build(), opportunities)
    once_each(harness, [o.key for o in opportunities])


@pytest.mark.parametrize("crash", ["before_tasks", "after_tasks"])
def test_a_pass_killed_mid_write_is_finished_exactly_once_by_the_next(
    harness: Harness, tmp_path: Path, crash: str
) -> None:
    harness.seed_for_pass(60)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "pass")
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
    once_each(harness, keys)
    again = run_pass(settings, crm=harness.name, full=True, connector=harness.build(), now=harness.now)
    assert again.deals_created == 0 and again.tasks_created == 0
    once_each(harness, keys)
