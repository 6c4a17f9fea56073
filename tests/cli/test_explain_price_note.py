"""`oppworker explain` says which price is missing, not only the fixed reason (issue #15 item 5):
an account in a currency the catalog does not price gets no offer, and the CSM or RevOps engineer
reading explain must learn which item and which currency to add."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from worker.cli import cli

# Every price in yen only: the sample's USD, EUR and GBP accounts have no price in their currency.
YEN_ONLY = """
currency: JPY
plans:
  - {name: Starter,    rank: 0, seat_price: {JPY: 2000},  limits: {words_translated: 50000, api_calls: 10000}}
  - {name: Team,       rank: 1, seat_price: {JPY: 4000},  limits: {words_translated: 250000, api_calls: 100000}}
  - {name: Business,   rank: 2, seat_price: {JPY: 8000},  limits: {words_translated: 1000000, api_calls: 1000000}}
  - {name: Enterprise, rank: 3, seat_price: {JPY: 12000}, limits: {}}
products:
  - {code: translate,       name: Translation workspace, monthly_price: {JPY: 0}}
  - {code: api,             name: Translation API,       monthly_price: {JPY: 60000}}
  - {code: glossary,        name: Glossary,              monthly_price: {JPY: 20000}}
  - {code: connectors,      name: Connectors,            monthly_price: {JPY: 40000}}
  - {code: analytics,       name: Quality analytics,     monthly_price: {JPY: 30000}}
  - {code: custom_mt,       name: Custom MT,             monthly_price: {JPY: 100000}}
  - {code: premium_support, name: Premium support,       monthly_price: {JPY: 150000}}
  - {code: security,        name: SSO,                   monthly_price: {JPY: 90000}}
gauge_metrics: [active_users]
terms:
  multi_year: Multi-year renewal (24 months, price locked)
"""


def test_explain_names_the_missing_price_and_currency(tmp_path: Path, monkeypatch) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(YEN_ONLY)
    monkeypatch.setenv("OPPWORKER_CATALOG", str(catalog))
    result = CliRunner().invoke(
        cli, ["explain", "acc-0001", "--output-dir", str(tmp_path / "out")], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    verdict = next(line for line in result.output.splitlines() if line.startswith("seat_expansion "))
    # acc-0001 is a USD account on the Starter plan whose seat expansion qualifies on the sample.
    assert verdict.endswith(
        "suppressed (no_price_in_currency): the catalog has no USD price for plan Starter"
    ), verdict
