"""Parsing the loosely typed values CRMs send for numeric and money fields, shared by the Zendesk
Sell and Pipedrive mappings (HubSpot sends every property as a string and has its own rules).

Both raise ValueError for junk, so a mapping can count the field as defaulted with its reason."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any


def parse_number(value: Any) -> float | None:
    """A number, or a numeric string ("1,234.5"); None when absent. Raises ValueError when junk."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def parse_money(value: Any) -> Decimal | None:
    """An amount as Decimal, from an integer or a decimal string; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


def int_id(value: str | None) -> int | None:
    """A CRM record id as the integer Pipedrive v2 and Sell want in a body; None when not all digits."""
    text = (value or "").strip()
    return int(text) if text.isdigit() else None
