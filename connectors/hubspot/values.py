"""HubSpot's property values: every property arrives as a string (or null), dates as ISO dates,
ISO datetimes or epoch milliseconds depending on the property type, and date properties are written
as midnight UTC.

Apart from the mappings so that companies, deals and tasks read and write these strings one way.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any


def parse_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def to_epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def iso_midnight(day: date) -> str:
    """Date properties take midnight UTC (https://developers.hubspot.com/docs/api/crm/properties,
    "Date values")."""
    return datetime.combine(day, time(0), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def finite_number(value: Any) -> float | None:
    """A property string as a finite float; None for junk, blanks, infinities and NaN."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
