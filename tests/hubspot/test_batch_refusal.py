"""Exactly-once when HubSpot refuses a batch whole (issue #11, item 4).

HubSpot answers 207 per input only when every input carries a unique `objectWriteTraceId`; without
them a duplicate unique value fails the whole batch with one CONFLICT naming only the first duplicate
(hubspot-2026.md section 5). The sandbox does both; the writer sends trace ids, and when a batch is
refused whole anyway it looks the batch's keys up and resends only the rest."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

from connectors.hubspot import mapping
from tests.hubspot.conftest import TOKEN, connector_for, install, opportunity, seed_companies
from tests.sandboxes.hubspot import HubSpotSandbox

DEAL_CREATE = r"/crm/objects/2026-03/0-3/batch/create$"


def deal_input(company_id: str, key: str, trace: bool) -> dict[str, Any]:
    item = mapping.deal_create_input(
        opportunity(company_id).model_copy(update={"key": key}), "default", "appointmentscheduled"
    )
    if not trace:
        item.pop("objectWriteTraceId")
    return item


def post(box: HubSpotSandbox, inputs: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{box.url}/crm/objects/2026-03/0-3/batch/create",
        json={"inputs": inputs},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def keys_of(box: HubSpotSandbox) -> Counter[str]:
    return Counter(d["properties"][mapping.KEY_PROPERTY] for d in box.records("deals"))


def test_sandbox_refuses_a_batch_with_one_existing_key_whole_without_trace_ids(
    sandbox: HubSpotSandbox,
) -> None:
    install(sandbox)
    [a, b, c] = seed_companies(sandbox, 3)
    assert post(sandbox, [deal_input(a, "k-a", trace=False)]).status_code == 201
    answer = post(
        sandbox,
        [
            deal_input(b, "k-b", trace=False),
            deal_input(a, "k-a", trace=False),
            deal_input(c, "k-c", trace=False),
        ],
    )
    body = answer.json()
    assert answer.status_code == 409 and body["category"] == "CONFLICT" and "errors" not in body
    assert body["message"].endswith(f"Existing ID: {next(iter(sandbox.objects['deals']))}")
    assert keys_of(sandbox) == {"k-a": 1}  # nothing of the refused batch was created


def test_sandbox_answers_207_per_input_with_trace_ids(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    [a, b] = seed_companies(sandbox, 2)
    post(sandbox, [deal_input(a, "k-a", trace=True)])
    answer = post(sandbox, [deal_input(b, "k-b", trace=True), deal_input(a, "k-a", trace=True)])
    body = answer.json()
    assert answer.status_code == 207 and body["numErrors"] == 1
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["k-a"]
    assert keys_of(sandbox) == {"k-a": 1, "k-b": 1}


def test_every_input_carries_a_unique_trace_id(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    companies = seed_companies(sandbox, 5)
    seen: list[dict[str, Any]] = []
    sandbox.server.before.insert(
        0, lambda r: seen.append(r.json()) if r.path.endswith("/batch/create") else None
    )
    connector_for(sandbox).write_deals([opportunity(c) for c in companies])
    traces = [i["objectWriteTraceId"] for body in seen for i in body["inputs"]]
    assert len(traces) == 5 and len(set(traces)) == 5 and all(isinstance(t, str) for t in traces)


def test_a_response_lost_after_the_create_is_finished_by_the_retry_without_duplicates(
    sandbox: HubSpotSandbox,
) -> None:
    install(sandbox)
    companies = seed_companies(sandbox, 30)
    sandbox.fault("POST", DEAL_CREATE, after=True, reset=True)  # HubSpot created them; the answer is lost
    results = connector_for(sandbox).write_deals([opportunity(c) for c in companies])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]  # no failed chunk
    assert len(keys_of(sandbox)) == 30 and max(keys_of(sandbox).values()) == 1  # no duplicate
    assert {r.crm_id for r in results} == {d["id"] for d in sandbox.records("deals")}
    assert sandbox.calls_by_route["/crm/(?:v3/objects|objects/2026-03)/(?P<type>[^/]+)/batch/create"] == 2


def test_a_whole_batch_conflict_is_looked_up_and_only_the_rest_resent() -> None:
    # A portal that refuses the batch whole even with trace ids (HubSpot's behaviour for a deal's
    # custom unique property is unverified): the writer must not lose or duplicate anything.
    with HubSpotSandbox(token=TOKEN, honours_trace_ids=False, burst_limit=10_000, search_limit=10_000) as box:
        install(box)
        companies = seed_companies(box, 20)
        opps = [opportunity(c) for c in companies]
        earlier = connector_for(box).write_deals(opps[5:8])  # three keys exist before the batch
        creates_before = box.calls_by_route.get(
            "/crm/(?:v3/objects|objects/2026-03)/(?P<type>[^/]+)/batch/create", 0
        )
        results = connector_for(box).write_deals(opps)
        assert all(r.ok for r in results)
        assert [r.created for r in results[5:8]] == [False] * 3 and all(
            r.created for r in results[:5] + results[8:]
        )
        assert {r.key: r.crm_id for r in results[5:8]} == {r.key: r.crm_id for r in earlier}
        assert len(keys_of(box)) == 20 and max(keys_of(box).values()) == 1
        creates = box.calls_by_route["/crm/(?:v3/objects|objects/2026-03)/(?P<type>[^/]+)/batch/create"]
        assert creates - creates_before == 2  # the refused batch, then the rest once


def test_a_whole_batch_refusal_for_another_reason_is_raised_not_retried(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    [company] = seed_companies(sandbox, 1)
    sandbox.fault(
        "POST",
        DEAL_CREATE,
        400,
        body={
            "status": "error",
            "message": "Property values were not valid",
            "category": "VALIDATION_ERROR",
            "correlationId": "c-1",
        },
    )
    try:
        connector_for(sandbox).write_deals([opportunity(company)])
    except Exception as exc:
        assert getattr(exc, "status", None) == 400 and "VALIDATION_ERROR" in str(exc)
    else:
        raise AssertionError("a validation refusal must surface")
    assert sandbox.records("deals") == []
