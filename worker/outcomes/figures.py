"""One row of the outcome report's tables (`Figures`) and one period of its chart (`Period`).

Won amounts are kept per currency as recorded (`won_amounts`); `won_amount` is one number only
when it means one currency: every deal in the same one, or converted at the user's rates
(worker/outcomes/money.py). Otherwise it is None and outputs show the per-currency totals.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from worker.outcomes.money import MoneyBasis, MoneyNote
from worker.store.outcomes import DELETED, LOST, OPEN, WON

SCORE_BANDS = ((90, "90-100"), (80, "80-89"), (70, "70-79"), (60, "60-69"), (0, "0-59"))


def score_band(score: int | None) -> str:
    if score is None:
        return "unknown"
    return next(label for floor, label in SCORE_BANDS if score >= floor)


@dataclass
class WonMoney:
    """Won amounts per recorded currency, and their sum in the report currency when converting."""

    won_amounts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _converted: float = field(default=0.0, repr=False)

    def add_won(self, row: Mapping[str, Any], basis: MoneyBasis) -> None:
        amount, currency = row["amount"] or 0.0, basis.currency_of(row)
        self.won_amounts[currency] += amount
        if basis.report_currency is not None:
            self._converted += basis.converted(amount, currency)

    def one_amount(self, note: MoneyNote) -> float | None:
        self.won_amounts = {c: round(v, 2) for c, v in sorted(self.won_amounts.items())}
        if note.converted:
            return round(self._converted, 2)
        if note.amounts_in is not None:
            return self.won_amounts.get(note.amounts_in, 0.0)
        return None


@dataclass
class Figures(WonMoney):
    group: str = ""
    created: int = 0
    tasks_completed: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    deleted: int = 0
    won_amount: float | None = 0.0  # in MoneyNote.amounts_in; None when amounts are per currency
    win_rate: float | None = None  # won / (won + lost); None before anything closed
    median_days_to_close: float | None = None
    _days: list[float] = field(default_factory=list, repr=False)

    def add(self, row: Mapping[str, Any], basis: MoneyBasis) -> None:
        self.created += 1
        self.tasks_completed += bool(row["task_completed"])
        status = row["status"]
        if status == WON:
            self.won += 1
            self.add_won(row, basis)
        elif status == LOST:
            self.lost += 1
        elif status == OPEN:
            self.open += 1
        elif status == DELETED:
            self.deleted += 1
        if status in (WON, LOST) and row["closed_at"] and row["created_at"]:
            self._days.append((row["closed_at"] - row["created_at"]).total_seconds() / 86400)

    def finish(self, note: MoneyNote) -> Figures:
        closed = self.won + self.lost
        self.win_rate = self.won / closed if closed else None
        self.median_days_to_close = round(statistics.median(self._days), 1) if self._days else None
        self.won_amount = self.one_amount(note)
        return self

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class Period(WonMoney):
    start: date = date.min
    won: int = 0
    lost: int = 0
    won_amount: float | None = 0.0  # as Figures.won_amount

    @property
    def win_rate(self) -> float | None:
        return self.won / (self.won + self.lost) if self.won + self.lost else None


def split(rows: Iterable[Mapping[str, Any]], key: Any, basis: MoneyBasis, note: MoneyNote) -> list[Figures]:
    groups: dict[str, Figures] = {}
    for row in rows:
        name = key(row)
        groups.setdefault(name, Figures(group=name)).add(row, basis)
    return [groups[name].finish(note) for name in sorted(groups)]
