"""Currencies and the one conversion rule, shared by the report and the ranking.

Why one function: two amounts in different currencies must never be added as if they were one
number (a EUR 400 and a GBP 400 deal are not 800 of anything). Whoever needs one currency (the
outcome report's totals, a ranking by expected value) converts with `to_currency`, at rates the
user supplies; nothing here fetches rates, so a report is reproducible from its settings. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

_CODE = re.compile(r"[A-Z]{3}")


class MissingRate(ValueError):
    """No rate to convert `currency` into the target: the message names both and where to add it."""

    def __init__(self, currency: str, target: str) -> None:
        super().__init__(
            f"no exchange rate for {currency}: add `{currency}: <{target} per 1 {currency}>` to "
            f"exchange_rates (report_currency is {target})"
        )
        self.currency = currency
        self.target = target


def currency_code(value: object) -> str:
    """An ISO 4217 style code ("eur " -> "EUR"); raise ValueError for anything that is not three
    letters, so "€" or "Euro" is refused by name instead of reaching a CRM as a deal's currency."""
    code = str(value).strip().upper()
    if not _CODE.fullmatch(code):
        raise ValueError(f"{str(value)[:20]!r} is not a three-letter currency code (ISO 4217, e.g. EUR)")
    return code


def to_currency(
    amount: Decimal | float, from_: str, to: str, rates: Mapping[str, Decimal | float]
) -> Decimal:
    """`amount` in `from_` expressed in `to`. `rates` maps a currency to how many `to` one unit of
    it is worth (`{USD: 0.92}` with `to="EUR"`: 1 USD = 0.92 EUR); `to` itself needs no rate.
    Raises `MissingRate` rather than guess: a wrong total is worse than none."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if from_ == to:
        return value
    rate = rates.get(from_)
    if rate is None:
        raise MissingRate(from_, to)
    return value * (rate if isinstance(rate, Decimal) else Decimal(str(rate)))
