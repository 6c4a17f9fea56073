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
    observed: float | str | None
    operator: str
    threshold: float | str | None
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
