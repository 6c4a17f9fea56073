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
