"""What a candidate is worth for ranking (issue #15): its expected value, P(win | playbook, score,
stage) times its estimated amount, with every amount in one currency.

The probability is calibrated on the ledger's closed deals (playbooks/calibration.py; the prior
alone without them). Amounts in different currencies are not comparable as numbers (EUR 400 and
GBP 400 are not the same offer): with `report_currency` and `exchange_rates` set, ranking converts
with `domain.money.to_currency`, the same function and rates the outcome report uses. Without them
amounts are compared as recorded, which is right for a one-currency book and says nothing across
currencies: docs/attention.md tells a multi-currency user to set the rates.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from domain import Opportunity
from domain.money import MissingRate
from playbooks.calibration import WinChances
from worker.outcomes.money import MoneyBasis

log = logging.getLogger(__name__)

_PRIOR = WinChances()
_warned: set[tuple[str, str]] = set()


def comparable_amount(opportunity: Opportunity, money: MoneyBasis | None = None) -> float:
    """The estimated amount in the ranking currency. A currency the rates lack is ranked as
    recorded, with one warning per currency: a pass is not stopped over a ranking detail, but the
    user learns which rate to add (the outcome report, where totals matter, refuses instead)."""
    amount = opportunity.estimated_amount or Decimal(0)
    target = money.report_currency if money else None
    if money is None or target is None or opportunity.currency == target:
        return float(amount)
    try:
        return money.converted(amount, opportunity.currency)
    except MissingRate as missing:
        if (opportunity.currency, target) not in _warned:
            _warned.add((opportunity.currency, target))
            log.warning("ranking %s amounts unconverted: %s", opportunity.currency, missing)
        return float(amount)


def rank_value(
    opportunity: Opportunity, chances: WinChances | None = None, money: MoneyBasis | None = None
) -> float:
    """Expected value: P(win) x the amount in the ranking currency. The score breaks ties (`plan`)."""
    p = (chances or _PRIOR).probability(opportunity.playbook, opportunity.score, opportunity.journey_stage)
    return p * comparable_amount(opportunity, money)
