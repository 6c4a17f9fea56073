"""The vendor's price list: plans (ranked), products, and which usage metrics are levels.

Offers are sized from it (next plan, product price, seat price), and plan limits feed the
`limit_utilisation` signal. A company points `catalog` in its config at its own file.

A price is one number (the same figure in every currency, as the catalog always read) or a map
per currency (`{EUR: 49, USD: 55}`): an account is offered the price in its own currency, and an
account in a currency a map does not list is refused the offer by name (`price_in`), never priced
at another currency's figure. `currency` is the currency of accounts whose CRM records none.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.money import currency_code

Price = Decimal | dict[str, Decimal]


def _amount(value: object, where: str = "") -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"{where}expected a number or a map of currency to number, e.g. {{EUR: 49}}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}{str(value)[:20]!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{where}a price is a number of at least 0, got {str(value)[:20]}")
    return amount


def _price(value: object) -> Price:
    """One number, or a map of currency code ("eur" -> "EUR") to number: each refused by name."""
    if isinstance(value, dict):
        if not value:
            raise ValueError("a per-currency price needs at least one currency, e.g. {EUR: 49}")
        return {currency_code(code): _amount(amount, f"{code}: ") for code, amount in value.items()}
    return _amount(value)


def price_in(price: Decimal | dict[str, Decimal], currency: str) -> Decimal | None:
    """The price an account in `currency` pays, or None when a per-currency price lacks it."""
    if isinstance(price, dict):
        return price.get(currency)
    return price


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rank: int = Field(ge=0)
    seat_price: Price  # monthly, per seat
    limits: dict[str, float] = Field(default_factory=dict)  # metric -> monthly allowance

    _checked = field_validator("seat_price", mode="plain")(_price)


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    monthly_price: Price
    # Other names customers use for it ("SSO", "TMS connector"): intent detection names the product.
    aliases: list[str] = Field(default_factory=list)

    _checked = field_validator("monthly_price", mode="plain")(_price)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plans: list[Plan] = Field(min_length=1)
    products: list[Product] = Field(default_factory=list)
    gauge_metrics: list[str] = Field(default_factory=lambda: ["active_users"])
    terms: dict[str, str] = Field(default_factory=dict)  # term code -> title
    currency: str = "USD"  # for accounts whose CRM records no currency

    @field_validator("currency", mode="before")
    @classmethod
    def _code(cls, value: object) -> str:
        return currency_code(value)

    @model_validator(mode="after")
    def _unique_ranks(self) -> Catalog:
        ranks = [p.rank for p in self.plans]
        if len(set(ranks)) != len(ranks):
            raise ValueError("plan ranks must be unique")
        return self

    def plan_by_rank(self, rank: int) -> Plan | None:
        return next((p for p in self.plans if p.rank == rank), None)

    def plan_named(self, name: str | None) -> Plan | None:
        if name is None:
            return None
        wanted = name.strip().lower()
        return next((p for p in self.plans if p.name.lower() == wanted), None)

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)

    def priced_currencies(self) -> frozenset[str] | None:
        """Every currency some per-currency price lists, or None when every price is one number."""
        maps = [p.seat_price for p in self.plans] + [p.monthly_price for p in self.products]
        found = {code for price in maps if isinstance(price, dict) for code in price}
        return frozenset(found) if found else None
