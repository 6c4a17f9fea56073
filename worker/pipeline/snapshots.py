"""Rolling 30-day snapshots -> the per-period series the engine reads.

CRMs hold one "last 30 days" value per usage metric. Each pass stores it (one per day); to compare
this month with the last, the series the engine sees holds today's value as the window starting 30
days ago, and the snapshot taken closest to 30 days ago (within 25-45 days) as the window before.
Overlapping snapshots in between are not added up, which would count the same usage twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from domain import Series

WINDOW = timedelta(days=30)


def series_from_snapshots(snapshots: Sequence[tuple[date, float]], today: date) -> Series:
    if not snapshots:
        return Series((), ())
    latest_day, latest = max(snapshots, key=lambda s: s[0])
    earlier = [
        (abs((today - day).days - 30), day, value)
        for day, value in snapshots
        if 25 <= (today - day).days <= 45
    ]
    if earlier:
        _, _, value = min(earlier)
        return Series((today - 2 * WINDOW, today - WINDOW), (value, latest))
    return Series((today - WINDOW,), (latest,))
