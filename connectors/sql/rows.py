"""Checks on the rows a SQL source returns: columns, types and values, with errors that name the
source, the column and the first offending row (by its account key), and never the URL.

Plain Python checks, not one pydantic model per row: a pass reads millions of usage rows and the
per-row cost sets the throughput (bench/sql_source.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.sql.errors import SourceError
from connectors.sql.settings import OVERRIDABLE_FIELDS
from domain import FailureKind

USAGE_COLUMNS = ("account_key", "metric", "period_start", "value")


def check_usage_columns(source: str, columns: Sequence[str]) -> None:
    got = [c.lower() for c in columns]
    if sorted(got) != sorted(USAGE_COLUMNS):
        raise SourceError(
            f"usage source {source!r}: usage_query returns columns {', '.join(got) or '(none)'}; "
            f"expected exactly {', '.join(USAGE_COLUMNS)} (alias them with AS)",
            FailureKind.CONFIG,
        )


def check_fields_columns(source: str, columns: Sequence[str]) -> list[str]:
    """The canonical fields a fields_query overrides (its columns but account_key)."""
    got = [c.lower() for c in columns]
    if "account_key" not in got:
        raise SourceError(
            f"usage source {source!r}: fields_query has no account_key column", FailureKind.CONFIG
        )
    fields = [c for c in got if c != "account_key"]
    unknown = sorted(set(fields) - OVERRIDABLE_FIELDS)
    if unknown or not fields:
        raise SourceError(
            f"usage source {source!r}: fields_query column(s) {', '.join(unknown) or '(none)'} are not "
            f"canonical account fields; choose from {', '.join(sorted(OVERRIDABLE_FIELDS))}",
            FailureKind.CONFIG,
        )
    return fields


def _bad(source: str, column: str, key: Any, value: Any, why: str) -> SourceError:
    shown = repr(value)[:60]
    return SourceError(
        f"usage source {source!r}: column {column} of the row for account_key {str(key)[:60]!r}: "
        f"{shown} {why}",
        FailureKind.PERMANENT,
    )


def as_key(source: str, value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad(source, "account_key", value, value, "is empty")
    return str(value).strip()


def as_day(source: str, key: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise _bad(source, "period_start", key, value, "is not a date")


def as_value(source: str, key: str, value: Any) -> float:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
        raise _bad(source, "value", key, value, "is not a finite number")
    raise _bad(source, "value", key, value, "is not numeric")


def as_metric(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(source, "metric", key, value, "is not a metric name")
    return value.strip()


def field_error(source: str, column: str, key: str, value: Any, why: str) -> SourceError:
    return _bad(source, column, key, value, why)
