"""Calls one persistently failing request costs, HTTP client retries and task retries together.

A CRM answers every companies/contacts listing with 503. The script reads accounts the way a task
does and, after each failure, asks the task policy's question: is this error retryable? If yes, the
task would run again (up to `ServiceSettings.max_retries` times), so the script does too. It prints
the HTTP calls the sandbox received per CRM. Before the retry budget (issue #10 item 4) every
exhausted client error was retryable: 6 client attempts x (1 + 8 task retries) = 54 calls.

    .venv/bin/python bench/retries.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.base import ReadReport
from domain import ConnectorError
from worker.service.settings import ServiceSettings


def failing_request_calls(
    build: Callable[[], Any], fail: Callable[[], None], calls: Callable[[], int]
) -> tuple[int, int]:
    """(task attempts, HTTP calls) until the task policy stops retrying."""
    fail()
    attempts = 0
    for attempts in range(1, ServiceSettings().max_retries + 2):  # noqa: B007 - the count is the answer
        connector = build()
        connector.client.api._sleep = lambda seconds: None  # count calls, do not wait
        try:
            list(connector.read_accounts(None, ReadReport()))
        except ConnectorError as exc:
            if not exc.retryable:
                break
        finally:
            connector.close()
    return attempts, calls()


def hubspot() -> tuple[int, int]:
    from connectors.hubspot.connector import HubSpotConnector
    from connectors.hubspot.settings import HubSpotSettings
    from tests.sandboxes.hubspot import HubSpotSandbox

    box = HubSpotSandbox(token="t", burst_limit=10_000, burst_window=1.0, search_limit=10_000).start()
    try:
        box.add_record("companies", {"name": "Acme"})
        return failing_request_calls(
            lambda: HubSpotConnector(HubSpotSettings(access_token="t", base_url=box.url)),
            lambda: box.fault("GET", r"^/crm/v3/objects/companies$", 503, times=10_000),
            lambda: box.calls_by_route.get("/crm/v3/objects/(?P<type>[^/]+)", 0) + _faulted(box),
        )
    finally:
        box.stop()


def _faulted(box: Any) -> int:
    """Faults answer before routing, so their calls are counted from the faults themselves."""
    return sum(10_000 - f.times for f in box.faults)


def zendesk_sell() -> tuple[int, int]:
    from connectors.ratelimit import NoLimit
    from connectors.zendesk_sell.connector import ZendeskSellConnector
    from connectors.zendesk_sell.settings import ZendeskSellSettings
    from tests.sandboxes.zendesk_sell import SellSandbox

    sell = SellSandbox(firehose=False).start()
    try:
        sell.add_organization("Acme")
        fault = sell.add_fault("GET", "/v2/contacts", 503, times=10_000)
        return failing_request_calls(
            lambda: ZendeskSellConnector(
                ZendeskSellSettings(access_token=sell.token, base_url=sell.url), limiter=NoLimit()
            ),
            lambda: None,
            lambda: fault.hits,
        )
    finally:
        sell.stop()


if __name__ == "__main__":
    print(f"{'CRM':<14}{'task attempts':>15}{'HTTP calls':>12}")
    for name, run in (("hubspot", hubspot), ("zendesk-sell", zendesk_sell)):
        attempts, calls = run()
        print(f"{name:<14}{attempts:>15}{calls:>12}")
