"""Batches of at most `batch_size` inputs, and the per-item errors HubSpot answers a batch with
(a 207 names each refused input by its `objectWriteTraceId`).

Apart from the writer because whether an item's error is worth a resend is a fact about HubSpot's
error categories, not about how deals and tasks are written; the writer only acts on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def error_keys(error: Mapping[str, Any]) -> list[str]:
    """The objectWriteTraceIds a per-item error names (context values are lists of strings)."""
    value = (error.get("context") or {}).get("objectWriteTraceId") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def error_text(error: Mapping[str, Any]) -> str:
    text = f"{error.get('category') or 'error'}: {error.get('message') or ''}".strip()
    return text[:300]


# Per-item error categories that will not change on a resend: anything else in a 207 (HubSpot's
# INTERNAL_ERROR, RATE_LIMITS, a missing item) is resent within the call, after a lookup, up to
# max_attempts. https://developers.hubspot.com/docs/api-reference/error-handling lists the categories.
PERMANENT = {
    "VALIDATION_ERROR",
    "OBJECT_ALREADY_EXISTS",
    "CONFLICT",
    "INVALID_AUTHENTICATION",
    "MISSING_SCOPES",
    "OBJECT_NOT_FOUND",
    "PROPERTY_DOESNT_EXIST",
    "INVALID_EMAIL",
}


def is_transient(error: Mapping[str, Any]) -> bool:
    return str(error.get("category") or "") not in PERMANENT
