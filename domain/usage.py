"""One usage metric's time series, as the scoring engine reads it: two columns, oldest first.

Columns rather than a list of (day, value) pairs because summarising every metric of every account
is the largest single cost of scoring (playbooks/usage.py): with the days and values already apart,
a window is a bisection of the days and a C-level sum of a slice of the values, and metrics reported
for the same periods can share one `days` tuple, so the window boundaries are found once per account
(an identity test) instead of once per metric. Producers that hold the same days for every metric
(the sample generator, the chunk codec) hand the same tuple to each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import le

from domain.account import UsagePoint


@dataclass(slots=True)
class Series:
    """`days` ascending: a producer whose rows may come in any order builds it with `from_columns`
    or `from_points`, which sort; one that knows its order calls `Series(days, values)`.

    Not a tuple, so it cannot be unpacked or iterated as if it were the pairs it replaces.
    Not frozen either: a frozen dataclass takes twice as long to build, and one is built per metric
    per account on every read; its two fields are tuples, which nobody can change in place."""

    days: tuple[date, ...]
    values: tuple[float, ...]

    @classmethod
    def from_columns(cls, days: Sequence[date], values: Sequence[float]) -> Series:
        """Two columns of the same length in any order: sorted by day (then value) when needed."""
        if _ascending(days):
            return cls(tuple(days), tuple(values))
        return cls.from_points(sorted(zip(days, values, strict=True)))

    @classmethod
    def from_points(cls, points: Iterable[tuple[date, float]]) -> Series:
        """(day, value) pairs in any order: sorted by day (then value) when needed."""
        pairs = points if isinstance(points, list) else list(points)
        if not pairs:
            return cls((), ())
        days, values = zip(*pairs)
        if not _ascending(days):
            days, values = zip(*sorted(pairs))
        return cls(days, values)


def _ascending(days: Sequence[date]) -> bool:
    return all(map(le, days, days[1:]))


def series_by_metric(points: Iterable[UsagePoint]) -> dict[str, Series]:
    """A source's points (any order, metrics mixed) as one series per metric."""
    columns: dict[str, tuple[list[date], list[float]]] = {}
    for point in points:
        found = columns.get(point.metric)
        if found is None:
            found = columns[point.metric] = ([], [])
        found[0].append(point.period_start)
        found[1].append(point.value)
    return {metric: Series.from_columns(days, values) for metric, (days, values) in columns.items()}
