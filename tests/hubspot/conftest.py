"""Fixtures: a live HubSpot sandbox on loopback and connectors pointed at it, with tiny limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.setup import run_setup
from domain import Contribution, FollowUpTask, JourneyStage, Opportunity, OpportunityKind
from tests.sandboxes.hubspot import HubSpotSandbox

TOKEN = "pat-na1-test-secret-token"


@pytest.fixture
def sandbox() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000) as box:
        yield box


def settings_for(box: HubSpotSandbox, **overrides: Any) -> HubSpotSettings:
    values: dict[str, Any] = {
        "access_token": TOKEN,
        "base_url": box.url,
        "burst_limit": 10_000,
        "burst_window_seconds": 1.0,
        "burst_margin_seconds": 0.0,
        "search_per_second": 10_000,
        "search_margin_seconds": 0.0,
        "rolling_wait_seconds": 0.05,
        "secondly_wait_seconds": 0.05,
        "backoff_base_seconds": 0.01,
        "max_attempts": 4,
        "timeout_seconds": 10,
    }
    values.update(overrides)
    return HubSpotSettings(**values)


def connector_for(box: HubSpotSandbox, **overrides: Any) -> HubSpotConnector:
    return HubSpotConnector(settings_for(box, **overrides))


def install(box: HubSpotSandbox) -> None:
    """What `oppworker hubspot setup` does, through the API (properties must end up in place)."""
    client = HubSpotClient(settings_for(box))
    try:
        report = run_setup(client)
        assert not report.problems and len(report.created) + len(report.found) == 6
    finally:
        client.close()


def seed_companies(box: HubSpotSandbox, n: int, modified_ms: int | None = None, **extra: Any) -> list[str]:
    ids = []
    for i in range(n):
        props = {
            "name": f"Company {i}",
            "hubspot_owner_id": "501",
            "plan": "Team",
            "products": "translate;api",
            "seats_purchased": "10",
            "seats_used": "9",
            "mrr": "1200",
            "active_users": "9",
            "words_translated": "1000",
            **extra,
        }
        ids.append(box.add_record("companies", props, modified_ms=modified_ms))
    return ids


def opportunity(company_id: str, offer: str = "analytics", owner: str | None = "501") -> Opportunity:
    return Opportunity(
        key=f"{company_id}:cross_sell:{offer}",
        account_id=company_id,
        account_name=f"Company {company_id}",
        kind=OpportunityKind.CROSS_SELL,
        playbook="cross_sell",
        title=f"Cross-sell {offer} to Company {company_id}",
        offer=offer,
        estimated_amount=Decimal("3000"),
        score=72,
        explanation=(Contribution("nps", 9, ">=", 8, 30, "NPS 9 is at least 8"),),
        owner_id=owner,
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 31),
    )


def task_for(o: Opportunity) -> FollowUpTask:
    return FollowUpTask(
        opportunity_key=o.key,
        account_id=o.account_id,
        subject=f"Talk to {o.account_name} about {o.offer}",
        body=f"Why: NPS 9.\n\noppworker-key: {o.key}",
        due_date=date(2026, 12, 1),
        priority="HIGH",
        owner_id=o.owner_id,
    )
