"""A deal and its task survive the ledger payload (written when recorded, read when written or
planned) exactly, whatever numbers the explanation holds, without a serializer warning."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

from domain import Contribution, FollowUpTask, JourneyStage, Opportunity, OpportunityKind
from worker.pipeline.writeback import from_payload, payload_of


def test_a_payload_round_trips_int_float_and_text_observations_without_warnings() -> None:
    explanation = (
        Contribution("usage_30d.api_calls", 79940, ">=", 1000, 20, "79,940 API calls in 30 days"),
        Contribution("seat_utilisation", 0.95, ">=", 0.9, 30, "95% of seats in use"),
        Contribution("plan_name", "Team", "in", "Team, Business", 10, "on Team"),
        Contribution("nps", None, ">=", 9, 0, "no NPS answer"),
    )
    opportunity = Opportunity(
        key="acc-1:seat_expansion:seats",
        account_id="acc-1",
        kind=OpportunityKind.UPSELL,
        playbook="seat_expansion",
        title="Acme: 4 more seats",
        offer="seats",
        estimated_amount=Decimal("1440.00"),
        score=60,
        explanation=explanation,
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 30),
    )
    task = FollowUpTask(
        opportunity_key=opportunity.key,
        account_id="acc-1",
        subject="Seats",
        body="Call Acme",
        due_date=date(2026, 12, 3),
        priority="HIGH",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = payload_of(opportunity, task)
        again = from_payload(text)
        assert payload_of(*again) == text
    assert again == (opportunity, task)
    assert [type(c.observed) for c in again[0].explanation] == [int, float, str, type(None)]
