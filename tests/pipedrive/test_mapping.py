"""Pure mapping: field keys found by name, typed v2 values, bad values defaulted and counted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.base import ReadReport
from connectors.pipedrive import mapping
from connectors.pipedrive.fields import FieldCatalog, parse_date, parse_money
from connectors.pipedrive.settings import PipedriveSettings
from domain import FollowUpTask, Opportunity, OpportunityStatus
from tests.seat_expansion import seat_opportunity

PLAN_KEY, SEATS_KEY, MRR_KEY, USERS_KEY, SINCE_KEY = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)
CATALOG = FieldCatalog(
    [
        {
            "field_name": "plan",
            "field_code": PLAN_KEY,
            "field_type": "enum",
            "is_custom_field": True,
            "options": [{"id": 7, "label": "Team"}, {"id": 8, "label": "Business"}],
        },
        {
            "field_name": "seats_purchased",
            "field_code": SEATS_KEY,
            "field_type": "double",
            "is_custom_field": True,
        },
        {"field_name": "mrr", "field_code": MRR_KEY, "field_type": "monetary", "is_custom_field": True},
        {
            "field_name": "active_users",
            "field_code": USERS_KEY,
            "field_type": "double",
            "is_custom_field": True,
        },
        {"name": "customer_since", "key": SINCE_KEY, "field_type": "date", "edit_flag": True},  # the v1 shape
        {"field_name": "Name", "field_code": "name", "field_type": "varchar", "is_custom_field": False},
    ]
)
SETTINGS = PipedriveSettings(api_token="t", base_url="http://x")


def org(**custom: object) -> dict:
    return {
        "id": 12,
        "name": "Acme",
        "owner_id": 3,
        "update_time": "2026-11-20T10:00:00Z",
        "is_deleted": False,
        "custom_fields": custom,
    }


def read(record: object) -> tuple[object, ReadReport]:
    report = ReadReport()
    result = mapping.to_account_record(
        record, CATALOG, SETTINGS.field_map(), SETTINGS.usage_map(), date(2026, 11, 25), report
    )
    return result, report


def test_custom_fields_are_read_by_name_through_their_hash_keys() -> None:
    record, report = read(
        org(
            **{
                PLAN_KEY: 8,
                SEATS_KEY: 20,
                MRR_KEY: {"value": 1234.5, "currency": "EUR"},
                USERS_KEY: 17,
                SINCE_KEY: "2023-04-01",
            }
        )
    )
    account = record.account
    assert (account.id, account.name, account.owner_id, account.plan) == ("12", "Acme", "3", "Business")
    assert account.seats_purchased == 20 and account.mrr == Decimal("1234.5")
    assert account.customer_since == date(2023, 4, 1)
    assert [(u.metric, u.value, u.period_start) for u in record.usage] == [
        ("active_users", 17.0, date(2026, 10, 26))
    ]
    assert record.usage_is_snapshot and not report.skipped and not report.defaulted


def test_without_a_currency_field_the_money_fields_currency_is_the_accounts() -> None:
    """Pipedrive organizations have no currency; the MRR monetary field's `{value, currency}` does."""
    assert read(org(**{MRR_KEY: {"value": 99, "currency": "gbp"}}))[0].account.currency == "GBP"
    assert read(org(**{MRR_KEY: 99}))[0].account.currency is None  # the catalog's currency applies
    assert read(org())[0].account.currency is None


def test_an_unreadable_field_is_defaulted_and_counted_not_fatal() -> None:
    record, report = read(org(**{SEATS_KEY: "lots", USERS_KEY: -4, PLAN_KEY: 99}))
    assert record.account.seats_purchased is None
    assert record.account.plan is None  # an option id the field definition does not list
    assert report.defaulted == {
        "unreadable_seats_purchased": 1,
        "unreadable_plan": 1,
        "unreadable_usage_active_users": 1,
    }


