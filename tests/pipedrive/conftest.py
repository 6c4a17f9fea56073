"""Fixtures: a live Pipedrive sandbox on loopback and connectors pointed at it.

Limiters are off and sleeps skipped so the module runs in seconds; the burst and search windows and
the token costs are measured by bench/pipedrive.py, not asserted against the clock here.
`pipedrive_harness` is the shape the shared contract suite (tests/contract/) takes: a sandbox, a
connector factory and the sandbox's deal/activity stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.limits import DailyTokenBudget
from connectors.pipedrive.settings import PipedriveSettings
from connectors.ratelimit import NoLimit, RateLimiter
from tests.sandboxes.pipedrive import PipedriveSandbox

TODAY = date(2026, 11, 25)

ConnectorFactory = Callable[..., PipedriveConnector]


@pytest.fixture
def sandbox() -> Iterator[PipedriveSandbox]:
    with PipedriveSandbox(burst_limit=100_000, search_limit=100_000) as pipedrive:
        pipedrive.add_user("Casey CSM", "casey@example.com", me=True)
        pipedrive.add_user("Robin Rep", "robin@example.com")
        yield pipedrive


def connector_factory(sandbox: PipedriveSandbox) -> tuple[ConnectorFactory, list[PipedriveConnector]]:
    built: list[PipedriveConnector] = []

    def make(
        limiter: RateLimiter | None = None, budget: DailyTokenBudget | None = None, **overrides: object
    ) -> PipedriveConnector:
        values: dict[str, object] = {
            "api_token": sandbox.token,
            "base_url": sandbox.url,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "incremental_overlap_seconds": 0,
            **overrides,
        }
        connector = PipedriveConnector(
            PipedriveSettings(**values),
            limiter=limiter or NoLimit(),
            search_limiter=NoLimit(),
            budget=budget or DailyTokenBudget(10_000_000),
            today=lambda: TODAY,
            sleep=lambda seconds: None,
        )
        built.append(connector)
        return connector

    return make, built


@pytest.fixture
def make_connector(sandbox: PipedriveSandbox) -> Iterator[ConnectorFactory]:
    make, built = connector_factory(sandbox)
    yield make
    for connector in built:
        connector.close()


@dataclass
class PipedriveHarness:
    """What a CRM-independent contract test needs: start/seed the sandbox, build a connector, and
    count what the CRM holds (deals by key, activities per deal)."""

    sandbox: PipedriveSandbox
    make_connector: ConnectorFactory
    crm: str = "pipedrive"

    def seed_accounts(self, n: int, seed: int = 11) -> list[int]:
        return self.sandbox.generate_accounts(n, seed=seed)

    def deal_keys(self) -> list[str]:
        code = self.sandbox.code("deal", "Opportunity key")
        return [
            d["custom_fields"].get(code) for d in self.sandbox.deals.values() if d["custom_fields"].get(code)
        ]

    def tasks_per_deal(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for activity in self.sandbox.activities.values():
            counts[activity["deal_id"]] = counts.get(activity["deal_id"], 0) + 1
        return counts


@pytest.fixture
def pipedrive_harness(sandbox: PipedriveSandbox, make_connector: ConnectorFactory) -> PipedriveHarness:
    return PipedriveHarness(sandbox, make_connector)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
