"""Failures: Pipedrive's error envelope, the status table, 429 with x-ratelimit headers, the daily
token budget (ours and the server's), and no token in any message."""

from __future__ import annotations

import logging
import time

import pytest

from connectors.base import ReadReport
from connectors.pipedrive.limits import BudgetExhausted, DailyTokenBudget, token_cost
from connectors.pipedrive.settings import PipedriveSettings
from domain import ConnectorError, FailureKind
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox, cost_of


def test_a_wrong_token_is_an_auth_error_that_names_the_setting_and_not_the_token(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make_connector(api_token="wrong-token-value-123")
    with pytest.raises(ConnectorError) as info:
        list(connector.read_owners())
    assert info.value.kind is FailureKind.AUTH and info.value.status == 401
    assert "PIPEDRIVE_API_TOKEN" in str(info.value) and "Invalid API token" in str(info.value)
    assert "wrong-token-value-123" not in str(info.value) + caplog.text


def test_the_token_travels_in_the_x_api_token_header_only(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    seen: list[dict[str, str]] = []
    sandbox.server.before.insert(0, lambda request: seen.append(request.headers) or None)
    list(make_connector().read_owners())
    assert seen[0]["x-api-token"] == sandbox.token and "authorization" not in seen[0]


def test_transient_errors_are_retried_and_permanent_ones_are_not(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    sandbox.add_fault("GET", "/v1/users", 503, times=2)
    assert len(list(make_connector().read_owners())) == 2
    sandbox.add_fault("GET", "/v1/users", 404)
    with pytest.raises(ConnectorError) as info:
        list(make_connector().read_owners())
    assert info.value.kind is FailureKind.PERMANENT and "Sandbox fault: injected 404" in str(info.value)


def test_a_burst_429_waits_the_reset_the_headers_give_and_succeeds(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    sandbox.burst_limit = 3
    sandbox.burst_window = 0.3
    sandbox.generate_accounts(3, seed=1)
    waits: list[float] = []
    connector = make_connector()
    # record the wait asked for, and sleep only the sandbox's (short) window
    connector.client.api._sleep = lambda s: (waits.append(s), time.sleep(0.3))
    records = list(connector.read_accounts(None, ReadReport()))
    assert len(records) == 3 and sandbox.rate_limited >= 1
    assert waits and all(w >= 1.0 for w in waits)  # x-ratelimit-reset (whole seconds) plus jitter


def test_a_pass_that_would_pass_the_daily_budget_stops_cleanly_and_resumes(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    sandbox.generate_accounts(30, seed=2)
    budget = DailyTokenBudget(45)  # users 20 + fields 10 + organizations 10 = 40; products would pass it
    connector = make_connector(page_limit=10, budget=budget)
    with pytest.raises(BudgetExhausted) as info:
        list(connector.read_owners())
        list(connector.read_accounts(None, ReadReport()))
    assert info.value.kind is FailureKind.PERMANENT and "resumes after midnight" in str(info.value)
    assert budget.spent <= 45 and sandbox.tokens_used == budget.spent
    assert connector.next_cursor() is None  # nothing stored: the next pass starts over
    budget.allowed = 10_000  # the next day
    assert len(list(make_connector(page_limit=10, budget=budget).read_accounts(None, ReadReport()))) == 30


def test_the_server_daily_limit_stops_instead_of_retrying(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    sandbox.daily_budget = 5
    with pytest.raises(ConnectorError) as info:
        list(make_connector().read_owners())
    assert info.value.status == 429 and info.value.kind is FailureKind.PERMANENT
    assert "daily token budget" in str(info.value)
    assert sandbox.calls.count(("GET", "/v1/users")) == 1


def test_our_cost_table_agrees_with_the_documented_one_in_the_sandbox() -> None:
    paths = [
        ("GET", "/api/v2/organizations"),
        ("GET", "/api/v2/deals/7"),
        ("POST", "/api/v2/deals"),
        ("GET", "/api/v2/deals/search"),
        ("GET", "/api/v2/deals/archived"),
        ("GET", "/v1/users/me"),
        ("GET", "/v1/users"),
        ("POST", "/v1/webhooks"),
        ("PATCH", "/api/v2/deals/7"),
        ("DELETE", "/api/v2/deals/7"),
    ]
    assert (
        [token_cost(m, p) for m, p in paths]
        == [cost_of(m, p) for m, p in paths]
        == [10, 1, 5, 20, 20, 2, 20, 10, 5, 3]
    )


def test_budget_and_burst_follow_plan_and_seats() -> None:
    settings = PipedriveSettings(api_token="t", company_domain="acme", plan="premium", seats=3)
    assert settings.token_budget == 30_000 * 5 * 3 and settings.burst == 100
    assert settings.api_base == "https://acme.pipedrive.com"
    with pytest.raises(ConnectorError, match="PIPEDRIVE_COMPANY_DOMAIN"):
        PipedriveSettings(api_token="t").api_base  # noqa: B018


def test_a_repeated_cursor_is_an_error_not_an_endless_loop(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    from tests.sandboxes.server import Response

    sandbox.server.before.insert(
        0,
        lambda request: (
            Response(
                200,
                {
                    "success": True,
                    "data": [{"id": 1, "name": "Same"}],
                    "additional_data": {"next_cursor": "again"},
                },
            )
            if request.path == "/api/v2/organizations"
            else None
        ),
    )
    with pytest.raises(ConnectorError, match="same next_cursor twice"):
        list(make_connector(max_attempts=1).read_accounts(None, ReadReport()))
