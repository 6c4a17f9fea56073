"""Writes against the live sandbox: deals and tasks exactly once, 207 partial failures, dry run.
What every CRM must do (rerun finds, a lost deal answer is found, not duplicated) is in tests/contract.
"""

from __future__ import annotations

import pytest

from domain import ConnectorError, FailureKind
from tests.hubspot.conftest import connector_for, install, opportunity, seed_companies, task_for
from tests.sandboxes.hubspot import ASSOCIATIONS, OBJECTS, HubSpotSandbox

DEAL_CREATE = r"/crm/objects/2026-03/0-3/batch/create$"
TASK_CREATE = r"/crm/objects/2026-03/tasks/batch/create$"


@pytest.fixture
def companies(sandbox: HubSpotSandbox) -> list[str]:
    install(sandbox)
    return seed_companies(sandbox, 150)


def test_deals_and_tasks_are_created_in_batches_of_100_with_associations(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    connector = connector_for(sandbox)
    opps = [opportunity(c) for c in companies]
    deals = connector.write_deals(opps)
    assert all(r.ok and r.created for r in deals) and len({r.crm_id for r in deals}) == 150
    deal_ids = {r.key: r.crm_id for r in deals}
    tasks = connector.write_tasks([task_for(o) for o in opps], deal_ids)
    assert all(r.ok and r.created for r in tasks)
    assert sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)/batch/create"] == 4  # 2 deal + 2 task calls
    assert ASSOCIATIONS + "/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/read" not in sandbox.calls_by_route

    deal = next(d for d in sandbox.records("deals") if d["id"] == deals[0].crm_id)
    props = deal["properties"]
    assert props["oppworker_key"] == opps[0].key and props["hubspot_owner_id"] == "501"
    assert props["amount"] == "3000" and props["dealstage"] == "appointmentscheduled"
    assert props["closedate"].startswith("2026-12-31")
    assert sandbox.associated("deals", deals[0].crm_id, "companies") == [companies[0]]
    task_id = tasks[0].crm_id
    assert sorted(
        sandbox.associated("tasks", task_id, "companies") + sandbox.associated("tasks", task_id, "deals")
    ) == sorted([companies[0], deals[0].crm_id])
    task = next(t for t in sandbox.records("tasks") if t["id"] == task_id)["properties"]
    assert task["hs_task_priority"] == "HIGH" and task["hs_timestamp"].startswith("2026-12-01")
    assert task["hubspot_owner_id"] == "501" and task["hs_task_body"].endswith(
        f"oppworker-key: {opps[0].key}"
    )


