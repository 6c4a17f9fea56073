"""Usage windows: the few numbers every signal reads from a metric's time series.

A series is a list of (period_start, value). Counter metrics (words translated, API calls) add up
over a window; gauge metrics (active users) are levels, so a window takes their mean. Summarising
each metric once per account is what keeps scoring cheap when many playbooks read the same metric.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class MetricSummary:
    last_30: float  # this window: the sum (counter) or mean (gauge) of the last 30 days
    previous_30: float  # the same for the 30 days before
    has_previous: bool  # whether any point fell in the previous window
    total: float  # every point up to now (counters only; the latest level for gauges)
    total_before: float  # the same as of `since` (the last run, or 30 days ago)


def summarise(
    points: Iterable[tuple[date, float]], now: date, since: date | None, gauge: bool = False
) -> MetricSummary:
    """Window figures for one metric. Points on or after `now` are ignored, not trusted.

    Runs once per metric per account on every pass, so the work is done by C-level builtins
    (unzip, bisect, slice sums) rather than a Python loop over points."""
    ordered = points if isinstance(points, list) else list(points)
    if not ordered:
        return MetricSummary(0.0, 0.0, False, 0.0, 0.0)
    days, values = zip(*ordered)
    if list(days) != sorted(days):
        days, values = zip(*sorted(ordered))
    start_last = now - timedelta(days=WINDOW_DAYS)
    start_prev = start_last - timedelta(days=WINDOW_DAYS)
    end = bisect_left(days, now)
    i_last = bisect_left(days, start_last, 0, end)
    i_prev = bisect_left(days, start_prev, 0, i_last)
    last_n, prev_n = end - i_last, i_last - i_prev
    if gauge:
        latest = values[end - 1] if end else 0.0
        last = sum(values[i_last:end]) / last_n if last_n else 0.0
        prev = sum(values[i_prev:i_last]) / prev_n if prev_n else 0.0
        return MetricSummary(last, prev, prev_n > 0, latest, latest)
    cut = bisect_left(days, since if since is not None else start_last, 0, end)
    before = sum(values[:cut])
    total = before + sum(values[cut:end])
    return MetricSummary(sum(values[i_last:end]), sum(values[i_prev:i_last]), prev_n > 0, total, before)
