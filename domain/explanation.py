"""Why a score is what it is: the explanation is data, rendered to text only at the edge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Contribution:
    """One signal's part in a score.

    `points` is what it added (0 when its condition did not hold, so a CSM also sees what was
    checked and missed). `observed` is None when the account had no data for the signal.
    """

    signal: str
    # int as well as float: a counter's 30-day sum of whole numbers stays an int, and a declared
    # `float | str` made pydantic warn on every deal it serialised (the value was kept as it is).
    observed: int | float | str | None
    operator: str
    threshold: int | float | str | None
    points: int
    reason: str

    @property
    def matched(self) -> bool:
        return self.points > 0

    def as_dict(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "observed": self.observed,
            "operator": self.operator,
            "threshold": self.threshold,
            "points": self.points,
            "reason": self.reason,
        }
