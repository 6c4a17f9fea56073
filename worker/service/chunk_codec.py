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
from typing import Any

from connectors.base import AccountRecord
from domain import Account, UsagePoint


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
    grouped = record.series
    if grouped is None:
        grouped = {}
        for p in record.usage:
            grouped.setdefault(p.metric, []).append((p.period_start, p.value))
    series: dict[str, list[list[Any]]] = {}
    for metric, points in grouped.items():
        days, values = zip(*points) if points else ((), ())
        series[metric] = [list(map(date.toordinal, days)), list(values)]
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
    series = {
        metric: list(zip(map(date.fromordinal, days), map(float, values)))
        for metric, (days, values) in data["series"].items()
    }
    return AccountRecord(account, [], False, series, provenance=dict(data.get("provenance") or {}))
