"""The one HTTP client every CRM connector uses: auth, timeouts, limiter, retries, error kinds.

Each CRM supplies `describe_error` (how its error bodies read), its `ErrorTable` (status -> action
and whose fault, connectors/error_table.py) and, where the body matters, a `refine` step (HubSpot's
daily-limit 429 must stop, not retry). Everything else is shared, so a retry policy fixed here is
fixed for every CRM. Tokens live in a `SecretStr` and reach only the `Authorization` header; no
message built here contains a header.

Retries happen here and only here: once `max_attempts` are spent on a retryable failure the client
raises `RetryBudgetExhausted`, which no caller retries (a task retry on top would multiply calls).
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connectors.connect_errors import connect_cause
from connectors.error_table import DEFAULT_TABLE, ErrorTable, ResponseAction
from connectors.http_errors import (
    DescribeError,
    Refine,
    default_describe,
    error_from,
)
from connectors.ratelimit import ChainedLimiter, NoLimit, RateBudget, RateLimiter
from domain import ConnectorError, FailureKind, RetryBudgetExhausted

log = logging.getLogger(__name__)

USER_AGENT = "opportunity-worker/0.1 (+https://github.com/opportunity-worker)"


@dataclass
class ClientStats:
    """What a client did, for run reports, metrics and benchmarks."""

    calls: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    limiter_wait_seconds: float = 0.0


def backoff_seconds(attempt: int, base: float, maximum: float = math.inf) -> float:
    """The wait before try `attempt` + 1 when the CRM sent no Retry-After: exponential from `base`,
    capped at `maximum`, half-jittered. The client's retries and each writer's own use this one curve."""
    ceiling = min(maximum, base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        limiter: RateLimiter | None = None,
        describe_error: DescribeError = default_describe,
        errors: ErrorTable = DEFAULT_TABLE,
        refine: Refine | None = None,
        correlation_label: str = "correlation id",
        timeout: tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_wait_seconds: float = 120.0,
        extra_headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.limiter = limiter or NoLimit()
        self._describe = describe_error
        self.errors = errors
        self._refine = refine
        self._correlation_label = correlation_label
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # A Retry-After longer than this (HubSpot's 477 may ask for hours) is not slept through in
        # the client: the error goes up as retryable, and the task layer schedules the retry.
        self.max_wait_seconds = max_wait_seconds
        self.stats = ClientStats()
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        )
        self._sleep = sleep
        self._reached = False  # has the host ever answered? (see _connect_failure)

    # -- what a connector may hand the worker (connectors.capabilities.CallsHttpApi) --------------
    def secrets(self) -> list[str]:
        """The values log lines must never contain."""
        token = self._token.get_secret_value()
        return [token] if token else []

    def rate_key(self) -> str:
        """A non-secret name for the account this token spends the budget of: a hash, never the token."""
        token = self._token.get_secret_value()
        return hashlib.sha256(token.encode()).hexdigest()[:16] if token else "default"

    def add_limiter(self, limiter: RateLimiter) -> None:
        """Acquire `limiter` after this client's own limiter on every call; adding it twice is a no-op."""
        current = self.limiter
        if current is limiter or (isinstance(current, ChainedLimiter) and limiter in current.limiters):
            return
        self.limiter = ChainedLimiter(current, limiter)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ConnectorError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.25)
        return backoff_seconds(state.attempt_number, self.backoff_base, self.backoff_max)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        limiter: RateLimiter | None = None,
        endpoint: str | None = None,
        retry_if: Callable[[ConnectorError], bool] | None = None,
        errors: ErrorTable | None = None,
    ) -> Any:
        """Send one logical request, retrying transient failures; return the decoded JSON body
        (None for an empty body, or for a status `errors` resolves to IGNORE). Raises
        `ConnectorError` with a failure kind, or `RetryBudgetExhausted` once every attempt failed
        with a retryable error.

        `retry_if` narrows which retryable errors are retried, for a call that is not idempotent:
        a create that timed out may have happened, so its caller checks before sending it again.
        `errors` replaces the client's table for this call (e.g. a 404 that means "absent")."""
        should_retry = retry_if or (lambda e: True)

        def retried(error: BaseException) -> bool:
            return (
                isinstance(error, ConnectorError)
                and error.retryable
                and should_retry(error)
                and (error.retry_after is None or error.retry_after <= self.max_wait_seconds)
            )

        retrying = Retrying(
            retry=retry_if_exception(retried),
            wait=self._wait,
            stop=stop_after_attempt(self.max_attempts),
            reraise=True,
            before_sleep=self._before_sleep,
            sleep=self._sleep or time.sleep,
        )
        table = errors or self.errors
        try:
            return retrying(self._once, method, path, params, json, limiter, endpoint or path, table)
        except ConnectorError as exc:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            if retried(exc) and attempts >= self.max_attempts:
                raise RetryBudgetExhausted(exc, attempts) from None
            raise

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info("retrying after %s (attempt %d)", error, state.attempt_number)

    def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        limiter: RateLimiter | None,
        endpoint: str,
        table: ErrorTable,
    ) -> Any:
        # The per-call limiter (e.g. HubSpot's search limit) first, the client-wide one last. A limiter
        # logs the moment it grants: granted first, the wide window would log a search call up to a
        # second before a search wait let it go, and the server, counting arrivals, would then see
        # more calls in its window than our log does (a 429 we caused).
        waited = limiter.acquire() if limiter is not None else 0.0
        waited += self.limiter.acquire()
        self.stats.limiter_wait_seconds += waited
        self.stats.calls += 1
        self.stats.by_endpoint[f"{method} {endpoint}"] += 1
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            response = self.session.request(
                method, self.base_url + path, params=params, json=body, headers=headers, timeout=self.timeout
            )
        except (requests.ConnectTimeout, requests.ConnectionError) as exc:
            raise self._connect_failure(exc, method, path) from None
        except requests.Timeout:
            raise ConnectorError(f"timeout calling {method} {path}", FailureKind.TRANSIENT) from None
        self._reached = True
        self.stats.by_status[response.status_code] += 1
        if response.status_code == 429:
            self.stats.rate_limited += 1
        if response.status_code >= 400:
            resolution = table.resolve(response.status_code)
            if resolution.action is ResponseAction.IGNORE:
                return None
            error = error_from(response, self._describe, resolution, self._correlation_label, self.secrets())
            raise self._refine(response, error) if self._refine else error
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"non-JSON body from {method} {path} (HTTP {response.status_code})", FailureKind.TRANSIENT
            ) from None

    def _connect_failure(self, exc: requests.RequestException, method: str, path: str) -> ConnectorError:
        """A host that has never answered this client (DNS, refused, connect timeout) is a wrong
        base URL, not a blip: CONFIG, so nobody retries it for minutes. Once it has answered, the
        same failure is TRANSIENT (a restart, a network hiccup) and is retried as before."""
        cause = connect_cause(exc)
        host = urlsplit(self.base_url).netloc or self.base_url
        if not self._reached and cause is not None:
            return ConnectorError(
                f"cannot reach {host} ({cause}): check the base URL in the configuration", FailureKind.CONFIG
            )
        return ConnectorError(
            f"connection error calling {method} {path} on {host}: {cause or type(exc).__name__}",
            FailureKind.TRANSIENT,
        )

    def close(self) -> None:
        self.session.close()


class ApiBacked:
    """Mixin for a connector whose every call goes through one `ApiClient`: it then implements
    `connectors.capabilities.CallsHttpApi` by naming that client (`_api_client`) and its budget."""

    def _api_client(self) -> ApiClient:
        raise NotImplementedError

    def rate_budget(self) -> RateBudget:
        raise NotImplementedError

    def http_stats(self) -> ClientStats:
        return self._api_client().stats

    def secrets(self) -> list[str]:
        return self._api_client().secrets()

    def rate_key(self) -> str:
        return self._api_client().rate_key()

    def add_limiter(self, limiter: RateLimiter) -> None:
        self._api_client().add_limiter(limiter)
