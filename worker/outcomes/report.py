"""`oppworker report`: did the offers work? Figures from the outcome store, never from the CRM live.

Per playbook, per kind, per journey stage and per score band: opportunities created, follow-up
tasks completed, won, lost, open, win rate (won over closed), won amount and median days to close;
won amount and win rate per playbook per period (the chart); and, for playbooks with a holdout, the
treated group's expansion rate against the control group's natural expansion, with the difference,
its 95% confidence interval and the number of accounts behind each figure.

Conventions, stated once: the cohort is the deals *created* since `--since`; a deal deleted in the
CRM counts as created but neither open nor closed; amounts are summed as recorded (no currency
conversion); "days to close" spans created -> closed for won and lost deals alike.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from worker.store.outcomes import DELETED, LOST, OPEN, WON, OutcomeStore

SCORE_BANDS = ((90, "90-100"), (80, "80-89"), (70, "70-79"), (60, "60-69"), (0, "0-59"))
MIN_GROUP = 30  # accounts per group below which a holdout comparison says nothing
MIN_DAYS = 30  # days a control group must have run before its expansions mean anything
Z95 = 1.959964


def score_band(score: int | None) -> str:
    if score is None:
        return "unknown"
    return next(label for floor, label in SCORE_BANDS if score >= floor)


@dataclass
class Figures:
    group: str
    created: int = 0
    tasks_completed: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    deleted: int = 0
    won_amount: float = 0.0
    win_rate: float | None = None  # won / (won + lost); None before anything closed
    median_days_to_close: float | None = None
    _days: list[float] = field(default_factory=list, repr=False)

    def add(self, row: Mapping[str, Any]) -> None:
        self.created += 1
        self.tasks_completed += bool(row["task_completed"])
        status = row["status"]
        if status == WON:
            self.won += 1
            self.won_amount += row["amount"] or 0.0
        elif status == LOST:
            self.lost += 1
        elif status == OPEN:
            self.open += 1
        elif status == DELETED:
            self.deleted += 1
        if status in (WON, LOST) and row["closed_at"] and row["created_at"]:
            self._days.append((row["closed_at"] - row["created_at"]).total_seconds() / 86400)

    def finish(self) -> Figures:
        closed = self.won + self.lost
        self.win_rate = self.won / closed if closed else None
        self.median_days_to_close = round(statistics.median(self._days), 1) if self._days else None
        self.won_amount = round(self.won_amount, 2)
        return self

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class Period:
    start: date
    won: int = 0
    lost: int = 0
    won_amount: float = 0.0

    @property
    def win_rate(self) -> float | None:
        return self.won / (self.won + self.lost) if self.won + self.lost else None


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


@dataclass
class OutcomeReport:
    generated_at: datetime
    since: date | None
    crm: str | None
    total: Figures
    by_playbook: list[Figures]
    by_kind: list[Figures]
    by_stage: list[Figures]
    by_score_band: list[Figures]
    period: str  # "week" | "month"
    timeline: dict[str, list[Period]]
    holdouts: list[HoldoutComparison]

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "crm": self.crm,
            "total": self.total.public(),
            "by_playbook": [f.public() for f in self.by_playbook],
            "by_kind": [f.public() for f in self.by_kind],
            "by_stage": [f.public() for f in self.by_stage],
            "by_score_band": [f.public() for f in self.by_score_band],
            "period": self.period,
            "timeline": {
                p: [
                    {
                        "start": x.start.isoformat(),
                        "won": x.won,
                        "lost": x.lost,
                        "won_amount": round(x.won_amount, 2),
                        "win_rate": x.win_rate,
                    }
                    for x in periods
                ]
                for p, periods in self.timeline.items()
            },
            "holdouts": [asdict(h) for h in self.holdouts],
        }


def _split(rows: Iterable[Mapping[str, Any]], key: Any) -> list[Figures]:
    groups: dict[str, Figures] = {}
    for row in rows:
        name = key(row)
        groups.setdefault(name, Figures(name)).add(row)
    return [groups[name].finish() for name in sorted(groups)]


def _period_start(day: date, period: str) -> date:
    return day.replace(day=1) if period == "month" else day - timedelta(days=day.weekday())


def _timeline(rows: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, list[Period]]]:
    closed = [r for r in rows if r["status"] in (WON, LOST) and r["closed_at"]]
    if not closed:
        return "week", {}
    days = [r["closed_at"].date() for r in closed]
    period = "month" if (max(days) - min(days)).days > 120 else "week"
    starts: list[date] = []
    day = _period_start(min(days), period)
    while day <= max(days):  # every period, including empty ones, so the x axis is time
        starts.append(day)
        day = (
            (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            if period == "month"
            else day + timedelta(days=7)
        )
    timeline: dict[str, dict[date, Period]] = defaultdict(lambda: {s: Period(s) for s in starts})
    for row in closed:
        slot = timeline[row["playbook"]][_period_start(row["closed_at"].date(), period)]
        if row["status"] == WON:
            slot.won += 1
            slot.won_amount += row["amount"] or 0.0
        else:
            slot.lost += 1
    return period, {p: list(slots.values()) for p, slots in sorted(timeline.items())}


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


def build_report(
    store: OutcomeStore,
    now: datetime,
    since: date | None = None,
    crm: str | None = None,
    kinds: Mapping[str, str] | None = None,
) -> OutcomeReport:
    """`kinds` (playbook id -> kind) names the kind of deals the ledger never scored (CRM history)."""
    rows = [
        r
        for r in store.outcomes(crm)
        if since is None or (r["created_at"] and r["created_at"].date() >= since)
    ]
    if kinds:
        rows = [
            r | {"kind": kinds.get(r["playbook"], r["kind"])} if r["kind"] == "unknown" else r for r in rows
        ]
    held = [h for h in store.holdouts(crm) if since is None or h["first_seen_at"].date() >= since]
    period, timeline = _timeline(rows)
    total = Figures("all")
    for row in rows:
        total.add(row)
    return OutcomeReport(
        generated_at=now,
        since=since,
        crm=crm,
        total=total.finish(),
        by_playbook=_split(rows, lambda r: r["playbook"]),
        by_kind=_split(rows, lambda r: r["kind"]),
        by_stage=_split(rows, lambda r: r["journey_stage"] or "unknown"),
        by_score_band=_split(rows, lambda r: score_band(r["score"])),
        period=period,
        timeline=timeline,
        holdouts=compare_holdouts(rows, held, expansions(store.states(crm)), now.date()),
    )
