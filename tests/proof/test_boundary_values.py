"""Extreme numbers, bytes and shapes through every connector's mapping and then the engine (#17).

The mappings are pure functions from a CRM's JSON (or a file's row) to domain records. Whatever a
field holds (1e400, 1e30, NaN, infinity, negatives, nested lists, control bytes), a mapping either
returns a record whose every value is inside domain/bounds.py's ranges, or skips the record with a
counted reason; it never raises. And a record the domain accepted can always be scored.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import AccountRecord, ReadReport
from connectors.files.connector import FileConnector
from connectors.hubspot import mapping as hubspot
from connectors.hubspot.settings import DEFAULT_FIELD_MAP, DEFAULT_USAGE_MAP
from connectors.zendesk_sell import mapping as sell
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import Series
from domain.bounds import MAX_AMOUNT, MAX_COUNT, MAX_USAGE_VALUE
from playbooks.assess import Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog, load_playbooks

TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 6, tzinfo=UTC)
ASSESSOR = Assessor(load_playbooks([]), load_catalog())
SELL = ZendeskSellSettings(access_token="t")
NUMERIC_FIELDS = ("plan_rank", "seats_purchased", "seats_used", "mrr", "nps", "csat", "open_escalations")
USAGE_METRICS = tuple(DEFAULT_USAGE_MAP)

# Numbers as CRMs and exports send them: JSON numbers, numeric strings, and the absurd ones.
extreme_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**40), 10**40),
    st.sampled_from(
        [
            "1e400",
            "-1e400",
            "1e308",
            "1e30",
            "1e15",
            "1000000000000.01",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "sNaN",
            "-0",
            "-1",
            "0.5",
            "1_000",
            "0x10",
            "",
            " ",
            "12,5",
            "1e-400",
        ]
    ),
    st.floats(allow_nan=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=30),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
values = st.one_of(extreme_numbers, junk)
fields = st.dictionaries(st.sampled_from([*NUMERIC_FIELDS, "name", "plan", "products", "currency"]), values)
usage_values = st.dictionaries(st.sampled_from(USAGE_METRICS), values)


def assert_sane(record: AccountRecord) -> None:
    """Every value in range, and the record can be scored."""
    account = record.account
    for name in ("plan_rank", "seats_purchased", "seats_used", "open_escalations"):
        value = getattr(account, name)
        assert value is None or 0 <= value <= MAX_COUNT, (name, value)
    assert account.mrr is None or (account.mrr.is_finite() and 0 <= account.mrr <= MAX_AMOUNT)
    for name in ("nps", "csat"):
        value = getattr(account, name)
        assert value is None or math.isfinite(value), (name, value)
    for point in record.usage:
        assert math.isfinite(point.value) and 0 <= point.value <= MAX_USAGE_VALUE, point
    series = {p.metric: Series((p.period_start,), (p.value,)) for p in record.usage}
    result = ASSESSOR.assess(account, series, AccountHistory(), NOW, None)
    for outcome in result.outcomes:
        if outcome.opportunity is not None:
            assert outcome.opportunity.estimated_amount.is_finite()


@settings(max_examples=300, deadline=None)
@given(fields, usage_values)
def test_hubspot_company_mapping_bounds_every_value(props, usage):
    properties = {DEFAULT_FIELD_MAP[k]: v for k, v in props.items()}
    properties.update({DEFAULT_USAGE_MAP[k]: v for k, v in usage.items()})
    report = ReadReport()
    record = hubspot.company_to_record(
        {"id": "101", "properties": properties}, DEFAULT_FIELD_MAP, DEFAULT_USAGE_MAP, TODAY, report
    )
    assert record is not None, report.skipped  # a bad field defaults; only a missing id skips
    assert_sane(record)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["plan_rank", "seats_purchased", "seats_used", "mrr"]), values),
    st.one_of(extreme_numbers, st.none()),
    st.one_of(extreme_numbers, st.none()),
)
def test_hubspot_history_and_deal_facts_hold_only_storable_values(history, amount, score):
    versions = {
        DEFAULT_FIELD_MAP[k]: [{"value": v, "timestamp": "2026-10-01T00:00:00Z"}] for k, v in history.items()
    }
    for state in hubspot.company_history({"id": "101", "propertiesWithHistory": versions}, DEFAULT_FIELD_MAP):
        for name in ("plan_rank", "seats_purchased", "seats_used"):
            value = getattr(state, name)
            assert value is None or 0 <= value <= MAX_COUNT
        assert state.mrr is None or 0 <= state.mrr <= MAX_AMOUNT
    facts = hubspot.deal_facts(
        {"properties": {"hs_is_closed_won": "true", "amount": amount, "oppworker_score": score}}
    )
    assert facts.amount is None or (facts.amount.is_finite() and 0 <= facts.amount <= MAX_AMOUNT)
    assert facts.score is None or 0 <= facts.score <= MAX_COUNT


@settings(max_examples=300, deadline=None)
@given(fields, usage_values)
def test_sell_contact_mapping_bounds_every_value(custom, usage):
    contact = {"id": 7, "name": "Acme", "is_organization": True, "custom_fields": {**custom, **usage}}
    report = ReadReport()
    record = sell.to_account_record(contact, SELL.field_map(), SELL.usage_map(), TODAY, report)
    if record is None:
        assert sum(report.skipped.values()) == 1
        return
    assert_sane(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields, st.lists(values, max_size=3))
def test_file_rows_are_bounded_or_skipped_with_a_reason(tmp_path: Path, row, usage):
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    good = {"id": "good", "name": "Fine Ltd", "seats_purchased": "10", "mrr": "100"}
    bad = {k: v for k, v in row.items()} | {"id": "bad"}
    (folder / "accounts.jsonl").write_text("\n".join(json.dumps(r, default=str) for r in (bad, good)) + "\n")
    (folder / "usage.jsonl").write_text(
        "\n".join(
            json.dumps(
                {"account_id": "bad", "metric": "api_calls", "period_start": "2026-10-26", "value": v},
                default=str,
            )
            for v in usage
        )
        + "\n"
    )
    connector = FileConnector(folder, tmp_path / "out")
    report = ReadReport()
    records = list(connector.read_accounts(None, report))
    assert "good" in {r.account.id for r in records}, "one bad row must not cost the good one"
    assert report.read == len(records)
    assert len(records) + report.skipped["invalid_account"] == 2
    for record in records:
        assert_sane(record)
