"""Issue #15 item 5: an account is offered the catalog's price in its own currency, a price the
catalog lacks in that currency refuses the offer by name, and the catalog check names each gap."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain import Account
from domain.money import MissingRate, currency_code, to_currency
from playbooks.assess import NEW, SUPPRESSED, Assessor
from playbooks.catalog_check import missing_currency_prices, require_priced_offers
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.loader import load_catalog, load_playbook_text
from playbooks.model import Offer, OfferType
from playbooks.offers import NO_PRICE_IN_CURRENCY, OfferResolver, ResolvedOffer, Unpriced
from playbooks.yaml_source import PlaybookError
from tests.playbooks.factories import NOW, account, weekly
from tests.playbooks.test_guardrails import SEATS, SUPPORT, UPGRADE

CATALOG = """
currency: EUR
plans:
  - {name: Team,     rank: 1, seat_price: {EUR: 28, USD: 30}}
  - {name: Business, rank: 2, seat_price: {EUR: 50, usd: 55}}
products:
  - {code: premium_support, name: Premium support, monthly_price: {EUR: 1100, USD: 1200}}
  - {code: glossary, name: Glossary, monthly_price: 150}
"""
USAGE = {"active_users": weekly(4 * 18, 4 * 17)}
FORMULA = "price_per_seat * suggested_seats * 12"


def catalog_file(tmp_path: Path, text: str = CATALOG) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def outcomes(tmp_path: Path, text: str, **fields: object) -> list:
    fields.setdefault("seats_used", 19)
    assessor = Assessor(
        [load_playbook_text(text)],
        load_catalog(catalog_file(tmp_path)),
        guardrails=GuardrailPolicy(max_new_offers_per_30_days=2),
    )
    return assessor.assess(account(**fields), USAGE, AccountHistory(), NOW).outcomes


def test_per_currency_prices_load_with_codes_normalised(tmp_path: Path) -> None:
    catalog = load_catalog(catalog_file(tmp_path))
    assert catalog.plans[1].seat_price == {"EUR": Decimal(50), "USD": Decimal(55)}
    assert catalog.product("glossary").monthly_price == Decimal(150)  # the single form stays valid
    assert (catalog.currency, catalog.priced_currencies()) == ("EUR", {"EUR", "USD"})


@pytest.mark.parametrize(
    ("currency", "team", "business", "support"),
    [("USD", 30, 55, 1200), ("EUR", 28, 50, 1100), (None, 28, 50, 1100)],  # None: the catalog's EUR
)
def test_the_offer_is_priced_in_the_accounts_currency(
    tmp_path: Path, currency: str | None, team: int, business: int, support: int
) -> None:
    def priced(text: str) -> object:
        (only,) = outcomes(tmp_path, text.replace(FORMULA, "offer_monthly_price"), currency=currency)
        assert only.status == NEW and only.opportunity.currency == (currency or "EUR")
        return only.opportunity.estimated_amount

    assert priced(SEATS) == team * 3  # 19 used x 1.2 headroom = 23 seats, 20 bought: 3 more
    assert priced(SUPPORT) == support
    assert priced(UPGRADE) == (business - team) * 20  # per seat, for the 20 seats bought


def test_an_account_in_a_currency_the_catalog_does_not_price_gets_no_offer_and_is_told_why(
    tmp_path: Path,
) -> None:
    (only,) = outcomes(tmp_path, SUPPORT, currency="GBP")
    assert (only.status, only.reason, only.opportunity) == (SUPPRESSED, NO_PRICE_IN_CURRENCY, None)
    assert only.note == "the catalog has no GBP price for product premium_support"
    (seats,) = outcomes(tmp_path, SEATS, currency="GBP")
    assert (seats.status, seats.note) == (SUPPRESSED, "the catalog has no GBP price for plan Team")


def test_a_single_number_price_is_offered_in_any_currency(tmp_path: Path) -> None:
    glossary = SUPPORT.replace("code: premium_support", "code: glossary").replace(
        FORMULA, "offer_monthly_price"
    )
    (only,) = outcomes(tmp_path, glossary, currency="GBP")
    assert only.status == NEW
    assert (only.opportunity.currency, only.opportunity.estimated_amount) == ("GBP", Decimal(150))


def test_the_catalog_check_names_every_price_missing_a_currency(tmp_path: Path) -> None:
    text = CATALOG.replace("{EUR: 1100, USD: 1200}", "{EUR: 1100}").replace("{EUR: 28, USD: 30}", "{GBP: 25}")
    catalog = load_catalog(catalog_file(tmp_path, text))
    problems = [str(p) for p in missing_currency_prices(catalog, "my.yaml")]
    assert problems == [
        "my.yaml: plan Team: seat_price: no price in EUR, USD (the catalog prices in EUR, GBP, USD)",
        "my.yaml: plan Business: seat_price: no price in GBP (the catalog prices in EUR, GBP, USD)",
        "my.yaml: product premium_support: monthly_price: no price in GBP, USD "
        "(the catalog prices in EUR, GBP, USD)",
    ]
    with pytest.raises(PlaybookError, match="product premium_support"):
        require_priced_offers([load_playbook_text(SEATS)], catalog, "my.yaml")
    assert missing_currency_prices(load_catalog(catalog_file(tmp_path))) == []
    assert missing_currency_prices(load_catalog()) == []  # the bundled catalog: one number each


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("{€: 49}", "not a three-letter currency code"),
        ("{EUR: -1}", "EUR: a price is a number of at least 0"),
        ("{}", "needs at least one currency"),
        ("[1, 2]", "expected a number or a map of currency to number"),
    ],
)
def test_a_malformed_price_is_refused_with_its_line(tmp_path: Path, price: str, message: str) -> None:
    text = CATALOG.replace("{EUR: 1100, USD: 1200}", price)
    with pytest.raises(PlaybookError, match=message) as caught:
        load_catalog(catalog_file(tmp_path, text))
    assert caught.value.problems[0].field.startswith("products")


def test_to_currency_converts_at_the_users_rates_and_never_guesses() -> None:
    rates = {"USD": Decimal("0.92"), "GBP": 1.17}
    assert to_currency(Decimal(100), "USD", "EUR", rates) == Decimal("92.00")
    assert to_currency(100, "GBP", "EUR", rates) == Decimal("117.00")
    assert to_currency(Decimal("12.5"), "EUR", "EUR", {}) == Decimal("12.5")
    with pytest.raises(MissingRate, match=r"no exchange rate for CHF.*report_currency is EUR"):
        to_currency(1, "CHF", "EUR", rates)


@pytest.mark.parametrize("raw", ["€", "Euro", "E U", "12", ""])
def test_a_currency_that_is_not_a_code_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="three-letter currency code"):
        currency_code(raw)
    if raw:
        with pytest.raises(ValueError):
            Account(id="a", currency=raw)
    assert Account(id="a", currency=" gbp ").currency == "GBP"


def test_one_resolver_gives_each_account_its_own_figures(tmp_path: Path) -> None:
    """The assessor resolves offers through one memo per pass (keyed by offer, plan, currency and
    recommended product): accounts sharing a key still get their own seats and amounts, and an
    account in an unpriced currency is refused however many priced ones came before it."""
    catalog = load_catalog(catalog_file(tmp_path))
    resolver = OfferResolver(catalog)
    seats, upgrade, term = (
        Offer(type=OfferType.SEATS),
        Offer(type=OfferType.NEXT_PLAN),
        Offer(type=OfferType.TERM, code="annual"),
    )
    small = account(plan_rank=1, seats_purchased=10, seats_used=10, currency="USD", mrr=Decimal(300))
    large = account(plan_rank=1, seats_purchased=40, seats_used=50, currency="USD", mrr=Decimal(1200))
    for _ in range(2):  # the second round is served from the memo
        assert resolver.resolve(seats, small, None) == ResolvedOffer("seats", "2 more seats", Decimal(60), 2)
        assert resolver.resolve(seats, large, None) == ResolvedOffer(
            "seats", "20 more seats", Decimal(600), 20
        )
        assert resolver.resolve(upgrade, small, None) == ResolvedOffer(
            "plan:Business", "Upgrade to Business", Decimal(250)
        )
        assert resolver.resolve(upgrade, large, None) == ResolvedOffer(
            "plan:Business", "Upgrade to Business", Decimal(1000)
        )
        assert resolver.resolve(term, large, None) == ResolvedOffer("term:annual", "annual", Decimal(1200))
    yen = account(plan_rank=1, seats_purchased=10, seats_used=10, currency="JPY")
    assert resolver.resolve(seats, yen, None) == Unpriced("plan Team", "JPY")
    top = account(plan_rank=2, seats_purchased=10, seats_used=10, currency="USD")
    assert resolver.resolve(upgrade, top, None) == "no_higher_plan"
