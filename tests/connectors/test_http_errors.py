"""The shared HTTP client's error handling: one table per CRM maps a status to (action, whose fault,
kind); retries happen in the client only, and a spent budget says so with `RetryBudgetExhausted`.
Real HTTP against a loopback server; sleeps are recorded, never slept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.error_table import (
    DEFAULT_TABLE,
    NOT_AN_ERROR,
    ErrorResolution,
    FailureType,
    ResponseAction,
)
from connectors.http import ApiClient
from connectors.hubspot.client import ERRORS as HUBSPOT
from connectors.ratelimit import ChainedLimiter, NoLimit
from connectors.zendesk_sell.client import ERRORS as SELL
from domain import ConnectorError, FailureKind, RetryBudgetExhausted
from tests.sandboxes.server import Request, Response, SandboxServer

TOKEN = "s3cret-token-value"


class Flaky:
    """Answers `status` (with `headers`) `failures` times, then 200."""

    def __init__(self, status: int, failures: int, headers: dict[str, str] | None = None) -> None:
        self.status, self.failures, self.headers, self.calls = status, failures, headers or {}, 0

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        if self.calls <= self.failures:
            # Echo the Authorization header back, as a careless proxy might: it must not reach a message.
            return Response(
                self.status, {"message": f"nope ({request.headers.get('authorization')})"}, self.headers
            )
        return Response(200, {"ok": True})


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


def client(server: SandboxServer, sleeps: list[float], **options: object) -> ApiClient:
    return ApiClient(server.url, SecretStr(TOKEN), sleep=sleeps.append, backoff_base=0.01, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("table", "status", "action", "fault", "kind"),
    [
        # HubSpot: https://developers.hubspot.com/docs/api-reference/error-handling (hubspot-api.md s3)
        (HUBSPOT, 400, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (HUBSPOT, 401, ResponseAction.FAIL, FailureType.CONFIG, FailureKind.AUTH),
        (HUBSPOT, 403, ResponseAction.FAIL, FailureType.CONFIG, FailureKind.AUTH),
        (HUBSPOT, 409, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (HUBSPOT, 414, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (HUBSPOT, 423, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
        (HUBSPOT, 429, ResponseAction.RATE_LIMITED, FailureType.TRANSIENT, FailureKind.RATE_LIMITED),
        (HUBSPOT, 477, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
        (HUBSPOT, 502, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
        (HUBSPOT, 521, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
        # Zendesk Sell: https://developer.zendesk.com/api-reference/sales-crm/errors/
        (SELL, 400, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (SELL, 401, ResponseAction.FAIL, FailureType.CONFIG, FailureKind.AUTH),
        (SELL, 403, ResponseAction.FAIL, FailureType.CONFIG, FailureKind.AUTH),
        (SELL, 410, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (SELL, 422, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),
        (SELL, 423, ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT),  # not a Sell status
        (SELL, 429, ResponseAction.RATE_LIMITED, FailureType.TRANSIENT, FailureKind.RATE_LIMITED),
        (SELL, 500, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
        (SELL, 503, ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT),
    ],
)
def test_each_crm_table_resolves_statuses_as_its_docs_say(
    table: object, status: int, action: ResponseAction, fault: FailureType, kind: FailureKind
) -> None:
    resolution = table.resolve(status)  # type: ignore[attr-defined]
    assert (resolution.action, resolution.failure_type, resolution.kind) == (action, fault, kind)


def test_a_resolution_whose_action_and_kind_disagree_is_refused() -> None:
    with pytest.raises(ValueError, match="retry cannot carry failure kind permanent"):
        ErrorResolution(ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.PERMANENT)
    with pytest.raises(ValueError, match="fail cannot carry failure kind transient"):
        ErrorResolution(ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.TRANSIENT)


def test_a_failing_request_is_retried_by_the_client_only_up_to_its_budget(server: SandboxServer) -> None:
    flaky = Flaky(503, failures=100)
    server.route("GET", r"/down")(flaky)
    sleeps: list[float] = []
    api = client(server, sleeps, max_attempts=4)
    with pytest.raises(RetryBudgetExhausted) as caught:
        api.request("GET", "/down")
    assert flaky.calls == 4 and len(sleeps) == 3 and api.stats.retries == 3
    error = caught.value
    assert error.kind is FailureKind.TRANSIENT and error.status == 503 and error.attempts == 4
    assert not error.retryable and "gave up after 4 attempts" in str(error)
    assert TOKEN not in str(error)


def test_a_request_that_recovers_within_the_budget_returns_its_body(server: SandboxServer) -> None:
    flaky = Flaky(502, failures=3)
    server.route("GET", r"/wobbly")(flaky)
    sleeps: list[float] = []
    assert client(server, sleeps, max_attempts=4).request("GET", "/wobbly") == {"ok": True}
    assert flaky.calls == 4 and len(sleeps) == 3


def test_429_waits_by_retry_after(server: SandboxServer) -> None:
    flaky = Flaky(429, failures=1, headers={"Retry-After": "3"})
    server.route("GET", r"/busy")(flaky)
    sleeps: list[float] = []
    api = client(server, sleeps)
    assert api.request("GET", "/busy") == {"ok": True}
    assert len(sleeps) == 1 and 3 <= sleeps[0] <= 3.25 and api.stats.rate_limited == 1


def test_a_retry_after_too_long_to_sleep_through_goes_up_for_the_task_to_schedule(
    server: SandboxServer,
) -> None:
    flaky = Flaky(477, failures=100, headers={"Retry-After": "3600"})  # HubSpot: migration in progress
    server.route("GET", r"/migrating")(flaky)
    sleeps: list[float] = []
    with pytest.raises(ConnectorError) as caught:
        client(server, sleeps, errors=HUBSPOT, max_wait_seconds=120).request("GET", "/migrating")
    assert flaky.calls == 1 and sleeps == []
    error = caught.value
    assert not isinstance(error, RetryBudgetExhausted) and error.retryable and error.retry_after == 3600


def test_an_error_a_narrowed_retry_skips_is_plain_and_retryable_by_the_caller(server: SandboxServer) -> None:
    """A create that may have happened is not resent blindly: the caller looks first, so the error
    it gets is not a spent budget (the caller's own look-then-resend is allowed)."""
    flaky = Flaky(504, failures=100)
    server.route("POST", r"/create")(flaky)
    with pytest.raises(ConnectorError) as caught:
        client(server, []).request("POST", "/create", json={}, retry_if=lambda e: e.status == 429)
    assert flaky.calls == 1 and not isinstance(caught.value, RetryBudgetExhausted) and caught.value.retryable


def test_client_errors_fail_at_once_with_the_tables_kind(server: SandboxServer) -> None:
    flaky = Flaky(401, failures=100)
    server.route("GET", r"/me")(flaky)
    with pytest.raises(ConnectorError) as caught:
        client(server, [], errors=HUBSPOT).request("GET", "/me")
    assert flaky.calls == 1 and caught.value.kind is FailureKind.AUTH
    assert TOKEN not in str(caught.value) and "Bearer ***" in str(caught.value)  # the echo is masked


def test_ignore_makes_a_status_an_answer_for_one_call(server: SandboxServer) -> None:
    server.route("GET", r"/missing")(lambda request: Response(404, {"message": "not found"}))
    api = client(server, [], errors=HUBSPOT)
    assert api.request("GET", "/missing", errors=HUBSPOT.but(404, NOT_AN_ERROR)) is None
    with pytest.raises(ConnectorError) as caught:
        api.request("GET", "/missing")  # the client's own table: a refusal
    assert (
        caught.value.kind is FailureKind.PERMANENT
        and DEFAULT_TABLE.resolve(404).kind is FailureKind.PERMANENT
    )


def test_a_shared_limiter_is_chained_once(server: SandboxServer) -> None:
    api = client(server, [])
    local, shared = api.limiter, NoLimit()
    api.add_limiter(shared)
    api.add_limiter(shared)
    assert isinstance(api.limiter, ChainedLimiter) and api.limiter.limiters == (local, shared)
    assert api.secrets() == [TOKEN] and TOKEN not in api.rate_key() and len(api.rate_key()) == 16
