"""Exact request shapes, checked with `responses` (no server): what HubSpot's docs ask for."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import responses

from connectors.base import ReadReport
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings

BASE = "https://api.hubapi.test"


def connector(**overrides) -> HubSpotConnector:
    # The main contact's two calls have a test of their own below; the others pin other requests.
    overrides.setdefault("read_main_contacts", False)
    return HubSpotConnector(
        HubSpotSettings(
            access_token="pat-shape-secret", base_url=BASE, backoff_base_seconds=0.01, **overrides
        )
    )


@responses.activate
def test_incremental_search_body_filters_sorts_and_pages() -> None:
    url = f"{BASE}/crm/objects/2026-03/companies/search"
    responses.post(url, json={"total": 1, "results": [{"id": "7", "properties": {"name": "A"}}]})
    c = connector(cursor_overlap_seconds=60, fields={"plan": "tier"})
    records = list(c.read_accounts("2026-11-01T12:00:00+00:00", ReadReport()))
    assert [r.account.id for r in records] == ["7"]
    sent = json.loads(responses.calls[0].request.body)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer pat-shape-secret"
    [group] = sent["filterGroups"]
    since = datetime(2026, 11, 1, 11, 59, tzinfo=UTC)  # the cursor minus the 60 s overlap
    assert group["filters"][0] == {
        "propertyName": "hs_lastmodifieddate",
        "operator": "GTE",
        "value": str(int(since.timestamp() * 1000)),
    }
    assert group["filters"][1]["operator"] == "LT"
    assert sent["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    assert sent["limit"] == 200 and sent["after"] == "0" and "tier" in sent["properties"]


@responses.activate
def test_main_contact_reads_associations_then_contacts_in_batches() -> None:
    responses.get(f"{BASE}/crm/objects/2026-03/companies", json={"results": [{"id": "1"}, {"id": "2"}]})
    assoc = f"{BASE}/crm/associations/2026-03/companies/contacts/batch/read"
    to = [
        {
            "toObjectId": 55,
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"}],
        }
    ]
    responses.post(
        assoc, status=207, json={"status": "COMPLETE", "results": [{"from": {"id": "1"}, "to": to}]}
    )
    contacts = f"{BASE}/crm/objects/2026-03/contacts/batch/read"
    person = {"id": "55", "properties": {"firstname": "Ada", "lastname": "Byron", "email": "ada@example.com"}}
    responses.post(contacts, json={"status": "COMPLETE", "results": [person]})
    records = list(connector(read_main_contacts=True).read_accounts(None, ReadReport()))
    assert [r.account.main_contact for r in records] == ["Ada Byron <ada@example.com>", None]
    _, first, second = responses.calls
    assert json.loads(first.request.body) == {"inputs": [{"id": "1"}, {"id": "2"}]}
    assert json.loads(second.request.body) == {
        "inputs": [{"id": "55"}],
        "properties": ["firstname", "lastname", "email"],
        "propertiesWithHistory": [],
    }


@responses.activate
def test_full_read_lists_with_properties_limit_and_after() -> None:
    url = f"{BASE}/crm/objects/2026-03/companies"
    responses.get(
        url, json={"results": [{"id": "1", "properties": {}}], "paging": {"next": {"after": "abc"}}}
    )
    responses.get(url, json={"results": [{"id": "2", "properties": {}}]})
    ids = [r.account.id for r in connector().read_accounts(None, ReadReport())]
    assert ids == ["1", "2"]
    first, second = (c.request.url for c in responses.calls)
    assert "limit=100" in first and "properties=hs_object_id%2Chs_lastmodifieddate%2Cname" in first
    assert "after=abc" in second and "after" not in first


@responses.activate
def test_task_create_retries_423_locked_but_not_a_timeout_blindly() -> None:
    create = f"{BASE}/crm/objects/2026-03/tasks/batch/create"
    responses.post(create, status=423, json={"status": "error", "message": "locked", "category": "LOCKED"})
    responses.post(
        create,
        status=201,
        json={
            "status": "COMPLETE",
            "results": [{"id": "55", "properties": {"hs_task_body": "x\n\noppworker-key: k1"}}],
        },
    )
    from tests.hubspot.conftest import opportunity, task_for

    o = opportunity("1").model_copy(update={"key": "k1"})
    c = connector()
    c.writer.fresh_deals.add("k1")  # a deal this process just created: no lookup needed
    [result] = c.write_tasks([task_for(o)], {"k1": "9"})
    assert result.ok and result.crm_id == "55" and result.created
    assert [call.request.url for call in responses.calls] == [create, create]
