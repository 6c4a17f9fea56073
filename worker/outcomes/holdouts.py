"""Holdout comparisons for `oppworker report`: did treated accounts expand more than the control
group? Apart from the report's tables because the statistics (Wilson and Newcombe intervals, the
minimum group size and age before a conclusion) are a concept of their own, tested on their own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from worker.store.outcomes import DELETED, WON

MIN_GROUP = 30  # accounts per group below which a holdout comparison says nothing
MIN_DAYS = 30  # days a control group must have run before its expansions mean anything
Z95 = 1.959964


@dataclass
class HoldoutComparison:
    playbook: str
    treated_accounts: int
    treated_expanded: int
    treated_won: int
    control_accounts: int
    control_expanded: int
    treated_rate: float | None
    control_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    conclusion: str


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion: sound at small n and at 0% or 100%."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_ci(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (method 10), built from the two Wilson
    intervals: unlike the textbook Wald interval it stays inside [-1, 1] and keeps its coverage
    with few accounts or rates near 0 or 1."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def expansions(states: Iterable[Mapping[str, Any]]) -> dict[str, list[date]]:
    """account -> days on which its plan rank or seats went up (from consecutive stored states)."""
    found: dict[str, list[date]] = defaultdict(list)
    last: dict[str, Mapping[str, Any]] = {}
    for row in states:  # oldest first per account
        before = last.get(row["account_id"])
        if before is not None:
            up_plan = (row["plan_rank"] or 0) > (before["plan_rank"] or 0)
            up_seats = (row["seats_purchased"] or 0) > (before["seats_purchased"] or 0)
            if up_plan or up_seats:
                found[row["account_id"]].append(row["taken_on"])
        last[row["account_id"]] = row
    return found


def _conclusion(n_t: int, n_c: int, low: float | None, high: float | None, days: int | None = None) -> str:
    if n_t < MIN_GROUP or n_c < MIN_GROUP:
        return (
            f"too few accounts to conclude anything: {n_t} treated, {n_c} control "
            f"(at least {MIN_GROUP} in each group needed)"
        )
    if days is not None and days < MIN_DAYS:
        return (
            f"too early to conclude anything: the control group began {days} days ago "
            f"(expansions take at least {MIN_DAYS} days to show)"
        )
    assert low is not None and high is not None
    if low > 0:
        return "treated accounts expanded more than the control group (the interval excludes zero)"
    if high < 0:
        return "treated accounts expanded LESS than the control group (the interval excludes zero)"
    return "no difference detectable at this size: the interval includes zero"


def compare_holdouts(
    rows: Sequence[Mapping[str, Any]],
    held: Sequence[Mapping[str, Any]],
    grew: Mapping[str, list[date]],
    today: date | None = None,
) -> list[HoldoutComparison]:
    """Treated: accounts given a deal by the playbook since its control group began; control: its
    holdout accounts. Both count as expanded on a won deal of ours (any playbook) or a plan/seat
    increase after their own start (deal created / first held out)."""
    wins: dict[str, list[date]] = defaultdict(list)
    for row in rows:
        if row["status"] == WON and row["closed_at"]:
            wins[row["account_id"]].append(row["closed_at"].date())

    def expanded(account: str, start: date) -> bool:
        return any(d >= start for d in wins.get(account, ())) or any(d > start for d in grew.get(account, ()))

    out = []
    for playbook in sorted({h["playbook"] for h in held}):
        # Only deals created since the control group began: both groups then face the same months.
        began = min(h["first_seen_at"] for h in held if h["playbook"] == playbook).date()
        treated: dict[str, tuple[date, bool]] = {}
        for row in rows:
            if (
                row["playbook"] == playbook
                and row["status"] != DELETED
                and row["created_at"]
                and row["created_at"].date() >= began
            ):
                start = row["created_at"].date()
                if row["account_id"] not in treated or start < treated[row["account_id"]][0]:
                    treated[row["account_id"]] = (start, row["status"] == WON)
        control = {h["account_id"]: h["first_seen_at"].date() for h in held if h["playbook"] == playbook}
        n_t, n_c = len(treated), len(control)
        x_t = sum(expanded(a, s) for a, (s, _) in treated.items())
        x_c = sum(expanded(a, s) for a, s in control.items())
        won = sum(w for _, w in treated.values())
        d = low = high = None
        if n_t and n_c:
            d, low, high = difference_ci(x_t, n_t, x_c, n_c)
        out.append(
            HoldoutComparison(
                playbook,
                n_t,
                x_t,
                won,
                n_c,
                x_c,
                x_t / n_t if n_t else None,
                x_c / n_c if n_c else None,
                d,
                low,
                high,
                _conclusion(n_t, n_c, low, high, (today - began).days if today else None),
            )
        )
    return out
