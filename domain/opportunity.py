"""What a pass produces and what it finds already in the CRM.

An `Opportunity` is keyed by `key`: account, playbook, offer and the offer's cycle (how many earlier
offers of the same kind were closed). The key is the same on every run while the need is open, which
is what lets every connector write it idempotently; after a loss and its cooldown, a new cycle gets
a new key so the old, lost deal is never reopened by an upsert.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from domain.explanation import Contribution
from domain.journey import JourneyStage


class OpportunityKind(str, Enum):
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"


class OpportunityStatus(str, Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


# The last line of every follow-up task body: how a connector finds, in the CRM, a task it wrote
# earlier for a key (for CRMs that offer no upsert or custom property on tasks).
TASK_MARKER = "oppworker-key:"


def task_marker(opportunity_key: str) -> str:
    return f"{TASK_MARKER} {opportunity_key}"


def opportunity_key(account_id: str, playbook: str, offer: str, cycle: int = 1) -> str:
    """The stable idempotency key; cycle 1 carries no suffix so keys read naturally."""
    base = f"{account_id}:{playbook}:{offer}"
    return base if cycle <= 1 else f"{base}:{cycle}"


def parse_key(key: str) -> tuple[str, str, str] | None:
    """(account_id, playbook, offer) from `<account>:<playbook>:<offer>[:<cycle>]`: the inverse of
    `opportunity_key`, kept beside it so a CRM reading its deals back splits keys the way they were
    built. None for a key this tool did not write."""
    parts = key.split(":")
    if len(parts) < 3 or not all(parts[:3]):
        return None
    rest = parts[2:]
    if len(rest) > 1 and rest[-1].isdigit():
        rest = rest[:-1]
    return parts[0], parts[1], ":".join(rest)


class Opportunity(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    key: str
    account_id: str
    account_name: str = ""
    kind: OpportunityKind
    playbook: str
    title: str
    offer: str
    estimated_amount: Decimal = Field(ge=0)
    currency: str = "USD"
    score: int = Field(ge=0, le=100)
    explanation: tuple[Contribution, ...]
    owner_id: str | None = None
    journey_stage: JourneyStage
    close_date: date


class FollowUpTask(BaseModel):
    """The CSM's to-do: why this account, why now, and what to say on the call."""

    model_config = ConfigDict(frozen=True)

    opportunity_key: str
    account_id: str
    subject: str
    body: str
    due_date: date
    priority: str = Field(pattern="^(LOW|MEDIUM|HIGH)$")
    owner_id: str | None = None
    # One conversation per account (issue #15): when a pass promotes several offers for one account,
    # the strongest offer's task lists the others and names their keys in `covers`; each of those
    # offers keeps its own deal but its task carries `lead_key` and is never written to a CRM.
    covers: tuple[str, ...] = ()
    lead_key: str | None = None

    @property
    def shared(self) -> bool:
        """Covered by the lead offer's task: the CRM gets no task of its own for this key."""
        return self.lead_key is not None


class ExistingOpportunity(BaseModel):
    """A deal we created earlier, as the CRM (or the outbox) now reports it."""

    model_config = ConfigDict(frozen=True)

    key: str
    account_id: str
    playbook: str
    offer: str
    status: OpportunityStatus
    created_at: datetime | None = None
    closed_at: datetime | None = None
    crm_id: str | None = None


class WriteResult(BaseModel):
    """What one write of one record came to. `created` is False when it already existed."""

    model_config = ConfigDict(frozen=True)

    key: str
    crm_id: str | None = None
    created: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.crm_id is not None
