"""P(win | playbook, score, stage), calibrated from our own closed deals, with a prior that rules
while a playbook has few of them. Pure: the counts are handed in (worker/store/win_rates.py
reads them from the ledger), so ranking, the task text and the backtest share one model.

How the probability is built, per playbook:

1. **Prior.** A beta prior worth `PRIOR_STRENGTH` closed deals, centred on `DEFAULT_WIN_RATE`,
   tilted by score (from 0.75x the default at score 0 to 1.25x at 100) so that with no outcomes
   at all a higher score still ranks higher at an equal amount.
2. **Score fit.** An isotonic (pool-adjacent-violators) fit of won over closed on the score: the
   best non-decreasing step function, so a higher score never reads as a lower chance.
3. **Shrinkage.** The two are averaged with weights `PRIOR_STRENGTH` and n, the playbook's closed
   deals: with 5 outcomes the prior has 80% of the say, with 180 it has 10%. Both curves are
   non-decreasing, so the blend is too.
4. **Stage.** A journey stage's own rate, shrunk towards the playbook's by the same strength,
   scales the result (a stage with no outcomes scales it by 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DEFAULT_WIN_RATE = 0.2  # a playbook with no closed deals: about 1 in 5 of its offers close
PRIOR_STRENGTH = 20.0  # the prior counts as this many closed deals
SCORE_TILT = 0.5  # the prior spans (1 - tilt/2) to (1 + tilt/2) times the default over scores 0..100
LOWEST, HIGHEST = 0.001, 0.999  # never certain either way


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    """Closed deals of one playbook at one score and stage: how many, and how many were won."""

    playbook: str
    score: int
    stage: str | None
    won: int
    closed: int


def prior_rate(score: float, default: float = DEFAULT_WIN_RATE) -> float:
    return default * (1 - SCORE_TILT / 2 + SCORE_TILT * max(0.0, min(score, 100.0)) / 100)


def isotonic(points: Sequence[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Pool-adjacent-violators: `points` are (x, rate, weight) sorted by x; returns blocks
    (first x, rate, weight) whose rates never decrease, each the weighted mean of its points."""
    blocks: list[list[float]] = []  # [first x, weighted sum, weight]
    for x, rate, weight in points:
        if weight <= 0:
            continue
        blocks.append([x, rate * weight, weight])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] > blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1][1] += last[1]
            blocks[-1][2] += last[2]
    return [(x, total / weight, weight) for x, total, weight in blocks]


def step_value(blocks: Sequence[tuple[float, float, float]], x: float) -> float:
    """The isotonic step function at x: the rate of the last block starting at or below x (the
    first block's below all of them)."""
    value = blocks[0][1]
    for start, rate, _ in blocks:
        if start > x:
            break
        value = rate
    return value


@dataclass
class PlaybookCurve:
    """One playbook's P(win) for every integer score 0..100, and its stage factors."""

    closed: int
    won: int
    by_score: list[float]
    stage_factor: dict[str, float] = field(default_factory=dict)


def fit_curve(counts: Iterable[OutcomeCount], default: float = DEFAULT_WIN_RATE) -> PlaybookCurve:
    per_score: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    per_stage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in counts:
        per_score[c.score][0] += c.won
        per_score[c.score][1] += c.closed
        if c.stage:
            per_stage[c.stage][0] += c.won
            per_stage[c.stage][1] += c.closed
    won = sum(w for w, _ in per_score.values())
    closed = sum(n for _, n in per_score.values())
    prior = [prior_rate(s, default) for s in range(101)]
    if closed == 0:
        return PlaybookCurve(0, 0, prior)
    blocks = isotonic([(s, w / n, n) for s, (w, n) in sorted(per_score.items()) if n])
    weight = closed / (closed + PRIOR_STRENGTH)
    by_score = [(1 - weight) * p + weight * step_value(blocks, s) for s, p in enumerate(prior)]
    curve = PlaybookCurve(closed, won, by_score)
    overall = won / closed
    for stage, (stage_won, stage_closed) in per_stage.items():
        # the stage's rate shrunk towards the playbook's observed one, relative to that one
        shrunk = (stage_won + PRIOR_STRENGTH * overall) / (stage_closed + PRIOR_STRENGTH)
        curve.stage_factor[stage] = shrunk / overall if overall else 1.0
    return curve


class WinChances:
    """P(win | playbook, score, stage) for a pass: built once from the ledger's counts, then a
    list lookup per opportunity (ranking reads it for every candidate)."""

    def __init__(self, counts: Iterable[OutcomeCount] = (), default: float = DEFAULT_WIN_RATE) -> None:
        self.counts = list(counts)  # kept as handed in: the service ships them to its workers
        grouped: dict[str, list[OutcomeCount]] = defaultdict(list)
        for c in self.counts:
            grouped[c.playbook].append(c)
        self.default = default
        self.curves = {playbook: fit_curve(rows, default) for playbook, rows in grouped.items()}
        self._prior = [prior_rate(s, default) for s in range(101)]

    def probability(self, playbook: str, score: int, stage: object = None) -> float:
        """`stage`: a journey stage, as its value or the enum (whose hash is not its value's)."""
        s = max(0, min(int(score), 100))
        curve = self.curves.get(playbook)
        if curve is None:
            return self._prior[s]
        factor = curve.stage_factor.get(str(getattr(stage, "value", stage)), 1.0) if stage else 1.0
        p = curve.by_score[s] * factor
        return max(LOWEST, min(p, HIGHEST))

    def closed(self, playbook: str) -> int:
        curve = self.curves.get(playbook)
        return curve.closed if curve else 0


def chance_phrase(p: float) -> str:
    """The probability as a CSM reads it: "about 1 in 3 of these close", never a false decimal."""
    if p < 0.01:
        return "fewer than 1 in 100 of these close"
    if p < 0.5:
        return f"about 1 in {round(1 / p)} of these close"
    tenths = min(9, round(p * 10))
    return "about 1 in 2 of these close" if tenths == 5 else f"about {tenths} in 10 of these close"


def brier(pairs: Iterable[tuple[float, bool]]) -> float | None:
    """Mean squared gap between predicted chance and outcome (0 is perfect; always saying 50% scores
    0.25)."""
    total = n = 0.0
    for p, happened in pairs:
        total += (p - (1.0 if happened else 0.0)) ** 2
        n += 1
    return total / n if n else None
