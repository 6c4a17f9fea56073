"""Small builders for test accounts and usage, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain import Account, Series

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
TODAY = NOW.date()


def account(**fields: Any) -> Account:
    base: dict[str, Any] = {
        "id": "acc-1",
        "name": "Test Co",
        "owner_id": "70001",
        "plan": "Team",
        "plan_rank": 1,
        "products": "translate",
        "seats_purchased": 20,
        "seats_used": 15,
        "mrr": 600,
        "customer_since": TODAY - timedelta(days=400),
        "contract_end_date": TODAY + timedelta(days=200),
        "nps": 8,
        "csat": 4.5,
        "open_escalations": 0,
    }
    base.update(fields)
    return Account.model_validate(base)


def weekly(last_month: float, previous_month: float, weeks_back: int = 8, start: date = TODAY) -> Series:
    """Weekly points: four weeks summing to `last_month`, four before summing to `previous_month`."""
    points = []
    for week in range(1, weeks_back + 1):
        day = start - timedelta(days=7 * week)
        value = (last_month if week <= 4 else previous_month) / 4
        points.append((day, value))
    return Series.from_points(points)
