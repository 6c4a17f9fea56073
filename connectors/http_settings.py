"""The HTTP client settings Pipedrive and Zendesk Sell configure alike: timeouts, the retry budget
and its backoff. One definition, so the next CRM connector inherits the
same defaults and the same environment names (`<PREFIX>CONNECT_TIMEOUT`, `<PREFIX>MAX_ATTEMPTS`, ...)
instead of copying them a third time. HubSpot predates this and names its own (`timeout_seconds`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from connectors.http import backoff_seconds
from connectors.secret_files import SecretFilesSettings


class HttpClientSettings(SecretFilesSettings):
    """Base of a CRM's settings: what `connectors.http.ApiClient` and a writer's own retry need."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = Field(default=6, ge=1)
    backoff_base: float = Field(default=1.0, gt=0)
    backoff_max: float = Field(default=60.0, gt=0)

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments of `ApiClient` these settings decide."""
        return {
            "timeout": (self.connect_timeout, self.read_timeout),
            "max_attempts": self.max_attempts,
            "backoff_base": self.backoff_base,
            "backoff_max": self.backoff_max,
        }

    def backoff_seconds(self, attempt: int) -> float:
        """How long a writer waits before its `attempt`+1-th try: exponential, capped, half-jittered
        (the same curve `ApiClient` waits by when the CRM sends no Retry-After)."""
        return backoff_seconds(attempt, self.backoff_base, self.backoff_max)
