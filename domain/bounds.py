"""The ranges a value read from a CRM or a file must fall in before anything downstream sees it.

Why bounds at all: one absurd value used to stop every pass for every account. `mrr=1e400` is a
valid Decimal that no amount can be quantized from; `seats_purchased=1e30` does not fit the ledger's
INTEGER columns; a usage value of 1e308 is a finite float whose sums and ratios overflow in the
engine. The limits are far beyond any real account and inside what every store holds, so a value
outside them is an export error: the record (or the field) is refused with a reason, never used.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

# Money per account per month (MRR, purchase and deal amounts): a trillion is no customer's bill, and
# it leaves the engine room to multiply by seat counts and terms and still quantize to cents.
MAX_AMOUNT = Decimal("1e12")
# Counts (seats, plan ranks, escalations, scores): PostgreSQL INTEGER, the narrowest ledger column.
MAX_COUNT = 2**31 - 1
# A usage metric's value in one period: 1e15 words or API calls a week is beyond any account, and the
# engine's 52-week sums, growth ratios and formatting stay finite far above it.
MAX_USAGE_VALUE = 1e15
# Account and product names: they go into deal titles and task bodies, which CRMs cap (HubSpot's
# single-line text holds 65,536 characters; a title should be readable in one line).
MAX_NAME_LENGTH = 1_000


def check_amount(value: Decimal | None) -> Decimal | None:
    """Raise ValueError unless `value` is None or a finite amount in [0, MAX_AMOUNT]."""
    if value is None:
        return None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0 or value > MAX_AMOUNT:
        raise ValueError(f"must be between 0 and {MAX_AMOUNT:,.0f}")
    return value


def check_count(value: int | None) -> int | None:
    """Raise ValueError unless `value` is None or a whole number in [0, MAX_COUNT]."""
    if value is None:
        return None
    if value < 0 or value > MAX_COUNT:
        raise ValueError(f"must be between 0 and {MAX_COUNT:,}")
    return value


def check_usage_value(value: float) -> float:
    """Raise ValueError unless `value` is a finite usage value in [0, MAX_USAGE_VALUE]: usage counts
    what happened, so a negative value is an export error like an infinite one."""
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value < 0 or value > MAX_USAGE_VALUE:
        raise ValueError(f"must be between 0 and {MAX_USAGE_VALUE:.0e}")
    return value


def sane_amount(value: Any) -> Decimal | None:
    """`value` as an amount, or None when it is missing, unreadable or out of range (for fields
    where None already means "the source does not say")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return check_amount(value if isinstance(value, Decimal) else Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def sane_count(value: Any) -> int | None:
    """`value` as a count, or None when it is missing, unreadable, fractional or out of range."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not number.is_finite() or number != number.to_integral_value():
            return None
        return check_count(int(number))
    except (InvalidOperation, ValueError):
        return None
