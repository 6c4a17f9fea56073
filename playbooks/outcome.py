"""What assessing an account concludes: per playbook an outcome (fired, held out, already open,
suppressed with its reason, or below the bar), and for the account its stage and signals.

Apart from `playbooks.assess` so that the vocabulary a pass reports in stays small to read; every
name here is also importable from `playbooks.assess`, where callers have always found it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain import Account, ExistingOpportunity, FollowUpTask, JourneyStage, Opportunity
from playbooks.engine import PlaybookScore
from playbooks.model import Playbook

if TYPE_CHECKING:
    from playbooks.intent_signals import Heard

NEW = "new"
ALREADY_OPEN = "already_open"
SUPPRESSED = "suppressed"
BELOW_THRESHOLD = "below_threshold"
AMOUNT_INVALID = "amount_invalid"  # a SUPPRESSED detail: the formula gave no finite amount here
VALUE_OUT_OF_RANGE = "value_out_of_range"  # a SUPPRESSED detail: an account value too large to price


@dataclass(slots=True)
class PlaybookOutcome:
    score: PlaybookScore
    status: str
    detail: str | None = None  # why suppressed, or which deal is already open
    opportunity: Opportunity | None = None
    task: FollowUpTask | None = None
    note: str | None = None  # the readable cause behind a fixed `detail` such as AMOUNT_INVALID

    @property
    def playbook(self) -> Playbook:
        return self.score.playbook

    @property
    def reason(self) -> str | None:
        """Why it did not fire; for scores below the bar, worded only when someone asks."""
        if self.status != BELOW_THRESHOLD:
            return self.detail
        if self.score.missing_required:
            return "required signal not met: " + ", ".join(self.score.missing_required)
        return f"score {self.score.score} below {self.playbook.threshold}"


@dataclass(slots=True)
class AccountAssessment:
    account: Account
    stage: JourneyStage
    stage_reason: str
    signals: dict[str, Any]
    outcomes: list[PlaybookOutcome] = field(default_factory=list)
    # Signals that could not be computed from this account's data (a non-finite or overflowing
    # value): each is scored as missing, and this says why.
    unusable_signals: dict[str, str] = field(default_factory=dict)
    heard: Heard | None = None  # what its recent conversations said (None: none were read)
    # Our open deals on the account by playbook, for `explain` to name the deal (key, CRM id, date
    # written) where an offer is already open; a pass leaves it empty (it decides by the history).
    open_deals: dict[str, ExistingOpportunity] = field(default_factory=dict)

    @property
    def new(self) -> list[PlaybookOutcome]:
        return [o for o in self.outcomes if o.status == NEW]
