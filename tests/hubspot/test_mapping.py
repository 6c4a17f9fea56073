"""Pure JSON <-> domain translation: no HTTP."""

from __future__ import annotations

from datetime import date

from connectors.base import ReadReport
from connectors.hubspot import mapping
from connectors.hubspot.settings import DEFAULT_FIELD_MAP, DEFAULT_USAGE_MAP, HubSpotSettings
from domain import OpportunityStatus
from tests.hubspot.conftest import opportunity, task_for

TODAY = date(2026, 11, 25)


def company(props: dict, cid: str = "101") -> dict:
    return {"id": cid, "properties": props}


def test_company_maps_every_default_field_and_usage_snapshot() -> None:
    report = ReadReport()
    record = mapping.company_to_record(
        company(
            {
                "name": "Acme",
                "hubspot_owner_id": "7",
                "plan": "Team",
                "plan_rank": "1",
                "products": "api;translate",
                "seats_purchased": "10",
                "seats_used": "12",
                "mrr": "990.50",
                "currency": "eur",
                "customer_since": "2024-01-15",
                "contract_end_date": "1798761600000",
                "journey_stage": "adopting",
                "nps": "9",
                "csat": "4.5",
                "open_escalations": "2",
                "active_users": "40",
                "api_calls": "1200.5",
            }
        ),
        DEFAULT_FIELD_MAP,
        DEFAULT_USAGE_MAP,
        TODAY,
        report,
    )
    assert record is not None and record.usage_is_snapshot
    a = record.account
    assert (a.id, a.name, a.owner_id, a.plan, a.plan_rank) == ("101", "Acme", "7", "Team", 1)
    assert a.products == frozenset({"api", "translate"}) and a.seats_used == 12 and a.currency == "EUR"
    assert a.customer_since == date(2024, 1, 15) and a.contract_end_date == date(2027, 1, 1)
    assert a.journey_stage is not None and a.journey_stage.value == "adopting" and a.open_escalations == 2
    points = {p.metric: p for p in record.usage}
    assert set(points) == {"active_users", "api_calls"}
    assert points["api_calls"].value == 1200.5 and points["api_calls"].period_start == date(2026, 10, 26)
    assert not report.skipped and not report.defaulted


def test_malformed_values_are_defaulted_and_counted_not_fatal() -> None:
    report = ReadReport()
    record = mapping.company_to_record(
        company(
            {
                "name": "Broken",
                "seats_purchased": "many",
                "seats_used": "-3",
                "mrr": "NaN",
                "customer_since": "last spring",
                "journey_stage": "sleeping",
                "active_users": "lots",
            }
        ),
        DEFAULT_FIELD_MAP,
        DEFAULT_USAGE_MAP,
        TODAY,
        report,
    )
    assert record is not None and record.account.name == "Broken"
    assert record.account.seats_purchased is None and record.account.seats_used is None
    assert record.account.mrr is None and record.account.journey_stage is None
    assert record.usage == []
    assert set(report.defaulted) == {
        "invalid_seats_purchased",
        "invalid_seats_used",
        "invalid_mrr",
        "invalid_customer_since",
        "invalid_journey_stage",
        "non_numeric_active_users",
    }


def test_company_without_id_is_skipped() -> None:
    report = ReadReport()
    assert mapping.company_to_record({"properties": {}}, DEFAULT_FIELD_MAP, {}, TODAY, report) is None
    assert report.skipped["company_without_id"] == 1


def test_field_overrides_merge_with_defaults() -> None:
    s = HubSpotSettings(access_token="x", fields={"plan": "tier", "nps": ""}, usage={"logins": "logins_30d"})
    assert s.field_map["plan"] == "tier" and "nps" not in s.field_map and s.field_map["name"] == "name"
    assert s.usage_map["logins"] == "logins_30d" and "tier" in s.company_properties


def test_task_marker_round_trip_even_through_html() -> None:
    o = opportunity("101")
    props = mapping.task_properties(task_for(o), "TODO")
    assert props["hs_task_body"].endswith(f"oppworker-key: {o.key}")
    assert props["hs_task_body"].count("oppworker-key:") == 1
    assert mapping.marker_key(props["hs_task_body"]) == o.key
    assert mapping.marker_key(f"<p>Why</p><p>oppworker-key: {o.key}</p>") == o.key
    assert mapping.marker_key('<div dir="auto">Why<br/>oppworker-key: a&amp;b:p:o</div>') == "a&b:p:o"
    assert mapping.marker_key("no marker here") is None


def test_deal_to_existing_reads_status_and_dates() -> None:
    deal = {
        "id": "9",
        "properties": {
            "oppworker_key": "101:p:o",
            "oppworker_account_id": "101",
            "oppworker_playbook": "p",
            "oppworker_offer": "o",
            "hs_is_closed": "true",
            "hs_is_closed_won": "false",
            "createdate": "2026-01-01T00:00:00Z",
            "closedate": "2026-02-01T00:00:00.000Z",
        },
    }
    existing = mapping.deal_to_existing(deal)
    assert existing is not None and existing.status is OpportunityStatus.LOST and existing.crm_id == "9"
    assert existing.closed_at is not None and existing.closed_at.month == 2
    assert mapping.deal_to_existing({"id": "1", "properties": {}}) is None


def test_a_shared_task_with_contact_and_listing_stays_escaped_and_keyed() -> None:
    """Issue #15: the lead task lists the account's other offers and names its main contact; all of
    it is text in HubSpot's HTML body, and the marker still finds the lead's key."""
    from playbooks.conversation import one_conversation
    from tests.worker.test_shared_task import offer

    hostile = [offer("a1:p1:seats", 90), offer("a1:p2:plan", 80)]
    lead_o, lead_t = hostile[0]
    other_o, other_t = hostile[1]
    other_o = other_o.model_copy(update={"title": "Test Co: <script>alert(1)</script> plan"})
    lead_t = lead_t.model_copy(
        update={"body": lead_t.body.replace("Why now", "Main contact: Ada <ada@example.com>\nWhy now")}
    )
    (_, task), _ = one_conversation([(lead_o, lead_t), (other_o, other_t)])
    body = mapping.task_properties(task, "CALL")["hs_task_body"]
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; plan" in body
    assert "Ada &lt;ada@example.com&gt;" in body and "deal key a1:p2:plan" in body
    assert mapping.marker_key(body) == "a1:p1:seats"
