"""How a chunk of account records travels from the reading task to a scoring task (through Redis).

Compact, because a pass of a million accounts moves every record through Redis once: usage goes
as metric -> [[day ordinals], [values]] instead of one object per point (under 2 KB an account
instead of 11 KB; two flat lists per metric are also what `json` parses fastest), and a record
comes back with its `series` filled instead of one pydantic `UsagePoint` per weekly point, which
cost more than scoring the account (bench/scale.py). The values were checked
when the connector first read them; the account itself is validated again (cheap, and a stash is
data from Redis like any other). Snapshot values (one per metric) travel as points.
"""

from __future__ import annotations

from datetime import date
from operator import le
from typing import Any

from connectors.base import AccountRecord
from domain import Account, Series, UsagePoint
from domain.usage import series_by_metric


def encode(record: AccountRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "account": record.account.model_dump(mode="json"),
        "snapshot": record.usage_is_snapshot,
    }
    if record.provenance:
        data["provenance"] = record.provenance
    if record.usage_is_snapshot:
        data["points"] = [[p.metric, p.period_start.toordinal(), p.value] for p in record.usage]
        return data
    grouped = record.series if record.series is not None else series_by_metric(record.usage)
    series: dict[str, list[list[Any]]] = {}
    shared: tuple[date, ...] | None = None
    ordinals: list[int] = []
    for metric, columns in grouped.items():
        if columns.days is not shared:
            shared, ordinals = columns.days, list(map(date.toordinal, columns.days))
        series[metric] = [ordinals, list(columns.values)]
    data["series"] = series
    return data


def decode(data: dict[str, Any]) -> AccountRecord:
    account = Account.model_validate(data["account"])
    if data["snapshot"]:
        usage = [
            UsagePoint(account_id=account.id, metric=metric, period_start=date.fromordinal(day), value=value)
            for metric, day, value in data["points"]
        ]
        return AccountRecord(account, usage, True, provenance=dict(data.get("provenance") or {}))
    return AccountRecord(
        account, [], False, _series(data["series"]), provenance=dict(data.get("provenance") or {})
    )


def _series(encoded: dict[str, list[list[Any]]]) -> dict[str, Series]:
    """Metrics sent with the same days get one days tuple, built once: fewer dates to make here,
    and an identity test instead of a comparison when the engine summarises them. Days are sent in
    order; a stash written before they were (or by hand) is sorted on the way in."""
    series: dict[str, Series] = {}
    known: list[int] | None = None
    days: tuple[date, ...] = ()
    ordered = True
    for metric, (ordinals, values) in encoded.items():
        if ordinals != known:
            known, days = ordinals, tuple(map(date.fromordinal, ordinals))
            ordered = all(map(le, ordinals, ordinals[1:]))
        floats = tuple(map(float, values))
        series[metric] = Series(days, floats) if ordered else Series.from_columns(days, floats)
    return series
