"""Rate limits and errors over real HTTP: 429 policies, Retry-After, 401/403 messages, retries."""

from __future__ import annotations

import pytest

from connectors.base import ReadReport
from domain import ConnectorError, FailureKind
from tests.hubspot.conftest import TOKEN, connector_for, install, opportunity, seed_companies
from tests.sandboxes.hubspot import HubSpotSandbox

LIST = r"/crm/objects/2026-03/companies$"


def rate_body(policy: str) -> dict:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c93e06a4-0000-4000-8000-000000000001",
        "policyName": policy,
        "groupName": "publicapi:private-app-api-calls:1",
    }


def recorded_sleeps(connector) -> list[float]:
    sleeps: list[float] = []
    connector.client.api._sleep = sleeps.append  # record instead of sleeping: no timing in tests
    return sleeps


@pytest.mark.parametrize(
    ("policy", "retry_after", "low", "high"),
    [
        ("TEN_SECONDLY_ROLLING", "2", 2.0, 2.25),  # Retry-After wins when present
        ("TEN_SECONDLY_ROLLING", None, 10.0, 10.25),  # else the rolling window's 10 s
        ("SECONDLY", None, 1.0, 1.25),  # the search limit's 1 s
    ],
)
def test_429_waits_by_retry_after_or_policy(
    sandbox: HubSpotSandbox, policy: str, retry_after: str | None, low: float, high: float
) -> None:
    seed_companies(sandbox, 3)
    sandbox.fault(
        "GET", LIST, 429, rate_body(policy), headers={"Retry-After": retry_after} if retry_after else {}
    )
    connector = connector_for(sandbox, rolling_wait_seconds=10, secondly_wait_seconds=1)
    sleeps = recorded_sleeps(connector)
    assert len(list(connector.read_accounts(None, ReadReport()))) == 3
    assert len(sleeps) == 1 and low <= sleeps[0] <= high
    assert connector.client.stats.rate_limited == 1


def test_daily_limit_stops_the_run_without_retrying(sandbox: HubSpotSandbox) -> None:
    seed_companies(sandbox, 3)
    sandbox.fault("GET", LIST, 429, rate_body("DAILY"), times=5)
    connector = connector_for(sandbox)
    with pytest.raises(ConnectorError) as caught:
        list(connector.read_accounts(None, ReadReport()))
    assert caught.value.kind is FailureKind.PERMANENT and "daily" in str(caught.value).lower()
    assert connector.client.stats.calls == 1


def test_rolling_limit_429s_from_the_sandbox_are_retried_until_done() -> None:
    with HubSpotSandbox(token=TOKEN, burst_limit=4, burst_window=0.3) as box:
        seed_companies(box, 10)
        connector = connector_for(box, page_size=1, rolling_wait_seconds=0.3)  # no client limit: we get 429s
        assert len(list(connector.read_accounts(None, ReadReport()))) == 10
        assert box.rate_limited >= 1 and connector.client.stats.rate_limited == box.rate_limited


def test_the_client_limiter_keeps_under_the_burst_limit() -> None:
    with HubSpotSandbox(token=TOKEN, burst_limit=4, burst_window=0.3) as box:
        seed_companies(box, 10)
        connector = connector_for(
            box, page_size=1, burst_limit=4, burst_window_seconds=0.3, burst_margin_seconds=0.05
        )
        assert len(list(connector.read_accounts(None, ReadReport()))) == 10
        assert box.rate_limited == 0


def test_401_is_not_retried_and_never_shows_the_token(sandbox: HubSpotSandbox) -> None:
    connector = connector_for(sandbox, access_token="pat-wrong-secret-value")
    with pytest.raises(ConnectorError) as caught:
        list(connector.read_owners())
    message = str(caught.value)
    assert caught.value.kind is FailureKind.AUTH and caught.value.status == 401
    assert "INVALID_AUTHENTICATION" in message and "correlation id" in message
    assert "pat-wrong-secret-value" not in message and TOKEN not in message
    assert "pat-wrong-secret-value" not in repr(connector.settings)
    assert connector.client.stats.calls == 1


def test_403_names_the_missing_scope() -> None:
    from tests.sandboxes.hubspot import ALL_SCOPES

    with HubSpotSandbox(token=TOKEN, scopes=ALL_SCOPES - {"crm.objects.deals.write"}) as box:
        install(box)
        [cid] = seed_companies(box, 1)
        with pytest.raises(ConnectorError) as caught:
            connector_for(box).write_deals([opportunity(cid)])
    assert caught.value.kind is FailureKind.AUTH and "crm.objects.deals.write" in str(caught.value)


def test_server_errors_are_retried_and_client_errors_are_not(sandbox: HubSpotSandbox) -> None:
    seed_companies(sandbox, 2)
    sandbox.fault("GET", LIST, 500, times=2)
    connector = connector_for(sandbox)
    assert len(list(connector.read_accounts(None, ReadReport()))) == 2
    assert connector.client.stats.retries == 2

    sandbox.fault(
        "GET",
        LIST,
        400,
        {"status": "error", "message": "bad", "category": "VALIDATION_ERROR", "correlationId": "abc-123"},
    )
    again = connector_for(sandbox)
    with pytest.raises(ConnectorError) as caught:
        list(again.read_accounts(None, ReadReport()))
    assert caught.value.kind is FailureKind.PERMANENT and "abc-123" in str(caught.value)
    assert again.client.stats.calls == 1


def test_search_limit_is_kept_separately_from_the_burst_limit() -> None:
    with HubSpotSandbox(token=TOKEN, search_limit=3, search_window=0.2) as box:
        seed_companies(box, 20, modified_ms=1_700_000_000_000)
        paced = connector_for(
            box,
            search_page_size=2,
            search_per_second=15,
            search_window_seconds=0.2,
            search_margin_seconds=0.02,
        )
        assert len(list(paced.read_accounts("2020-01-01T00:00:00Z", ReadReport()))) == 20
        assert box.rate_limited == 0  # ten searches, none refused

        unpaced = connector_for(box, search_page_size=2, secondly_wait_seconds=0.2)
        assert len(list(unpaced.read_accounts("2020-01-01T00:00:00Z", ReadReport()))) == 20
        assert box.rate_limited >= 1 and unpaced.client.stats.rate_limited == box.rate_limited
