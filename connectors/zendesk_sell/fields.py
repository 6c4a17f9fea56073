"""Finding and unwrapping a value on a Sell record, and Sell's date and id shapes: pure, no HTTP.

Apart from `mapping.py` because how Sell *stores* a field (by name in `custom_fields`, or in the
Firehose's `custom_field_values`; list choices as `{"id", "name"}`; dates as "4/27/2016") is one
concern, read by the account, deal and setup code alike, and what a field *means* is another
(https://developer.zendesk.com/api-reference/sales-crm/resources/custom-fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from connectors.zendesk_sell.settings import CONTACT_ATTRIBUTES

CUSTOM_PREFIX = "custom_fields."


def custom_fields_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's custom fields keyed by name, from either the Core API or the Firehose shape."""
    fields = record.get("custom_fields")
    if isinstance(fields, Mapping):
        return dict(fields)
    values = record.get("custom_field_values")
    out: dict[str, Any] = {}
    if isinstance(values, list):
        for entry in values:
            if not isinstance(entry, Mapping):
                continue
            definition = entry.get("custom_field")
            if isinstance(definition, Mapping):
                definition = definition.get("data", definition)
            name = definition.get("name") if isinstance(definition, Mapping) else None
            if isinstance(name, str):
                out[name] = entry.get("value")
    return out


def field_value(record: Mapping[str, Any], sell_field: str, custom: Mapping[str, Any]) -> Any:
    """The value a mapping entry points at: a contact attribute, or a custom field by name."""
    if sell_field.startswith(CUSTOM_PREFIX):
        return plain(custom.get(sell_field[len(CUSTOM_PREFIX) :]))
    if sell_field in CONTACT_ATTRIBUTES:
        return plain(record.get(sell_field))
    return plain(custom.get(sell_field))


def plain(value: Any) -> Any:
    """Unwrap list choices (`{"id","name"}`) to their names; lists stay lists."""
    if isinstance(value, Mapping) and "name" in value:
        return value["name"]
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parse_date(value: Any) -> date | None:
    """Sell `date` custom fields read "4/27/2016"; accept ISO dates and datetimes too."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if "/" in text:
        month, day, year = (int(p) for p in text.split(" ")[0].split("/"))
        return date(year, month, day)
    if "T" in text or " " in text:
        return parse_datetime(text).date()  # type: ignore[union-attr]
    return date.fromisoformat(text)


def parse_datetime(value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def as_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None
