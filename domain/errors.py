"""One error type for everything a connector can fail with, carrying a failure kind.

Callers decide retry or alert from `kind`, never from matching message text (the habit Airbyte's
CDK taught). Messages must never contain tokens or secrets; connectors build them from status codes,
CRM error codes and correlation ids only.
"""

from __future__ import annotations

from enum import Enum


class FailureKind(str, Enum):
    CONFIG = "config"  # wrong settings: fix config, do not retry
    AUTH = "auth"  # bad or under-scoped token: do not retry
    RATE_LIMITED = "rate_limited"  # retry after `retry_after` seconds
    TRANSIENT = "transient"  # 5xx, timeouts, resets: retry with backoff
    PERMANENT = "permanent"  # the CRM refused this input: do not retry


class ConnectorError(Exception):
    def __init__(
        self,
        message: str,
        kind: FailureKind,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.correlation_id = correlation_id

    @property
    def retryable(self) -> bool:
        return self.kind in (FailureKind.RATE_LIMITED, FailureKind.TRANSIENT)


class RetryBudgetExhausted(ConnectorError):
    """A retryable failure (rate limit, 5xx, timeout) that the HTTP client already retried as often
    as its budget allows. Its `kind` is the last failure's kind (so reports still say what failed),
    but no layer above may retry it again: a task retry on top of the client's own would multiply
    the attempts per request (8 task retries x 6 client attempts = 54 calls for one failing request).
    The next scheduled pass is the retry.
    """

    def __init__(self, last: ConnectorError, attempts: int) -> None:
        super().__init__(
            f"{last} (gave up after {attempts} attempts)",
            last.kind,
            status=last.status,
            retry_after=last.retry_after,
            correlation_id=last.correlation_id,
        )
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        """False: the budget is spent; a caller that retried would stack retries on retries."""
        return False
