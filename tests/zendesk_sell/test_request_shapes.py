"""Exact request shapes (headers, query encoding, envelope), checked with `responses`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import responses

from connectors.base import ReadReport
from connectors.ratelimit import NoLimit
from connectors.zendesk_sell.connector import ZendeskSellConnector
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import JourneyStage, Opportunity, OpportunityKind

BASE = "https://api.getbase.com"
TOKEN = "t" * 64


@responses.activate
def test_upsert_request_has_bearer_auth_user_agent_filter_and_data_envelope() -> None:
    responses.post(
        f"{BASE}/v2/deals/upsert",
        json={
            "data": {"id": 9, "created_at": "2026-11-25T06:00:00Z", "updated_at": "2026-11-25T06:00:00Z"},
            "meta": {"type": "deal"},
        },
    )
    connector = ZendeskSellConnector(ZendeskSellSettings(access_token=TOKEN), limiter=NoLimit())
    key = "42:plan_upgrade:next_plan"
    opportunity = Opportunity(
        key=key,
        account_id="42",
        kind=OpportunityKind.UPSELL,
        playbook="plan_upgrade",
        title="Upgrade",
        offer="next_plan",
        estimated_amount=Decimal("100"),
        score=50,
        explanation=(),
        journey_stage=JourneyStage.ADOPTING,
        close_date=date(2027, 1, 15),
    )
    (result,) = connector.write_deals([opportunity])
    assert result.crm_id == "9" and result.created
    (call,) = responses.calls
    request = call.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("opportunity-worker/")
    assert parse_qs(urlsplit(request.url).query) == {"custom_fields[opportunity_key]": [key]}
    body = json.loads(request.body)
    assert set(body) == {"data"} and body["data"]["custom_fields"] == {"opportunity_key": key}
    assert body["data"]["value"] == "100.00" and "owner_id" not in body["data"]


@responses.activate
def test_listing_asks_for_100_per_page_sorted_by_id_and_follows_until_no_next_page() -> None:
    def page(n: int, more: bool) -> dict[str, object]:
        links = {"self": f"{BASE}/v2/contacts?page={n}"} | (
            {"next_page": f"{BASE}/v2/contacts?page={n + 1}"} if more else {}
        )
        return {
            "items": [
                {"data": {"id": n, "is_organization": True, "name": f"O{n}"}, "meta": {"type": "contact"}}
            ],
            "meta": {"type": "collection", "count": 1, "links": links},
        }

    responses.get(f"{BASE}/v2/contacts", json=page(1, True))
    responses.get(f"{BASE}/v2/contacts", json=page(2, False))
    connector = ZendeskSellConnector(
        ZendeskSellSettings(access_token=TOKEN, incremental="full", read_main_contacts=False),
        limiter=NoLimit(),
    )
    assert [r.account.id for r in connector.read_accounts(None, ReadReport())] == ["1", "2"]
    queries = [parse_qs(urlsplit(c.request.url).query) for c in responses.calls]
    assert queries == [
        {"is_organization": ["true"], "sort_by": ["id"], "per_page": ["100"], "page": ["1"]},
        {"is_organization": ["true"], "sort_by": ["id"], "per_page": ["100"], "page": ["2"]},
    ]
