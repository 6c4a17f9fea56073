"""How the outcome report shows money: never a sum across currencies (issue #15).

A won EUR 400 and a won GBP 400 are not 800 of anything. The report either shows one total per
currency, or, when the user supplies `report_currency` and `exchange_rates`, converts every amount
with `domain.money.to_currency` at those rates and says so. Rows recorded without a currency (deals
found in CRM history, not written by us) are taken to be in the catalog's currency, the one a deal
of ours gets when its account records none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.money import MissingRate, to_currency


@dataclass(frozen=True)
class MoneyBasis:
    default_currency: str = "USD"  # of rows recorded without one
    report_currency: str | None = None  # convert every amount into this, at `rates`
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # 1 unit of key = value report_currency

    @classmethod
    def from_settings(cls, settings: Any, default_currency: str = "USD") -> MoneyBasis:
        """The user's `report_currency` and `exchange_rates`: what the report and ranking convert with."""
        return cls(default_currency, settings.report_currency, dict(settings.exchange_rates))

    def currency_of(self, row: Mapping[str, Any]) -> str:
        return str(row.get("currency") or self.default_currency).upper()

    def converted(self, amount: Decimal | float, currency: str) -> float:
        assert self.report_currency is not None
        return float(to_currency(amount, currency, self.report_currency, self.rates))

    def check(self, currencies: Iterable[str]) -> None:
        """Raise MissingRate for the first currency the rates cannot convert, before any figure."""
        if self.report_currency is None:
            return
        for currency in sorted(currencies):
            if currency != self.report_currency and currency not in self.rates:
                raise MissingRate(currency, self.report_currency)


@dataclass(frozen=True)
class MoneyNote:
    """What the report's amounts are in, for every output to state."""

    amounts_in: str | None  # the one currency of every `won_amount`; None: per currency only
    converted: bool
    currencies: tuple[str, ...]  # as recorded on the deals
    rates: dict[str, float]

    @property
    def text(self) -> str:
        if self.converted:
            used = [
                f"1 {c} = {self.rates[c]:g} {self.amounts_in}" for c in self.currencies if c in self.rates
            ]
            return (
                f"Amounts in {self.amounts_in}, converted at your rates ({'; '.join(used) or 'none needed'})."
            )
        if self.amounts_in is not None:
            return f"Amounts in {self.amounts_in}."
        return (
            f"Amounts per currency ({', '.join(self.currencies)}), never added across currencies; "
            "set report_currency and exchange_rates to convert them into one."
        )


def money_note(basis: MoneyBasis, currencies: set[str]) -> MoneyNote:
    found = tuple(sorted(currencies))
    if basis.report_currency is not None:
        rates = {c: float(r) for c, r in basis.rates.items()}
        return MoneyNote(basis.report_currency, True, found, rates)
    single = found[0] if len(found) == 1 else basis.default_currency if not found else None
    return MoneyNote(single, False, found, {})


def per_currency_text(amounts: Mapping[str, float]) -> str:
    """ "EUR 1,200; USD 800": each currency's own total, side by side, never summed."""
    return "; ".join(f"{c} {v:,.0f}" for c, v in sorted(amounts.items())) or "0"
