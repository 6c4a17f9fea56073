"""Pipedrive's limits as client-side gates: token costs, the daily token budget, and the
`x-ratelimit-*` headers (pipedrive-api.md section 4 [RL][SPEC]).

- Every call has a token cost (v2: single GET 1, list 10, POST/PATCH 5, DELETE 3, search 20, archived
  deals 20; v1 costs double, `/v1/users/me` 2). The company's daily budget is 30,000 x plan multiplier
  x seats, shared with every other app, and once spent every call answers 429 until midnight. So we
  count what we spend and stop a pass *before* it would pass our share: the run ends with a clear
  error, the cursor is not advanced, and the next pass resumes.
- The burst limit is per rolling 2 s; we keep under it with a sliding window, and we also obey the
  server's own count: when `x-ratelimit-remaining` reaches 0 we wait `x-ratelimit-reset` seconds.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from connectors.ratelimit import RateLimiter, SlidingWindowLimiter
from domain import ConnectorError, FailureKind

_SINGLE = re.compile(r"/\d+$")


def token_cost(method: str, path: str) -> int:
    """The documented token cost of one call (x-token-cost of the OpenAPI specs)."""
    method = method.upper()
    if path.startswith("/api/v2/"):
        if method == "GET":
            if path.endswith("/search") or "/itemSearch" in path:
                return 20
            if path.endswith("/deals/archived"):
                return 20
            return 1 if _SINGLE.search(path) else 10
        return 3 if method == "DELETE" else 5
    if path in ("/v1/users/me", "/api/v1/users/me"):
        return 2
    if method == "GET":
        return 2 if _SINGLE.search(path) else 20
    return 6 if method == "DELETE" else 10


class DailyLimitReached(ConnectorError):
    """The day's token budget is spent (Pipedrive said so with a 429, or we would pass our share).
    Not retryable and not a refusal of any one record: the pass stops and the next one resumes."""


class BudgetExhausted(DailyLimitReached):
    """The next call would spend more of the daily token budget than this tool may use."""

    def __init__(self, spent: int, cost: int, allowed: int) -> None:
        super().__init__(
            f"Pipedrive daily token budget: {spent} of the {allowed} tokens this tool may spend today are used "
            f"and the next call costs {cost}; stopping the pass cleanly. It resumes after midnight (or raise "
            "PIPEDRIVE_BUDGET_SHARE / PIPEDRIVE_SEATS / PIPEDRIVE_PLAN if they are wrong).",
            FailureKind.PERMANENT,
        )
        self.spent, self.cost, self.allowed = spent, cost, allowed


class DailyTokenBudget:
    """Tokens spent today (UTC) against an allowance; thread-safe, one per token per process."""

    def __init__(self, allowed: int, today: Callable[[], date] | None = None) -> None:
        self.allowed = allowed
        self._today = today or (lambda: datetime.now(UTC).date())
        self._day = self._today()
        self.spent = 0
        self._lock = threading.Lock()

    def charge(self, cost: int) -> None:
        with self._lock:
            day = self._today()
            if day != self._day:
                self._day, self.spent = day, 0
            if self.spent + cost > self.allowed:
                raise BudgetExhausted(self.spent, cost, self.allowed)
            self.spent += cost

    @property
    def remaining(self) -> int:
        return max(self.allowed - self.spent, 0)


_BUDGETS: dict[tuple[str, str], DailyTokenBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(base_url: str, token: str, allowed: int) -> DailyTokenBudget:
    """One budget per company token in this process, so back-to-back passes share one day's count.
    Keyed by a hash: the token itself is never kept as a key."""
    key = (base_url, hashlib.sha256(token.encode()).hexdigest()[:16])
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None or budget.allowed != allowed:
            budget = _BUDGETS[key] = DailyTokenBudget(allowed)
        return budget


_WINDOWS: dict[tuple[str, str, str, int, float], SlidingWindowLimiter] = {}


def window_for(kind: str, base_url: str, token: str, max_calls: int, seconds: float) -> SlidingWindowLimiter:
    """One burst (or search) window per token in this process: the limit is per token, and a pass
    that starts right after another (a new connector each time) must not spend the same 2 s twice."""
    key = (kind, base_url, hashlib.sha256(token.encode()).hexdigest()[:16], max_calls, seconds)
    with _BUDGETS_LOCK:
        if key not in _WINDOWS:
            _WINDOWS[key] = SlidingWindowLimiter(max_calls, seconds)
        return _WINDOWS[key]


class ServerWindow:
    """What the last response's `x-ratelimit-*` headers said; a gate waits when none are left."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self._clock, self._sleep = clock, sleep
        self._blocked_until = 0.0
        self.limit: int | None = None
        self.remaining: int | None = None
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str]) -> None:
        get = headers.get
        remaining, reset, limit = (
            get("x-ratelimit-remaining"),
            get("x-ratelimit-reset"),
            get("x-ratelimit-limit"),
        )
        with self._lock:
            try:
                self.limit = int(limit) if limit is not None else self.limit
                if remaining is not None:
                    self.remaining = int(remaining)
                    if self.remaining <= 0 and reset is not None:
                        self._blocked_until = max(self._blocked_until, self._clock() + float(reset))
            except ValueError:
                return

    def wait(self) -> float:
        with self._lock:
            delay = self._blocked_until - self._clock()
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0


class CallGate:
    """The per-call limiter handed to `ApiClient.request`: the search window (for search calls), the
    server's window, then the budget charge. Each attempt, retries included, is charged: Pipedrive
    counts every request it receives."""

    def __init__(
        self,
        cost: int,
        budget: DailyTokenBudget,
        window: ServerWindow,
        search: RateLimiter | None,
        tally: Callable[[int], None] | None = None,
    ) -> None:
        self.cost, self.budget, self.window, self.search, self.tally = cost, budget, window, search, tally

    def acquire(self) -> float:
        waited = self.search.acquire() if self.search is not None else 0.0
        waited += self.window.wait()
        self.budget.charge(self.cost)
        if self.tally is not None:
            self.tally(self.cost)
        return waited
