"""DuckDB's fast path: a chunk's usage rows as columns (numpy arrays), checked per column and turned
into series without a Python step per row.

Why. Fetching row tuples and checking them cell by cell capped DuckDB at ~110,000 rows/s
(bench/sql_source.py), most of it in the per-row loop and in DuckDB building a tuple per row. Here
DuckDB joins the chunk's keys to the query, numbers each row by its key's position in the chunk and
sorts (key, metric, day, value); `fetchnumpy` hands over four columns; one vectorised test per
column replaces the per-cell checks, and each account's series is a slice of the day column and
one of the value column, with no (day, value) pair built per row.

What it refuses. Only column types whose conversion is exactly the row path's take this path
(DATE or TIMESTAMP days; DOUBLE, FLOAT or integer values): DECIMAL (float(Decimal) rounds
differently), time zones and text go the row path, whose checks name the offending cell. A chunk
with a NULL, a non-finite value or an empty metric returns None, and the caller reads that chunk
again through the row path, so the error is word for word the row path's (source, column, first
offending row). Without numpy (an optional dependency of the duckdb extra) every chunk takes the row
path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.sql.gc_pause import paused_collection
from domain import Series

try:
    import numpy as np
except ImportError:  # pragma: no cover - the duckdb extra installs it
    np = None  # type: ignore[assignment]

DAY_TYPES = frozenset({"DATE", "TIMESTAMP"})
VALUE_TYPES = frozenset(
    {"DOUBLE", "FLOAT", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)


def available() -> bool:
    return np is not None


def statement(query: str) -> str:
    """The chunk's statement: `:keys` is the chunk's sorted key list, `k.i` a key's position in it
    (so no key string crosses into Python per row), ordered as the series are."""
    return (
        "SELECT k.i, q.metric, q.period_start, q.value FROM ("
        + query
        + ") AS q JOIN (SELECT unnest(:keys) AS key, unnest(range(len(:keys))) AS i) AS k "
        "ON q.account_key = k.key ORDER BY 1, 2, 3, 4"
    )


def types_fit(description: Sequence[Any]) -> bool:
    """Whether the result's column types convert exactly as the row path converts them."""
    types = {str(column[0]).lower(): str(column[1]).upper() for column in description}
    return types.get("period_start") in DAY_TYPES and types.get("value") in VALUE_TYPES


def _plain(column: Any) -> Any | None:
    """The array without a mask, or None when a cell is NULL."""
    if isinstance(column, np.ma.MaskedArray):
        if column.mask.any():
            return None
        return column.data
    return column


def series_of(
    columns: dict[str, Any], keys: Sequence[str]
) -> tuple[dict[str, dict[str, Series]], int] | None:
    """{key: {metric: series}} from `fetchnumpy`'s columns of `statement`,
    and the row count; None when a cell needs the row path's checks."""
    position, metric, day, value = (_plain(columns[c]) for c in ("i", "metric", "period_start", "value"))
    if position is None or metric is None or day is None or value is None:
        return None
    count = len(position)
    if count == 0:
        return {}, 0
    value = value.astype(np.float64, copy=False)
    if not np.isfinite(value).all():
        return None
    # Group starts: where the key or the metric changes (rows are sorted by both).
    starts = np.empty(count, dtype=bool)
    starts[0] = True
    np.not_equal(position[1:], position[:-1], out=starts[1:])
    starts[1:] |= metric[1:] != metric[:-1]
    group_starts = np.flatnonzero(starts)
    group_metrics = metric[group_starts].tolist()
    if not all(group_metrics) or set(map(type, group_metrics)) != {str}:
        return None
    # Accounts: runs of groups with the same key position.
    group_positions = position[group_starts]
    account_firsts = np.flatnonzero(np.r_[True, group_positions[1:] != group_positions[:-1]])
    bounds = group_starts.tolist() + [count]
    firsts = account_firsts.tolist() + [len(group_metrics)]
    # Every step below is a C-level map over the groups or accounts, not a Python loop: the day and
    # value columns as two tuples, each sliced per group into a `Series` (rows are in day order);
    # per account a dict of its metrics' series.
    with paused_collection():  # see gc_pause.py
        days, values = tuple(day.astype("datetime64[D]").tolist()), tuple(value.tolist())
        group_slices = list(map(slice, bounds[:-1], bounds[1:]))
        groups = list(map(Series, map(days.__getitem__, group_slices), map(values.__getitem__, group_slices)))
        per_account = map(
            dict,
            map(
                zip,
                map(group_metrics.__getitem__, map(slice, firsts[:-1], firsts[1:])),
                map(groups.__getitem__, map(slice, firsts[:-1], firsts[1:])),
            ),
        )
        found: dict[str, dict[str, Series]] = dict(
            zip(map(keys.__getitem__, group_positions[account_firsts].tolist()), per_account)
        )
    return found, count
