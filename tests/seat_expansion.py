"""One seat-expansion opportunity (and its follow-up task) as the Pipedrive and Zendesk Sell tests
write it: the same domain objects go to both CRMs, only the wire format differs, so the objects are
built here once and each CRM's tests assert its own bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain import FollowUpTask, JourneyStage, Opportunity, OpportunityKind


def seat_opportunity(account_id: str, *, amount: str, score: int, owner_id: str | None) -> Opportunity:
    """For the mapping tests: an amount with more than two decimals shows the rounding."""
    return Opportunity(
        key=f"{account_id}:seat_expansion:seats",
        account_id=account_id,
        kind=OpportunityKind.UPSELL,
        playbook="seat_expansion",
        title="Seat expansion",
        offer="seats",
        estimated_amount=Decimal(amount),
        currency="EUR",
        score=score,
        explanation=(),
        owner_id=owner_id,
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 31),
    )


def pair(
    account_id: int, offer: str = "seats", owner_id: int | None = None
) -> tuple[Opportunity, FollowUpTask]:
    """For the writing tests: an opportunity on a sandbox organization and its task, marker last."""
    key = f"{account_id}:seat_expansion:{offer}"
    opportunity = Opportunity(
        key=key,
        account_id=str(account_id),
        account_name="Acme",
        kind=OpportunityKind.UPSELL,
        playbook="seat_expansion",
        title=f"Seat expansion ({offer})",
        offer=offer,
        estimated_amount=Decimal("4320.00"),
        score=72,
        explanation=(),
        owner_id=None if owner_id is None else str(owner_id),
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 31),
    )
    task = FollowUpTask(
        opportunity_key=key,
        account_id=str(account_id),
        subject="Seat expansion: Acme is out of seats",
        body=f"Why now:\n+45 seats 95% used\n\noppworker-key: {key}",
        due_date=date(2026, 11, 28),
        priority="HIGH",
        owner_id=None if owner_id is None else str(owner_id),
    )
    return opportunity, task
