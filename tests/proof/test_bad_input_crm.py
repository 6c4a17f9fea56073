"""Bad CRM records through whole passes (`worker.pipeline.run.run_pass`) against the HubSpot and Zendesk Sell
sandboxes: missing, wrong-typed and absurd values, unknown owners, the same id listed twice.

Each bad company is an otherwise good sample account with ONE bad value, so the test sees what that
value alone does: the field is defaulted (or the record skipped), the reason is counted in the run
report (and the report the ledger stores), the pass never crashes, and no deal is built on the bad
value (every amount finite and non-negative, no NaN/inf/garbage text in any written property, no deal
owned by an owner the CRM does not have). Hypothesis already covers the loader and the engine
(tests/playbooks/test_properties.py); these tests cover the connector -> runner -> writer path.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from connectors.base import AccountRecord, ReadReport
from tests.hubspot.conftest import connector_for, install
from tests.hubspot.seed import sample_as_of, sample_companies, seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = sample_as_of()
DAY_MS = 86_400_000

# (property, bad value, the reason the run report must count it under; None: a legal but absurd
# value that must simply not crash nor leak into a deal)
BAD_VALUES: list[tuple[str, str, str | None]] = [
    ("mrr", "abc", "invalid_mrr"),
    ("mrr", "-500", "invalid_mrr"),
    ("mrr", "NaN", "invalid_mrr"),
    ("mrr", "Infinity", "invalid_mrr"),
    ("mrr", "12,000", "invalid_mrr"),
    ("seats_used", "-3", "invalid_seats_used"),
    ("seats_used", "3.7", "invalid_seats_used"),
    ("seats_purchased", "lots", "invalid_seats_purchased"),
    ("seats_purchased", "-10", "invalid_seats_purchased"),
    ("nps", "999", "invalid_nps"),
    ("nps", "-1000", "invalid_nps"),
    ("csat", "7", "invalid_csat"),
    ("csat", "NaN", "invalid_csat"),
    ("plan_rank", "-1", "invalid_plan_rank"),
    ("plan_rank", "high", "invalid_plan_rank"),
    ("open_escalations", "-2", "invalid_open_escalations"),
    # Not a currency code: it would reach the CRM as a deal's currency (issue #15); the catalog's applies.
    ("currency", "€€€", "invalid_currency"),
    ("customer_since", "yesterday", "invalid_customer_since"),
    ("customer_since", "2026-02-30", "invalid_customer_since"),
    ("contract_end_date", "0000-00-00", "invalid_contract_end_date"),
    ("journey_stage", "banana", "invalid_journey_stage"),
    ("active_users", "NaN", "non_numeric_active_users"),
    ("active_users", "many", "non_numeric_active_users"),
    ("words_translated", "1e400", "non_numeric_words_translated"),
    ("api_calls", "-inf", "non_numeric_api_calls"),
    ("hubspot_owner_id", "999999", "unknown_owner"),
    ("hubspot_owner_id", "", "no_owner"),
    # legal but absurd: must pass without a crash and without garbage in a deal
    ("customer_since", "2099-01-01", None),
    ("seats_purchased", "0", None),
    ("seats_used", "1000000000", None),
    ("mrr", "0", None),
    ("active_users", "-5", None),
    ("name", "", None),
    ("name", "💥" * 300 + "\u202e\x00", None),
    ("products", ";;;" + "x" * 3000, None),
]
GARBAGE_TEXT = ("nan", "inf", "none", "null", "\x00")


@pytest.fixture
def box() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(
        token="pat-na1-test-secret-token", burst_limit=10_000, burst_window=1.0, search_limit=10_000
    ) as sandbox:
        yield sandbox


def seed_bad(box: HubSpotSandbox, modified_ms: int) -> dict[str, tuple[str, str, str | None]]:
    """One company per BAD_VALUES row, each a good sample account (one that fires offers) with the
    bad value in place; returns company id -> row."""
    base = sample_companies()
    bad: dict[str, tuple[str, str, str | None]] = {}
    for i, (prop, value, reason) in enumerate(BAD_VALUES):
        props = dict(base[i % len(base)])
        props["name"] = props["name"] + f" (bad {prop})"
        props[prop] = value
        bad[box.add_record("companies", props, modified_ms=modified_ms)] = (prop, value, reason)
    return bad


def assert_no_garbage_deals(box: HubSpotSandbox, owners: set[str]) -> None:
    for deal in box.records("deals"):
        props = deal["properties"]
        try:
            amount = Decimal(props["amount"])
        except (InvalidOperation, TypeError):
            pytest.fail(f"deal {deal['id']} amount {props.get('amount')!r} is not a number")
        assert amount.is_finite() and amount >= 0, f"deal {deal['id']} amount {amount}"
        assert props.get("hubspot_owner_id") in (None, "", *owners), (
            f"deal owned by unknown {props['hubspot_owner_id']}"
        )
        for name in ("dealname", "amount", "closedate", "description"):
            text = str(props.get(name) or "").lower()
            words = set(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
            for junk in GARBAGE_TEXT:
                assert junk not in words and "\x00" not in text, (
                    f"deal {deal['id']} {name} holds {junk!r}: {text[:200]}"
                )
    for task in box.records("tasks"):
        body = str(task["properties"].get("hs_task_body") or "")
        assert "\x00" not in body and " nan" not in body.lower() and "inf%" not in body.lower()


def test_bad_companies_are_defaulted_counted_and_never_crash_a_pass(
    box: HubSpotSandbox, tmp_path: Path
) -> None:
    install(box)
    modified = int(time.time() * 1000) - 2 * DAY_MS
    good = seed_sample(box, 40, modified_ms=modified)
    bad = seed_bad(box, modified)
    owners = {o["id"] for o in box.owners}
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )

    report = run_pass(settings, crm="hubspot", connector=connector_for(box), now=NOW)

    assert report.accounts_read == len(good) + len(bad)  # defaulted, not lost
    expected = Counter(reason for (_, _, reason) in bad.values() if reason)
    for reason, count in expected.items():
        assert report.defaulted[reason] >= count, (
            f"{reason}: {report.defaulted[reason]} < {count} ({report.defaulted})"
        )
    assert not report.write_errors and report.deals_created == report.new > 0
    assert_no_garbage_deals(box, owners)
    # the unknown owner's account goes to the fallback owner (#15: never unassigned), not to 999999
    unknown = next(cid for cid, row in bad.items() if row[1] == "999999")
    for deal in box.records("deals"):
        if deal["properties"].get("oppworker_account_id") == unknown:
            assert deal["properties"].get("hubspot_owner_id") == UNCAPPED["fallback_owner_id"]
    # the stored run report carries the same counts
    stored = json.loads(json.dumps(report.summary(), default=str))
    assert stored["defaulted"] == dict(report.defaulted)

    # a second pass over the same garbage writes nothing new and still does not crash
    again = run_pass(settings, crm="hubspot", full=True, connector=connector_for(box), now=NOW)
    assert again.deals_created == 0 and again.tasks_created == 0 and again.defaulted == report.defaulted


class ListedTwice:
    """The CRM's listing returns some records twice (paging over a changing list does this: HubSpot's
    search pages by offset, so a record edited mid-pass can be seen on two pages)."""

    def __init__(self, inner: Any, every: int = 3) -> None:
        self.inner, self.every = inner, every
        self.name = inner.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        seen: list[AccountRecord] = []
        for i, record in enumerate(self.inner.read_accounts(cursor, report)):
            yield record
            if i % self.every == 0:
                seen.append(record)
        yield from seen  # the repeats come at the end, as from a later page


def test_duplicate_ids_are_skipped_and_counted(box: HubSpotSandbox, tmp_path: Path) -> None:
    install(box)
    seed_sample(box, 60, modified_ms=int(time.time() * 1000) - 2 * DAY_MS)
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    report = run_pass(settings, crm="hubspot", connector=ListedTwice(connector_for(box)), now=NOW)
    assert sum(n for reason, n in report.skipped.items() if "duplicate" in reason) == 20
    keys = Counter(d["properties"]["oppworker_key"] for d in box.records("deals"))
    assert keys and max(keys.values()) == 1 and report.deals_created == len(keys)


# -- Zendesk Sell --------------------------------------------------------------------------------

SELL_BAD: list[tuple[str, Any]] = [
    ("mrr", "lots"),
    ("mrr", "-3"),
    ("mrr", "NaN"),
    ("seats_purchased", "many"),
    ("seats_used", "-1"),
    ("nps", "11"),
    ("csat", "-4"),
    ("plan_rank", "top"),
    ("products", 7),
    ("products", {"a": 1}),
    ("customer_since", "13/45/2024"),
    ("contract_end_date", "soon"),
    ("active_users", "NaN"),
    ("words_translated", "1e999"),
    ("api_calls", ["x"]),
    ("open_escalations", "-7"),
    ("journey_stage", "???"),
    ("currency", None),
]


def test_bad_sell_contacts_are_defaulted_counted_and_never_crash_a_pass(tmp_path: Path) -> None:
    from connectors.ratelimit import NoLimit
    from connectors.zendesk_sell.connector import ZendeskSellConnector
    from connectors.zendesk_sell.settings import ZendeskSellSettings
    from tests.sandboxes.zendesk_sell import SellSandbox

    with SellSandbox() as sell:
        sell.add_user("Casey CSM", "casey@example.com")
        ids = sell.generate_accounts(60, seed=5)
        for contact_id, (name, value) in zip(ids, SELL_BAD, strict=False):
            sell.update_contact(contact_id, custom_fields={name: value})
        sell.update_contact(ids[len(SELL_BAD)], owner_id=424242)  # an owner Sell does not have
        sell.add_raw_contact({"id": 9001, "is_organization": True, "name": None, "custom_fields": "garbage"})
        sell.add_raw_contact(
            {
                "id": 9002,
                "is_organization": True,
                "name": "\x00" * 3,
                "custom_fields": None,
                "owner_id": "not-a-number",
            }
        )
        connector = ZendeskSellConnector(
            ZendeskSellSettings(
                access_token=sell.token, base_url=sell.url, backoff_base=0.01, backoff_max=0.05
            ),
            limiter=NoLimit(),
            today=lambda: NOW.date(),
        )
        settings = Settings(
            **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
        )
        report = run_pass(settings, crm="zendesk-sell", connector=connector, now=NOW)

        assert report.accounts_read + sum(report.skipped.values()) >= len(ids) + 2
        assert sum(report.defaulted.values()) >= len(SELL_BAD), report.defaulted
        assert report.defaulted["unknown_owner"] >= 1
        assert report.new > 0 and report.deals_created == report.new and not report.write_errors
        user_ids = set(sell.users)
        for deal in sell.deals.values():
            value = Decimal(str(deal["value"]))
            assert value.is_finite() and value >= 0, deal
            assert deal.get("owner_id") in (None, *user_ids), deal
            assert not math.isnan(float(value))
            assert "nan" not in str(deal.get("name") or "").lower().split()
        connector.close()
