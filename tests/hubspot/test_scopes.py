"""Scope probes read both forms of HubSpot's MISSING_SCOPES 403 body, and token-info only labels the
credential (it answers for legacy private app tokens alone)."""

from __future__ import annotations

import re

import responses

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.scopes import LEGACY, NEW_KIND, check_scopes
from connectors.hubspot.settings import HubSpotSettings

BASE = "https://api.hubapi.test"


def client() -> HubSpotClient:
    return HubSpotClient(
        HubSpotSettings(access_token="svc-key-secret", base_url=BASE, backoff_base_seconds=0.01)
    )


def missing_body(context: dict) -> dict:
    # Observed body (hubspot-api-nodejs#268), the context key varying between portals.
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "c-1",
        "category": "MISSING_SCOPES",
        "errors": [{"message": "One or more of the following scopes are required.", "context": context}],
    }


@responses.activate
def test_both_context_keys_name_the_scope_to_add_and_token_info_is_optional() -> None:
    responses.post(
        f"{BASE}/oauth/v2/private-apps/get/access-token-info", status=404, json={"message": "not found"}
    )
    responses.get(
        f"{BASE}/crm/owners/2026-03",
        status=403,
        json=missing_body({"requiredScopes": ["crm.objects.owners.read"]}),
    )
    responses.post(
        f"{BASE}/crm/objects/2026-03/tasks/batch/update",
        status=403,
        json=missing_body({"requiredGranularScopes": ["crm.objects.contacts.write"]}),
    )
    everything = re.compile(re.escape(BASE) + r"/crm/.*")
    for method in (responses.GET, responses.POST, responses.PATCH):
        responses.add(method, everything, status=200, json={})
    check = check_scopes(client())
    assert check.missing == ["crm.objects.contacts.write", "crm.objects.owners.read"]
    assert check.credential == NEW_KIND
    sent = [c.request for c in responses.calls]
    assert all("svc-key-secret" not in (r.body or b"").decode() for r in sent if "/crm/" in r.url)


@responses.activate
def test_a_legacy_token_is_recognised_by_token_info() -> None:
    responses.post(
        f"{BASE}/oauth/v2/private-apps/get/access-token-info", json={"scopes": ["crm.objects.companies.read"]}
    )
    everything = re.compile(re.escape(BASE) + r"/crm/.*")
    for method in (responses.GET, responses.POST, responses.PATCH):
        responses.add(method, everything, status=200, json={})
    check = check_scopes(client())
    assert check.credential == LEGACY and check.missing == []
