"""Contract: faults. A 429 is waited out (by Retry-After where the CRM sends it), a 5xx retried,
and a request that keeps failing gives up after the client's budget with `RetryBudgetExhausted`,
which nothing above retries. A refused token fails at once, never showing the token."""

from __future__ import annotations

import pytest

from connectors.base import ReadReport
from connectors.capabilities import CallsHttpApi
from domain import ConnectorError, FailureKind, RetryBudgetExhausted
from tests.contract.harnesses import MAX_ATTEMPTS, Harness


def test_429_is_waited_out_and_the_read_completes(harness: Harness) -> None:
    ids = harness.seed_accounts(3)
    harness.fail_next("read_accounts", 429, times=2, retry_after="7")
    connector = harness.build()
    sleeps = harness.sleeps(connector)
    assert [r.account.id for r in connector.read_accounts(None, ReadReport())] == ids
    assert isinstance(connector, CallsHttpApi)
    stats = connector.http_stats()
    assert stats.rate_limited == 2 and stats.retries == 2
    assert len(sleeps) == 2
    if harness.sends_retry_after:
        assert all(7 <= s <= 7.25 for s in sleeps), sleeps  # Retry-After honoured, plus jitter
    else:
        assert all(0 < s < 1 for s in sleeps), sleeps  # the configured backoff, not a guess of ours


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_and_the_read_completes(harness: Harness, status: int) -> None:
    ids = harness.seed_accounts(2)
    harness.fail_next("read_accounts", status, times=MAX_ATTEMPTS - 1)
    connector = harness.build()
    harness.sleeps(connector)
    assert [r.account.id for r in connector.read_accounts(None, ReadReport())] == ids
    assert (
        isinstance(connector, CallsHttpApi) and connector.http_stats().by_status[status] == MAX_ATTEMPTS - 1
    )


@pytest.mark.parametrize(("status", "kind"), [(503, FailureKind.TRANSIENT), (429, FailureKind.RATE_LIMITED)])
def test_a_request_that_keeps_failing_spends_the_budget_once(
    harness: Harness, status: int, kind: FailureKind
) -> None:
    harness.seed_accounts(2)
    harness.fail_next("read_accounts", status, times=100, retry_after="0")
    connector = harness.build()
    harness.sleeps(connector)
    with pytest.raises(RetryBudgetExhausted) as caught:
        list(connector.read_accounts(None, ReadReport()))
    error = caught.value
    assert error.kind is kind and error.status == status and error.attempts == MAX_ATTEMPTS
    assert not error.retryable  # the task layer must not retry it (worker/tasks.py `step`)
    assert isinstance(connector, CallsHttpApi) and connector.http_stats().by_status[status] == MAX_ATTEMPTS


def test_refused_token_fails_at_once_and_is_never_shown(harness: Harness) -> None:
    harness.seed_accounts(1)
    connector = harness.build(access_token="wrong-token-do-not-print")
    harness.sleeps(connector)
    with pytest.raises(ConnectorError) as caught:
        list(connector.read_accounts(None, ReadReport()))
    assert caught.value.kind is FailureKind.AUTH and caught.value.status == 401
    assert "wrong-token-do-not-print" not in str(caught.value)
    assert isinstance(connector, CallsHttpApi)
    stats = connector.http_stats()
    assert stats.retries == 0 and stats.by_status[401] == stats.calls  # no call was sent twice
    assert connector.secrets() == ["wrong-token-do-not-print"]  # what the worker masks in logs
    assert "wrong-token" not in connector.rate_key()
