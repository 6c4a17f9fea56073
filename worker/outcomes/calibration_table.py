"""How well P(win) and the score foretold what happened, per playbook, in a backtest: base rate,
lift, a calibration table (predicted vs observed per score band) and the Brier score.

Each flagged account counts once, at its first flag in the period: that is when a CSM would have
had the task. `predicted` is the chance a pass would have shown (playbooks/calibration.py, from the
ledger's closed deals); `observed` is whether the account expanded on or after that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from playbooks.calibration import brier
from worker.outcomes.report import SCORE_BANDS, score_band


@dataclass(frozen=True)
class Flag:
    score: int  # at the first flag
    predicted: float  # P(win) a pass would have shown then
    expanded: bool  # on or after that day, within the data


@dataclass(frozen=True)
class Band:
    band: str
    flagged: int
    predicted: float  # mean predicted chance
    observed: float  # share that expanded


def bands(flags: Sequence[Flag]) -> list[Band]:
    """Highest band first, only the bands that hold a flag."""
    out = []
    for _, label in SCORE_BANDS:
        inside = [f for f in flags if score_band(f.score) == label]
        if inside:
            n = len(inside)
            out.append(
                Band(label, n, sum(f.predicted for f in inside) / n, sum(f.expanded for f in inside) / n)
            )
    return out


@dataclass(frozen=True)
class Calibration:
    base_rate: float | None  # accounts that expanded in the period, over accounts replayed
    flags: tuple[Flag, ...]

    @property
    def precision(self) -> float | None:
        return sum(f.expanded for f in self.flags) / len(self.flags) if self.flags else None

    @property
    def lift(self) -> float | None:
        """How many times likelier a flagged account expanded than any account."""
        if self.precision is None or not self.base_rate:
            return None
        return self.precision / self.base_rate

    @property
    def brier(self) -> float | None:
        return brier((f.predicted, f.expanded) for f in self.flags)

    @property
    def bands(self) -> list[Band]:
        return bands(self.flags)

    def public(self) -> dict[str, Any]:
        return {
            "base_rate": self.base_rate,
            "lift": self.lift,
            "brier": self.brier,
            "calibration": [asdict(b) for b in self.bands],
        }
