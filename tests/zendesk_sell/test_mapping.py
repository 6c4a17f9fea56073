"""Pure JSON <-> domain mapping: Sell's quirks and malformed records, no HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.base import ReadReport
from connectors.zendesk_sell import mapping
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import FollowUpTask, JourneyStage, Opportunity, OpportunityStatus
from tests.seat_expansion import seat_opportunity

SETTINGS = ZendeskSellSettings(access_token="t")
TODAY = date(2026, 11, 25)


def org(**custom: object) -> dict[str, object]:
    return {"id": 7, "name": "Acme", "owner_id": 42, "is_organization": True, "custom_fields": custom}


def record(contact: object, report: ReadReport | None = None):
    return mapping.to_account_record(
        contact, SETTINGS.field_map(), SETTINGS.usage_map(), TODAY, report or ReadReport()
    )


def test_custom_field_shapes_are_read_by_name() -> None:
    rec = record(
        org(
            plan={"id": 3, "name": "Team"},  # list field
            products=[{"id": 1, "name": "api"}, {"id": 2, "name": "glossary"}],  # multi-select list
            seats_purchased="20",  # number fields come back as strings
            seats_used="18.0",
            mrr="1234.50",
            customer_since="4/27/2016",  # date custom field format
            contract_end_date="2027-03-31",
            journey_stage="adopting",
            active_users="17",
            words_translated=250000,
        )
    )
    assert rec is not None
    account = rec.account
    assert (account.id, account.name, account.owner_id, account.plan) == ("7", "Acme", "42", "Team")
    assert account.products == frozenset({"api", "glossary"})
    assert (account.seats_purchased, account.seats_used, account.mrr) == (20, 18, Decimal("1234.50"))
    assert account.customer_since == date(2016, 4, 27)
    assert account.contract_end_date == date(2027, 3, 31)
    assert account.journey_stage is JourneyStage.ADOPTING
    usage = {p.metric: p for p in rec.usage}
    assert usage["active_users"].value == 17 and usage["words_translated"].value == 250000
    assert {p.period_start for p in rec.usage} == {date(2026, 10, 26)}
    assert rec.usage_is_snapshot is True


def test_firehose_custom_field_values_shape_is_read_too() -> None:
    contact = {
        "id": 8,
        "name": "Beta",
        "is_organization": True,
        "custom_field_values": [
            {"value": "5", "custom_field": {"data": {"name": "seats_purchased", "type": "number"}}},
            {"value": "3", "custom_field": {"data": {"name": "active_users", "type": "number"}}},
        ],
    }
    rec = record(contact)
    assert rec is not None and rec.account.seats_purchased == 5
    assert [p.value for p in rec.usage] == [3.0]


def test_overridden_mapping_reads_other_fields() -> None:
    settings = ZendeskSellSettings(
        access_token="t",
        fields={"plan": "Plan tier", "name": "custom_fields.Legal name"},
        usage_fields={"active_users": "MAU"},
    )
    contact = org(**{"Plan tier": "Business", "Legal name": "Acme GmbH", "MAU": "9"})
    rec = mapping.to_account_record(contact, settings.field_map(), settings.usage_map(), TODAY, ReadReport())
    assert rec is not None
    assert (rec.account.plan, rec.account.name) == ("Business", "Acme GmbH")
    assert [(p.metric, p.value) for p in rec.usage] == [("active_users", 9.0)]


def test_bad_fields_are_defaulted_and_counted_not_fatal() -> None:
    report = ReadReport()
    rec = record(
        org(
            seats_purchased="-5",
            seats_used="lots",
            nps="500",
            customer_since="31/31/2020",
            active_users="NaN",
            api_calls="12",
        ),
        report,
    )
    assert rec is not None
    assert rec.account.seats_purchased is None and rec.account.seats_used is None and rec.account.nps is None
    assert rec.account.customer_since is None
    assert [p.metric for p in rec.usage] == ["api_calls"]
    assert report.defaulted == {
        "invalid_seats_purchased": 1,
        "unreadable_seats_used": 1,
        "invalid_nps": 1,
        "unreadable_customer_since": 1,
        "unreadable_usage_active_users": 1,
    }


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        ("not a record", "not_an_object"),
        ({"name": "no id", "is_organization": True}, "missing_id"),
        ({"id": 9, "name": "Pat Person", "is_organization": False}, "not_an_organization"),
    ],
)
def test_records_that_cannot_be_accounts_are_skipped(contact: object, reason: str) -> None:
    report = ReadReport()
    assert record(contact, report) is None
    assert report.skipped == {reason: 1}


def test_deal_value_as_number_or_string() -> None:
    assert mapping.parse_money(1000) == Decimal(1000)
    assert mapping.parse_money("1000.50") == Decimal("1000.50")
    with pytest.raises(ValueError):
        mapping.parse_money("a lot")


def test_our_deals_become_existing_opportunities_with_status_from_stage_category() -> None:
    categories = {"1": "incoming", "3": "won", "4": "lost"}
    deal = {
        "id": 55,
        "contact_id": 7,
        "stage_id": 4,
        "value": "100.00",
        "custom_fields": {"opportunity_key": "7:seat_expansion:seats:2"},
        "created_at": "2026-01-02T03:04:05Z",
        "last_stage_change_at": "2026-02-01T00:00:00Z",
    }
    existing = mapping.to_existing(deal, "opportunity_key", categories)
    assert existing is not None
    assert (existing.key, existing.account_id, existing.playbook, existing.offer) == (
        "7:seat_expansion:seats:2",
        "7",
        "seat_expansion",
        "seats",
    )
    assert existing.status is OpportunityStatus.LOST
    assert existing.closed_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert mapping.to_existing({**deal, "stage_id": 1}, "opportunity_key", categories).closed_at is None
    assert mapping.to_existing({**deal, "custom_fields": {}}, "opportunity_key", categories) is None


def _opportunity(account_id: str = "7") -> Opportunity:
    return seat_opportunity(account_id, amount="1234.567", score=90, owner_id="42")


def test_deal_body_carries_key_owner_tags_and_rounded_value() -> None:
    body = mapping.deal_body(
        _opportunity(), key_field="opportunity_key", tags=["oppworker"], stage_id=2, hot_score=80
    )
    assert body == {
        "name": "Seat expansion",
        "contact_id": 7,
        "value": "1234.57",
        "currency": "EUR",
        "estimated_close_date": "2026-12-31",
        "hot": True,
        "tags": ["oppworker", "oppworker-seat_expansion"],
        "custom_fields": {"opportunity_key": "7:seat_expansion:seats"},
        "owner_id": 42,
        "stage_id": 2,
    }
    with pytest.raises(ValueError, match="not a Sell contact id"):
        mapping.deal_body(_opportunity("acc-1"), key_field="k", tags=[], stage_id=None, hot_score=80)


def test_task_content_ends_with_exactly_one_marker_line() -> None:
    key = "7:seat_expansion:seats"
    bare = FollowUpTask(
        opportunity_key=key,
        account_id="7",
        subject="Call Acme",
        body="Why now: seats",
        due_date=date(2026, 12, 1),
        priority="HIGH",
    )
    marked = bare.model_copy(update={"body": f"Why now: seats\n\noppworker-key: {key}\n"})
    for task in (bare, marked):
        content = mapping.task_content(task)
        assert content.startswith("[HIGH] Call Acme\n")
        assert content.splitlines()[-1] == f"oppworker-key: {key}"
        assert content.count("oppworker-key:") == 1
        assert mapping.has_marker(content, key)
    assert not mapping.has_marker(mapping.task_content(bare), key + ":2")


def test_an_organisation_links_to_its_contact_page_in_sell() -> None:
    rec = record(org())
    assert rec is not None and rec.account.crm_url == "https://app.futuresimple.com/crm/contacts/7"
