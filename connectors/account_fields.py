"""The account fields a CRM maps when it keeps them as named fields on one record (Zendesk Sell
organisation contacts, Pipedrive organizations), and the CRM-independent rules for them once a value
is found.

Exists so the two CRMs read the same canonical fields with the same rules (which are counts, how
products are listed, how a rejected field is dropped instead of the account); how a value is found
and how dates and money arrive differ per CRM and stay in each mapping. HubSpot sends every property
as a string and keeps its own rules (connectors/hubspot/mapping.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from connectors.base import ReadReport
from connectors.field_values import parse_number
from domain import Account

# Account fields the connectors map (domain.Account, minus owner_email which the runner fills in).
CANONICAL_FIELDS: tuple[str, ...] = (
    "name",
    "owner_id",
    "plan",
    "plan_rank",
    "products",
    "seats_purchased",
    "seats_used",
    "mrr",
    "currency",
    "customer_since",
    "contract_end_date",
    "journey_stage",
    "nps",
    "csat",
    "open_escalations",
)

# Usage metrics read by default: each one a field holding the last-30-days value.
DEFAULT_USAGE_METRICS: tuple[str, ...] = (
    "active_users",
    "words_translated",
    "api_calls",
    "premium_feature_attempts",
)

# Fields that count things: a value with a fraction is junk, not a rounding matter.
INTEGER_FIELDS = frozenset({"plan_rank", "seats_purchased", "seats_used", "open_escalations"})

Parser = Callable[[Any], Any]


def named_map(names: Iterable[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each name read from the CRM field of the same name, unless the configuration names another."""
    mapping = {name: name for name in names}
    mapping.update(overrides)
    return mapping


def field_parsers(parse_money: Parser, parse_date: Parser) -> dict[str, Parser]:
    """Which canonical field is a number, an amount or a date; the CRM says how its money and
    dates arrive."""
    return {
        "plan_rank": parse_number,
        "seats_purchased": parse_number,
        "seats_used": parse_number,
        "open_escalations": parse_number,
        "nps": parse_number,
        "csat": parse_number,
        "mrr": parse_money,
        "customer_since": parse_date,
        "contract_end_date": parse_date,
    }


def parsed_value(canonical: str, raw: Any, parser: Parser) -> Any:
    """`parser(raw)`, and a whole number for the fields that count things. Raises ValueError."""
    value = parser(raw)
    if canonical in INTEGER_FIELDS and isinstance(value, (int, float, Decimal)):
        if value != int(value):
            raise ValueError(f"expected a whole number, got {raw!r}")
        value = int(value)
    return value


def products_value(raw: Any) -> frozenset[str]:
    """A multi-select list of product codes (choice labels), or a ';'/','-separated text field."""
    if isinstance(raw, str):
        parts = raw.replace(",", ";").split(";")
    elif isinstance(raw, list):
        parts = [str(p) for p in raw if p is not None]
    else:
        raise ValueError(f"products must be a list or text, got {type(raw).__name__}")
    return frozenset(p.strip() for p in parts if p.strip())


def validated_account(values: dict[str, Any], account_id: str, report: ReadReport) -> Account | None:
    """Build the Account; a field the domain rejects (negative seats, NPS of 500) is dropped and
    counted, so one bad value does not cost the whole account."""
    for _ in range(len(values)):
        try:
            return Account(**values)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
            droppable = bad - {"id"}
            if not droppable:
                report.skip("invalid_account", account_id, str(exc)[:200])
                return None
            for name in sorted(droppable):
                values.pop(name, None)
                report.default(f"invalid_{name}", account_id)
    report.skip("invalid_account", account_id)
    return None
