"""Fixtures: a live Sell sandbox on loopback and connectors pointed at it.

Limits are tiny and sleeps are skipped so the whole module runs in seconds; pacing itself is
measured in bench/zendesk_sell.py, not asserted here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest

from connectors.ratelimit import NoLimit, RateLimiter
from connectors.zendesk_sell.connector import ZendeskSellConnector
from connectors.zendesk_sell.settings import ZendeskSellSettings
from tests.sandboxes.zendesk_sell import SellSandbox

TODAY = date(2026, 11, 25)


@pytest.fixture
def sandbox() -> Iterator[SellSandbox]:
    with SellSandbox() as sell:
        sell.add_user("Casey CSM", "casey@example.com")
        sell.add_user("Robin Rep", "robin@example.com")
        yield sell


ConnectorFactory = Callable[..., ZendeskSellConnector]


@pytest.fixture
def make_connector(sandbox: SellSandbox) -> Iterator[ConnectorFactory]:
    built: list[ZendeskSellConnector] = []

    def make(limiter: RateLimiter | None = None, **overrides: object) -> ZendeskSellConnector:
        values: dict[str, object] = {
            "access_token": sandbox.token,
            "base_url": sandbox.url,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            **overrides,
        }
        connector = ZendeskSellConnector(
            ZendeskSellSettings(**values), limiter=limiter or NoLimit(), today=lambda: TODAY
        )
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()