def test_task_created_but_response_lost_is_not_sent_twice(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    sandbox.fault("POST", TASK_CREATE, 504, after=True)
    connector = connector_for(sandbox)
    opps = [opportunity(c) for c in companies[:5]]
    deal_ids = {r.key: r.crm_id for r in connector.write_deals(opps)}
    results = connector.write_tasks([task_for(o) for o in opps], deal_ids)
    assert all(r.ok for r in results) and len(sandbox.records("tasks")) == 5
    assert {r.crm_id for r in results} == {t["id"] for t in sandbox.records("tasks")}


def test_task_create_failed_before_happening_is_sent_again(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    sandbox.fault("POST", TASK_CREATE, 503)
    connector = connector_for(sandbox)
    opps = [opportunity(c) for c in companies[:3]]
    deal_ids = {r.key: r.crm_id for r in connector.write_deals(opps)}
    assert all(r.ok and r.created for r in connector.write_tasks([task_for(o) for o in opps], deal_ids))
    assert len(sandbox.records("tasks")) == 3


def test_deal_without_task_after_a_crash_gets_exactly_one_task(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    opps = [opportunity(c) for c in companies[:4]]
    crashed = connector_for(sandbox)
    deal_ids = {r.key: r.crm_id for r in crashed.write_deals(opps)}
    crashed.write_tasks([task_for(opps[0])], deal_ids)  # then the process died
    recovered = connector_for(sandbox)
    results = recovered.write_tasks([task_for(o) for o in opps], deal_ids)
    assert [r.created for r in results] == [False, True, True, True]
    assert len(sandbox.records("tasks")) == 4
    assert all(len(sandbox.associated("deals", d, "tasks")) == 1 for d in deal_ids.values())


def test_207_partial_failure_is_reported_per_item(sandbox: HubSpotSandbox, companies: list[str]) -> None:
    good = [opportunity(c) for c in companies[:3]]
    bad = opportunity("999999999")  # no such company: HubSpot refuses the association
    results = connector_for(sandbox).write_deals([good[0], bad, good[1], good[2]])
    assert [r.ok for r in results] == [True, False, True, True]
    assert "999999999" in (results[1].error or "")
    assert len(sandbox.records("deals")) == 3


def test_each_deal_carries_its_currency_and_one_the_portal_lacks_is_refused_alone(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    """`deal_currency_code` goes with the amount; HubSpot accepts only the portal's currencies, so
    a deal in another one fails by itself, with HubSpot's reason, and the others are written."""
    sandbox.currencies = frozenset({"USD", "EUR"})
    eur, usd, chf = (
        opportunity(c).model_copy(update={"currency": cur})
        for c, cur in zip(companies, ("EUR", "USD", "CHF"))
    )
    results = connector_for(sandbox).write_deals([eur, chf, usd])
    assert [r.ok for r in results] == [True, False, True]
    assert "CHF" in (results[1].error or "") and "currency" in (results[1].error or "")
    stored = {d["properties"]["oppworker_key"]: d["properties"] for d in sandbox.records("deals")}
    assert {k: (p["deal_currency_code"], p["amount"]) for k, p in stored.items()} == {
        eur.key: ("EUR", "3000"),
        usd.key: ("USD", "3000"),
    }


def test_task_without_deal_id_is_an_item_error(sandbox: HubSpotSandbox, companies: list[str]) -> None:
    o = opportunity(companies[0])
    [result] = connector_for(sandbox).write_tasks([task_for(o)], {})
    assert not result.ok and "no deal id" in (result.error or "")


def test_writes_stop_with_a_config_error_before_setup(sandbox: HubSpotSandbox) -> None:
    """Without `setup` the key property does not exist: HubSpot refuses, nothing is created, and
    the error says what to run."""
    [cid] = seed_companies(sandbox, 1)
    with pytest.raises(ConnectorError) as caught:
        connector_for(sandbox).write_deals([opportunity(cid)])
    assert caught.value.kind is FailureKind.CONFIG and "oppworker hubspot setup" in str(caught.value)
    assert sandbox.records("deals") == []


def test_dry_run_previews_exact_payloads_and_writes_nothing(
    sandbox: HubSpotSandbox, companies: list[str]
) -> None:
    connector = connector_for(sandbox, dry_run=True)
    opps = [opportunity(c) for c in companies[:120]]
    before = len(sandbox.server.requests)
    previews = connector.preview_writes(opps, [task_for(o) for o in opps])
    assert len(sandbox.server.requests) == before  # no call at all
    assert [(p["method"], p["path"], len(p["json"]["inputs"])) for p in previews] == [
        ("POST", "/crm/objects/2026-03/0-3/batch/create", 100),
        ("POST", "/crm/objects/2026-03/0-3/batch/create", 20),
        ("POST", "/crm/objects/2026-03/tasks/batch/create", 100),
        ("POST", "/crm/objects/2026-03/tasks/batch/create", 20),
    ]
    deal_input = previews[0]["json"]["inputs"][0]
    assert deal_input["associations"] == [
        {
            "to": {"id": companies[0]},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}],
        }
    ]
    assert deal_input["objectWriteTraceId"] == opps[0].key
    assert deal_input["properties"]["oppworker_key"] == opps[0].key
    task_input = previews[2]["json"]["inputs"][0]
    assert [a["types"][0]["associationTypeId"] for a in task_input["associations"]] == [192, 216]
    assert task_input["associations"][1]["to"]["id"] == f"<id of the deal for {opps[0].key}>"
    with pytest.raises(ConnectorError):
        connector.write_deals(opps[:1])
    assert sandbox.records("deals") == []
