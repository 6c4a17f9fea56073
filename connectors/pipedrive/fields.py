"""Field definitions by name and value parsing for Pipedrive records: pure, no HTTP.

Custom field keys are random 40-character hashes that differ per company and survive renames, so we
find fields by *name* through the definitions (`GET /api/v2/{organization|deal}Fields`); v2 values
are typed: enum = option id, set = [option ids], monetary = {value, currency}, daterange = {value,
until} (pipedrive-api.md section 3 "Fields" [CF][MIG][NODE]).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.field_values import int_id as int_id  # re-exported: the mapping and writer use it from here
from connectors.field_values import parse_money as shared_parse_money
from connectors.pipedrive.settings import ORGANIZATION_ATTRIBUTES


@dataclass(frozen=True)
class FieldDef:
    name: str
    code: str  # the 40-character hash for custom fields; the attribute name for standard ones
    field_type: str
    options: dict[str, str] = field(default_factory=dict)  # option id -> label
    custom: bool = True


class FieldCatalog:
    """Field definitions by name, from `GET /api/v2/{organization|deal}Fields` (v2: `field_name`,
    `field_code`, `field_type`, `is_custom_field`, `options`) or the v1 shape (`name`, `key`,
    `edit_flag`)."""

    def __init__(self, definitions: Iterable[Any]) -> None:
        self.by_name: dict[str, FieldDef] = {}
        for raw in definitions:
            if not isinstance(raw, Mapping):
                continue
            name, code = raw.get("field_name", raw.get("name")), raw.get("field_code", raw.get("key"))
            if not isinstance(name, str) or not isinstance(code, str):
                continue
            options = {
                str(o.get("id")): str(o.get("label"))
                for o in raw.get("options") or []
                if isinstance(o, Mapping)
            }
            custom = bool(raw.get("is_custom_field", raw.get("edit_flag", True)))
            self.by_name.setdefault(
                name, FieldDef(name, code, str(raw.get("field_type") or ""), options, custom)
            )

    def get(self, name: str) -> FieldDef | None:
        return self.by_name.get(name)

    def code(self, name: str) -> str | None:
        definition = self.by_name.get(name)
        return definition.code if definition else None


# ---------------------------------------------------------------- values


def as_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):  # v1 nests {id, name, ...}; v2 sends the id
        return as_id(value.get("id", value.get("value")))
    text = str(value).strip()
    return text or None


def parse_money(value: Any) -> Decimal | None:
    """A monetary custom field is `{value, currency}`; a plain number or string is the value."""
    return shared_parse_money(value.get("value") if isinstance(value, Mapping) else value)


def parse_datetime(value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    when = datetime.fromisoformat(str(value).strip())
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    if isinstance(value, Mapping):  # date range: {value, until}
        value = value.get("value")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    return parse_datetime(text).date() if "T" in text else date.fromisoformat(text)  # type: ignore[union-attr]


def field_value(record: Mapping[str, Any], name: str, catalog: FieldCatalog) -> Any:
    """The value a mapping entry points at: an organization attribute, or a custom field by name
    with enum/set option ids turned into labels. Raises KeyError for a field the company does not
    have, ValueError for an option id its definition does not list."""
    if name in ORGANIZATION_ATTRIBUTES:
        return record.get(name)
    definition = catalog.get(name)
    if definition is None:
        raise KeyError(name)
    raw = (
        (record.get("custom_fields") or {}).get(definition.code)
        if definition.custom
        else record.get(definition.code)
    )
    if raw is None or not definition.options:
        return raw
    if isinstance(raw, list):
        return [_label(definition, v) for v in raw]
    if isinstance(raw, str) and "," in raw:  # v1 sends a set as "1,2"
        return [_label(definition, v.strip()) for v in raw.split(",")]
    return _label(definition, raw)


def _label(definition: FieldDef, option_id: Any) -> str:
    label = definition.options.get(str(option_id))
    if label is None:
        raise ValueError(f"option id {option_id!r} is not an option of {definition.name!r}")
    return label
