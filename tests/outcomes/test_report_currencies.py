"""Issue #15 item 5: the outcome report never adds different currencies. Without rates it shows
each currency's total; with the user's `report_currency` and `exchange_rates` it converts every
amount and says so; a currency the rates lack is an error naming it, not a guess."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from domain.money import MissingRate
from tests.outcomes.test_report import NOW, deal
from worker.cli import cli
from worker.outcomes.html import render_html
from worker.outcomes.money import MoneyBasis
from worker.outcomes.report import build_report
from worker.store.ledger import Ledger
from worker.store.outcomes import OutcomeStore


def rows() -> list[dict]:
    """Won: EUR 1,000 and EUR 200 and USD 500 (seat_expansion), GBP 300 (complementary_product);
    one lost deal."""
    won = [("e1", "seat_expansion", "EUR", 1000.0), ("e2", "seat_expansion", "EUR", 200.0)]
    won += [("u1", "seat_expansion", "USD", 500.0), ("g1", "complementary_product", "GBP", 300.0)]
    out = [
        deal(k, k, p, "upsell", 85, "value_realised", "2026-09-01", "won", "2026-09-11", a) | {"currency": c}
        for k, p, c, a in won
    ]
    out.append(
        deal("l1", "l1", "seat_expansion", "upsell", 70, "value_realised", "2026-09-01", "lost", "2026-09-20")
    )
    return out


@pytest.fixture
def store(tmp_path) -> OutcomeStore:
    store = OutcomeStore(create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
    store.save("x", rows(), [], [])
    return store


def test_without_rates_each_currency_has_its_own_total_and_none_is_summed(store: OutcomeStore) -> None:
    report = build_report(store, NOW, crm="x")
    t = report.total
    assert t.won_amount is None  # no single number: that would add EUR, USD and GBP
    assert t.won_amounts == {"EUR": 1200.0, "GBP": 300.0, "USD": 500.0}
    seats = next(f for f in report.by_playbook if f.group == "seat_expansion")
    assert (seats.won_amount, seats.won_amounts) == (None, {"EUR": 1200.0, "USD": 500.0})
    assert report.money.amounts_in is None and not report.money.converted
    assert "never added across currencies" in report.money.text
    html = render_html(report)
    assert "EUR 1,200; GBP 300; USD 500" in html and "2,000" not in html  # the would-be sum
    assert "Won amounts are not charted" in html and 'class="bar"' not in html
    data = report.to_json()
    assert data["total"]["won_amounts"] == {"EUR": 1200.0, "GBP": 300.0, "USD": 500.0}
    assert data["total"]["won_amount"] is None and data["money"]["converted"] is False


def test_with_the_users_rates_every_amount_is_converted_and_labelled(store: OutcomeStore) -> None:
    money = MoneyBasis("USD", "EUR", {"USD": Decimal("0.92"), "GBP": Decimal("1.17")})
    report = build_report(store, NOW, crm="x", money=money)
    # 1,200 EUR + 500 USD x 0.92 + 300 GBP x 1.17 = 1,200 + 460 + 351
    assert report.total.won_amount == pytest.approx(2011.0)
    assert report.total.won_amounts == {"EUR": 1200.0, "GBP": 300.0, "USD": 500.0}  # as recorded, too
    seats = next(f for f in report.by_playbook if f.group == "seat_expansion")
    assert seats.won_amount == pytest.approx(1660.0)
    assert (
        report.money.text == "Amounts in EUR, converted at your rates (1 GBP = 1.17 EUR; 1 USD = 0.92 EUR)."
    )
    html = render_html(report)
    assert "converted at your rates" in html and "2,011" in html and 'class="bar"' in html
    assert re.search(r"<title>2026-09-07: won 1,660 \(3 won, 0 lost\)</title>", html)  # the week's bar


def test_one_currency_reads_as_before_with_its_currency_named(tmp_path) -> None:
    store = OutcomeStore(create_engine(f"sqlite:///{tmp_path / 'one.db'}"))
    store.save("x", [r | {"currency": "GBP"} for r in rows()], [], [])
    report = build_report(store, NOW, crm="x")
    assert report.total.won_amount == 2000.0 and report.money.amounts_in == "GBP"
    assert report.money.text == "Amounts in GBP."


def test_deals_recorded_without_a_currency_count_in_the_catalogs(tmp_path) -> None:
    store = OutcomeStore(create_engine(f"sqlite:///{tmp_path / 'none.db'}"))
    store.save("x", [r | {"currency": None} for r in rows()], [], [])
    report = build_report(store, NOW, crm="x", money=MoneyBasis("EUR"))
    assert (report.total.won_amount, report.money.amounts_in) == (2000.0, "EUR")


def test_a_currency_the_rates_lack_is_an_error_that_names_it(store: OutcomeStore) -> None:
    with pytest.raises(MissingRate, match="no exchange rate for GBP"):
        build_report(store, NOW, crm="x", money=MoneyBasis("USD", "EUR", {"USD": Decimal("0.92")}))


def test_report_command_reads_the_rates_from_settings(tmp_path) -> None:
    ledger = Ledger(f"sqlite:///{(tmp_path / 'ledger.sqlite3').resolve()}")
    OutcomeStore(ledger.engine).save("files", rows(), [], [])
    config = tmp_path / "config.yaml"
    config.write_text("report_currency: eur\nexchange_rates: {usd: 0.92, GBP: 1.17}\n", encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config), "report", "--output-dir", str(tmp_path)]
    result = runner.invoke(cli, [*base, "--format", "json"], obj={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"]["won_amount"] == pytest.approx(2011.0) and data["money"]["amounts_in"] == "EUR"
    table = runner.invoke(cli, base, obj={})
    assert table.exit_code == 0 and "converted at your rates" in table.output and "2,011" in table.output

    config.write_text("report_currency: EUR\nexchange_rates: {USD: 0.92}\n", encoding="utf-8")
    missing = runner.invoke(cli, base, obj={})
    assert missing.exit_code != 0 and "no exchange rate for GBP" in missing.output

    config.write_text("exchange_rates: {USD: 0.92}\n", encoding="utf-8")
    unanchored = runner.invoke(cli, base, obj={})
    assert unanchored.exit_code != 0 and "exchange_rates need report_currency" in unanchored.output
