"""Rules that hold for every playbook, whatever its score: they protect the customer relationship.

Never sell to an unhappy customer, never before value, never twice for the same need, never too
often. Each check returns the reason it blocked (counted and shown), or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import Account, ExistingOpportunity, JourneyStage, OpportunityStatus
from playbooks.model import Playbook

BLOCKED_STAGES = {
    JourneyStage.AT_RISK: "at_risk",
    JourneyStage.ONBOARDING: "onboarding",
}


@dataclass(frozen=True, slots=True)
class GuardrailPolicy:
    max_new_offers_per_30_days: int = 2


@dataclass(slots=True)
class AccountHistory:
    """Our earlier opportunities for one account, as the CRM and the ledger know them."""

    opportunities: list[ExistingOpportunity] = field(default_factory=list)

    def open_for(self, playbook: str) -> ExistingOpportunity | None:
        return next(
            (o for o in self.opportunities if o.playbook == playbook and o.status is OpportunityStatus.OPEN),
            None,
        )

    def open_offer(self, offer: str) -> ExistingOpportunity | None:
        """An open deal for the same thing, from whichever playbook: one open offer per need."""
        return next(
            (o for o in self.opportunities if o.offer == offer and o.status is OpportunityStatus.OPEN), None
        )

    def last_closed(self, playbook: str) -> ExistingOpportunity | None:
        closed = [
            o for o in self.opportunities if o.playbook == playbook and o.status is not OpportunityStatus.OPEN
        ]
        return max(closed, key=lambda o: o.closed_at or o.created_at or datetime.min, default=None)

    def closed_count(self, playbook: str, offer: str) -> int:
        return sum(
            1
            for o in self.opportunities
            if o.playbook == playbook and o.offer == offer and o.status is not OpportunityStatus.OPEN
        )

    def created_since(self, since: datetime) -> int:
        return sum(1 for o in self.opportunities if o.created_at is not None and o.created_at >= since)


def stage_block(playbook: Playbook, stage: JourneyStage, account: Account) -> str | None:
    """Stage and health gates: the customer must be happy and past onboarding, in a stage the
    playbook is meant for."""
    if stage in BLOCKED_STAGES:
        return BLOCKED_STAGES[stage]
    if account.open_escalations > 0:
        return "open_escalation"
    if stage in playbook.suppressed_stages:
        return "stage_suppressed"
    if stage not in playbook.eligible_stages:
        return "stage_not_eligible"
    return None


def already_owned(account: Account, offer_code: str, plan_name: str | None = None) -> bool:
    if offer_code in account.products:
        return True
    if offer_code.startswith("plan:") and plan_name is not None:
        return offer_code[5:].lower() == plan_name.lower()
    return False


def cooldown_block(playbook: Playbook, history: AccountHistory, now: datetime) -> str | None:
    """After one of this playbook's deals closed (won or lost), wait its cooldown before the next."""
    last = history.last_closed(playbook.id)
    if last is None or playbook.cooldown_days == 0:
        return None
    closed = last.closed_at or last.created_at
    if closed is not None and now - closed < timedelta(days=playbook.cooldown_days):
        return "cooldown"
    return None
