"""Usage windows: the few numbers every signal reads from a metric's time series.

A series is two columns, period starts and values (domain/usage.py). Counter metrics (words
translated, API calls) add up over a window; gauge metrics (active users) are levels, so a window
takes their mean. Summarising each metric once per account is what keeps scoring cheap when many
playbooks read the same metric.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import NamedTuple

from domain.usage import Series

WINDOW_DAYS = 30
_WINDOW = timedelta(days=WINDOW_DAYS)


class MetricSummary(NamedTuple):
    """A tuple rather than a frozen dataclass: one is built per metric per account on every pass,
    and a tuple is built several times faster while staying just as immutable."""

    last_30: float  # this window: the sum (counter) or mean (gauge) of the last 30 days
    previous_30: float  # the same for the 30 days before
    has_previous: bool  # whether any point fell in the previous window
    total: float  # every point up to now (counters only; the latest level for gauges)
    total_before: float  # the same as of `since` (the last run, or 30 days ago)


_EMPTY = MetricSummary(0.0, 0.0, False, 0.0, 0.0)
# The tuple constructor itself: NamedTuple's generated __new__ is a Python call, several times the
# cost of the tuple it makes, and summarise_all builds one per metric of every account.
_summary = tuple.__new__
# A metric whose values cannot be summed as numbers: every figure is NaN, so each signal reading it
# is scored as missing with a reason (see Assessor.signals_for).
UNUSABLE = MetricSummary(math.nan, math.nan, True, math.nan, math.nan)


def summarise(series: Series, now: date, since: date | None, gauge: bool = False) -> MetricSummary:
    """Window figures for one metric. Points on or after `now` are ignored, not trusted."""
    return summarise_all({"": series}, now, since, ("",) if gauge else ())[""]


def summarise_all(
    usage: Mapping[str, Series],
    now: date,
    since: date | None,
    gauges: Collection[str] = (),
) -> dict[str, MetricSummary]:
    """Window figures for every metric of one account.

    Runs once per account on every pass, so the work is done by C-level builtins (bisect, slice
    sums) rather than a Python loop over points; and since an account's metrics are nearly always
    reported for the same periods, the window boundaries found for one metric are reused for the
    next when its days are the same: the same tuple (an identity test; producers share one where
    they can) or an equal one (a tuple comparison instead of four bisections)."""
    start_last = now - _WINDOW
    start_prev = start_last - _WINDOW
    cut_day = since if since is not None else start_last
    known_days: tuple[date, ...] = ()
    end = i_last = i_prev = cut = 0
    result: dict[str, MetricSummary] = {}
    for metric, series in usage.items():
        days = series.days
        if not days:
            result[metric] = _EMPTY
            continue
        if days is not known_days and days != known_days:
            known_days = days
            end = bisect_left(days, now)
            i_last = bisect_left(days, start_last, 0, end)
            i_prev = bisect_left(days, start_prev, 0, i_last)
            cut = bisect_left(days, cut_day, 0, end)
        values = series.values
        last_n, prev_n = end - i_last, i_last - i_prev
        try:
            if metric in gauges:
                latest = values[end - 1] if end else 0.0
                last = sum(values[i_last:end]) / last_n if last_n else 0.0
                prev = sum(values[i_prev:i_last]) / prev_n if prev_n else 0.0
                result[metric] = _summary(MetricSummary, (last, prev, prev_n > 0, latest, latest))
                continue
            before = sum(values[:cut])
            total = before + sum(values[cut:end])
            result[metric] = _summary(
                MetricSummary,
                (sum(values[i_last:end]), sum(values[i_prev:i_last]), prev_n > 0, total, before),
            )
        except OverflowError:  # integers beyond float range: the signals reading it see no number
            result[metric] = UNUSABLE
    return result
