"""HubSpot's daily budget, as HubSpot counts it: read from its headers, stopped short of zero.

Every counted response carries `X-HubSpot-RateLimit-Daily` and `X-HubSpot-RateLimit-Daily-Remaining`
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines; search responses
carry none, and journal endpoints are exempt from the daily limit). The daily limit is shared by every
app in the account, so running it to zero would also stop the account's other integrations until
midnight in the account's time zone. We stop a pass while `reserve` calls are still left: the pass
ends with `DailyBudgetExhausted`, nothing half-written (each batch either completed or was never
sent), and the next pass resumes where this one stopped (the read cursor was not advanced; writes
are keyed, so a re-planned write finds what exists).
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from domain import ConnectorError, FailureKind

DAILY = "X-HubSpot-RateLimit-Daily"
DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"


class DailyBudgetExhausted(ConnectorError):
    """The pass stopped before HubSpot's daily limit ran out. Not retryable within the day; the
    worker reports it like any non-retryable `ConnectorError`, and the next pass resumes."""

    resumable = True

    def __init__(self, remaining: int, reserve: int, daily: int | None) -> None:
        of = f" of {daily}" if daily is not None else ""
        super().__init__(
            f"HubSpot daily API budget nearly spent ({remaining}{of} calls left, reserve {reserve}); "
            "pass stopped cleanly and resumes on the next run after the daily reset",
            FailureKind.PERMANENT,
            status=None,
        )
        self.remaining = remaining
        self.reserve = reserve
        self.daily = daily


class DailyBudget:
    """The last daily figures HubSpot reported. `observe` is a requests response hook."""

    def __init__(self, reserve: int) -> None:
        self.reserve = reserve
        self.remaining: int | None = None
        self.daily: int | None = None
        self._lock = threading.Lock()

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        remaining = _int(response.headers.get(DAILY_REMAINING))
        if remaining is None:
            return
        with self._lock:
            # Responses of concurrent calls can arrive out of order: the budget only goes down.
            self.remaining = remaining if self.remaining is None else min(self.remaining, remaining)
            self.daily = _int(response.headers.get(DAILY)) or self.daily

    def check(self) -> None:
        """Raise before a counted call when what is left is within the reserve."""
        with self._lock:
            remaining = self.remaining
            if remaining is not None and remaining <= self.reserve:
                raise DailyBudgetExhausted(remaining, self.reserve, self.daily)
            if remaining is not None:
                self.remaining = remaining - 1  # this call spends one; the response corrects it


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
