"""Usage windows: the few numbers every signal reads from a metric's time series.

A series is a list of (period_start, value). Counter metrics (words translated, API calls) add up
over a window; gauge metrics (active users) are levels, so a window takes their mean. Summarising
each metric once per account is what keeps scoring cheap when many playbooks read the same metric.
"""

from __future__ import annotations

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
    """One pass over a metric's points. Points in the future of `now` are ignored, not trusted."""
    start_last = now - timedelta(days=WINDOW_DAYS)
    start_prev = start_last - timedelta(days=WINDOW_DAYS)
    cut = since if since is not None else start_last
    last_sum = prev_sum = total = before = 0.0
    last_n = prev_n = 0
    latest_day: date | None = None
    latest = 0.0
    for day, value in points:
        if day >= now:
            continue
        if day >= start_last:
            last_sum += value
            last_n += 1
        elif day >= start_prev:
            prev_sum += value
            prev_n += 1
        total += value
        if day < cut:
            before += value
        if latest_day is None or day > latest_day:
            latest_day, latest = day, value
    if gauge:
        last = last_sum / last_n if last_n else 0.0
        prev = prev_sum / prev_n if prev_n else 0.0
        return MetricSummary(last, prev, prev_n > 0, latest, latest)
    return MetricSummary(last_sum, prev_sum, prev_n > 0, total, before)
