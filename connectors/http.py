"""The one HTTP client every CRM connector uses: auth, timeouts, limiter, retries, error kinds.

Each CRM supplies only `describe_error` (how its error bodies read) and, where needed, a `classify`
override (HubSpot's daily-limit 429 must stop, not retry). Everything else is shared, so a retry
policy fixed here is fixed for every CRM. Tokens live in a `SecretStr` and reach only the
`Authorization` header; no message built here contains a header.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any

import requests
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connectors.ratelimit import NoLimit, RateLimiter
from connectors.redact import masked_error
from domain import ConnectorError, FailureKind

log = logging.getLogger(__name__)

USER_AGENT = "opportunity-worker/0.1 (+https://github.com/opportunity-worker)"

# (message, correlation id) from an error response; the message must not echo request headers.
DescribeError = Callable[[requests.Response], tuple[str, str | None]]
Classify = Callable[[requests.Response, DescribeError], ConnectorError]


@dataclass
class ClientStats:
    """What a client did, for run reports, metrics and benchmarks."""

    calls: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    limiter_wait_seconds: float = 0.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def default_describe(response: requests.Response) -> tuple[str, str | None]:
    return (response.text[:300] or response.reason or "no body"), None


def classify_status(response: requests.Response, describe: DescribeError) -> ConnectorError:
    """The failure kind implied by a non-2xx status, before any CRM-specific refinement."""
    message, correlation = describe(response)
    status = response.status_code
    text = f"HTTP {status} from {response.request.method} {_path(response.url)}: {message}"
    if correlation:
        text += f" (correlation id {correlation})"
    if status == 429:
        kind = FailureKind.RATE_LIMITED
    elif status in (401, 403):
        kind = FailureKind.AUTH
    elif status == 423 or status >= 500:
        kind = FailureKind.TRANSIENT
    else:
        kind = FailureKind.PERMANENT
    return ConnectorError(
        text,
        kind,
        status=status,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        correlation_id=correlation,
    )


def _path(url: str) -> str:
    """The URL without its query string: query parameters can carry record data, never needed here."""
    return url.split("?", 1)[0]


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        limiter: RateLimiter | None = None,
        describe_error: DescribeError = default_describe,
        classify: Classify = classify_status,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        extra_headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.limiter = limiter or NoLimit()
        self._describe = describe_error
        self._classify = classify
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stats = ClientStats()
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        )
        self._sleep = sleep

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ConnectorError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.25)
        # Full jitter exponential backoff (AWS architecture blog's "full jitter").
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

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
    ) -> Any:
        """Send one logical request, retrying transient failures; return the decoded JSON body
        (None for an empty body). Raises `ConnectorError` with a failure kind.

        `retry_if` narrows which retryable errors are retried, for a call that is not idempotent:
        a create that timed out may have happened, so its caller checks before sending it again."""
        should_retry = retry_if or (lambda e: True)
        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, ConnectorError) and e.retryable and should_retry(e)
            ),
            wait=self._wait,
            stop=stop_after_attempt(self.max_attempts),
            reraise=True,
            before_sleep=self._before_sleep,
            **({"sleep": self._sleep} if self._sleep else {}),
        )
        return retrying(self._once, method, path, params, json, limiter, endpoint or path)

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
        except requests.Timeout:
            raise ConnectorError(f"timeout calling {method} {path}", FailureKind.TRANSIENT) from None
        except requests.ConnectionError as exc:
            raise ConnectorError(
                f"connection error calling {method} {path}: {type(exc).__name__}", FailureKind.TRANSIENT
            ) from None
        self.stats.by_status[response.status_code] += 1
        if response.status_code == 429:
            self.stats.rate_limited += 1
        if response.status_code >= 400:
            # Masked here, for every connector: an error body may echo the request, token included.
            raise masked_error(self._classify(response, self._describe), [self._token])
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"non-JSON body from {method} {path} (HTTP {response.status_code})", FailureKind.TRANSIENT
            ) from None

    def close(self) -> None:
        self.session.close()
