"""`oppworker report`: did the offers work? Figures from the outcome store, never from the CRM live.

Per playbook, per kind, per journey stage and per score band: opportunities created, follow-up
tasks completed, won, lost, open, win rate (won over closed), won amount and median days to close;
won amount and win rate per playbook per period (the chart); and, for playbooks with a holdout, the
treated group's expansion rate against the control group's natural expansion, with the difference,
its 95% confidence interval and the number of accounts behind each figure (worker/outcomes/holdouts.py).

Conventions, stated once: the cohort is the deals *created* since `--since`; a deal deleted in the
CRM counts as created but neither open nor closed; amounts are never added across currencies: one
total per currency, or converted at the user's rates and labelled so (worker/outcomes/money.py);
"days to close" spans created -> closed for won and lost deals alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from worker.outcomes.figures import SCORE_BANDS, Figures, Period, score_band, split
from worker.outcomes.holdouts import (
    MIN_DAYS,
    MIN_GROUP,
    Z95,
    HoldoutComparison,
    compare_holdouts,
    difference_ci,
    expansions,
    wilson,
)
from worker.outcomes.money import MoneyBasis, MoneyNote, money_note
from worker.store.outcomes import LOST, WON, OutcomeStore

__all__ = [  # the report's vocabulary, importable from here as it always was
    "MIN_DAYS",
    "MIN_GROUP",
    "SCORE_BANDS",
    "Z95",
    "Figures",
    "HoldoutComparison",
    "OutcomeReport",
    "Period",
    "build_report",
    "compare_holdouts",
    "difference_ci",
    "expansions",
    "score_band",
    "wilson",
]


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
    money: MoneyNote

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "crm": self.crm,
            "money": {**asdict(self.money), "note": self.money.text},
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
                        "won_amount": x.won_amount,
                        "won_amounts": x.won_amounts,
                        "win_rate": x.win_rate,
                    }
                    for x in periods
                ]
                for p, periods in self.timeline.items()
            },
            "holdouts": [asdict(h) for h in self.holdouts],
        }


def _period_start(day: date, period: str) -> date:
    return day.replace(day=1) if period == "month" else day - timedelta(days=day.weekday())


def _timeline(
    rows: Sequence[Mapping[str, Any]], basis: MoneyBasis, note: MoneyNote
) -> tuple[str, dict[str, list[Period]]]:
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
    timeline: dict[str, dict[date, Period]] = defaultdict(lambda: {s: Period(start=s) for s in starts})
    for row in closed:
        slot = timeline[row["playbook"]][_period_start(row["closed_at"].date(), period)]
        if row["status"] == WON:
            slot.won += 1
            slot.add_won(row, basis)
        else:
            slot.lost += 1
    for slots in timeline.values():
        for slot in slots.values():
            slot.won_amount = slot.one_amount(note)
    return period, {p: list(slots.values()) for p, slots in sorted(timeline.items())}


def build_report(
    store: OutcomeStore,
    now: datetime,
    since: date | None = None,
    crm: str | None = None,
    kinds: Mapping[str, str] | None = None,
    money: MoneyBasis | None = None,
) -> OutcomeReport:
    """`kinds` (playbook id -> kind) names the kind of deals the ledger never scored (CRM history).
    `money`: the currency of rows recorded without one, and the user's conversion if any; raises
    `domain.money.MissingRate` naming a won deal's currency the rates do not cover."""
    basis = money or MoneyBasis()
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
    won_in = {basis.currency_of(r) for r in rows if r["status"] == WON}
    basis.check(won_in)
    note = money_note(basis, won_in)
    period, timeline = _timeline(rows, basis, note)
    total = Figures(group="all")
    for row in rows:
        total.add(row, basis)
    return OutcomeReport(
        generated_at=now,
        since=since,
        crm=crm,
        total=total.finish(note),
        by_playbook=split(rows, lambda r: r["playbook"], basis, note),
        by_kind=split(rows, lambda r: r["kind"], basis, note),
        by_stage=split(rows, lambda r: r["journey_stage"] or "unknown", basis, note),
        by_score_band=split(rows, lambda r: score_band(r["score"]), basis, note),
        period=period,
        timeline=timeline,
        holdouts=compare_holdouts(rows, held, expansions(store.states(crm)), now.date()),
        money=note,
    )