def test_usage_beyond_the_domains_range_is_dropped_and_counted_not_raised() -> None:
    """A value no product reports (1e30) must not stop the pass: the metric is dropped for this
    account and counted, as Sell and HubSpot do (connectors.base.usage_point)."""
    record, report = read(org(**{USERS_KEY: 1e30, SEATS_KEY: 20}))
    assert record.account.seats_purchased == 20 and record.usage == []
    assert report.defaulted == {"invalid_usage_active_users": 1}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("not a dict", "not_an_object"),
        ({"name": "no id"}, "missing_id"),
        ({**org(), "is_deleted": True}, "deleted"),
    ],
)
def test_records_that_cannot_be_accounts_are_skipped_with_a_reason(record: object, reason: str) -> None:
    result, report = read(record)
    assert result is None and report.skipped == {reason: 1}


def test_values_parse_as_the_v2_types_say() -> None:
    assert parse_money({"value": "10.50", "currency": "USD"}) == Decimal("10.50")
    assert parse_date({"value": "2026-01-02", "until": "2026-02-02"}) == date(2026, 1, 2)
    assert parse_date("2026-01-02T08:00:00Z") == date(2026, 1, 2)
    with pytest.raises(ValueError):
        parse_money("NaN")


def opportunity(account_id: str = "12", owner: str | None = "3") -> Opportunity:
    return seat_opportunity(account_id, amount="4320.004", score=72, owner_id=owner)


def test_deal_body_carries_org_owner_value_and_the_key_in_the_key_field() -> None:
    body = mapping.deal_body(opportunity(), key_code="f" * 40, pipeline_id=None, stage_id=4)
    assert body == {
        "title": "Seat expansion",
        "org_id": 12,
        "value": 4320.0,
        "currency": "EUR",
        "expected_close_date": "2026-12-31",
        "custom_fields": {"f" * 40: "12:seat_expansion:seats"},
        "owner_id": 3,
        "stage_id": 4,
    }
    with pytest.raises(ValueError, match="not a Pipedrive organization id"):
        mapping.deal_body(opportunity("acme"), key_code="f", pipeline_id=None, stage_id=None)


def test_activity_note_ends_with_the_marker_and_is_found_again_after_html_sanitising() -> None:
    task = FollowUpTask(
        opportunity_key="12:seat_expansion:seats",
        account_id="12",
        subject="Call Acme <today>",
        body="Why now:\n+45 seats & 95% used",
        due_date=date(2026, 11, 28),
        priority="HIGH",
        owner_id="3",
    )
    body = mapping.activity_body(task, "99", "12", "task")
    assert body["type"] == "task" and body["deal_id"] == 99 and body["org_id"] == 12 and body["owner_id"] == 3
    assert body["due_date"] == "2026-11-28" and body["subject"] == "Call Acme <today>"
    assert "+45 seats &amp; 95% used" in body["note"]
    assert body["note"].endswith("oppworker-key: 12:seat_expansion:seats")
    sanitised = "<p>" + body["note"].replace("<br>", "<br/>") + "</p>"
    assert mapping.has_marker(sanitised, task.opportunity_key)
    assert not mapping.has_marker(sanitised, "12:seat_expansion:seats:2")


def test_our_deals_are_read_back_with_status_and_the_others_ignored() -> None:
    key_code = "f" * 40
    won = {
        "id": 5,
        "org_id": 12,
        "status": "won",
        "add_time": "2026-10-01T00:00:00Z",
        "won_time": "2026-11-01T00:00:00Z",
        "custom_fields": {key_code: "12:seat_expansion:seats:2"},
    }
    existing = mapping.to_existing(won, key_code)
    assert existing.status is OpportunityStatus.WON and existing.offer == "seats" and existing.crm_id == "5"
    assert existing.closed_at.month == 11
    assert mapping.to_existing({**won, "custom_fields": {key_code: None}}, key_code) is None
    assert mapping.to_existing({**won, "is_deleted": True}, key_code) is None
    assert mapping.to_existing({**won, "custom_fields": {key_code: "garbage"}}, key_code) is None
