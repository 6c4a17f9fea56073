"""Client-side rate limiters: keep a connector under its CRM's limit so it almost never sees a 429.

`RateLimiter` is the tiny interface the HTTP client calls before every request. Two local kinds:
- `SlidingWindowLimiter`: at most N calls in any rolling window (HubSpot's "100 per 10 seconds").
  An exact log of call times, so a burst at a window's edge cannot double the rate.
- `PacedLimiter`: calls spaced evenly (Zendesk Sell's hourly budget, spent evenly, never in bursts).
The worker puts a Redis-backed limiter with the same interface behind these (`ChainedLimiter`), so
many processes share one budget. `RateBudget` is a CRM's documented limit, declared once in that
CRM's settings module; the local limiter and the worker's shared one are both built from it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateBudget:
    """At most `max_calls` in any rolling `window_seconds`: one CRM's budget per token or portal.
    `source` is the documentation page the figure comes from."""

    max_calls: int
    window_seconds: float
    source: str = ""

    def __post_init__(self) -> None:
        if self.max_calls < 1 or self.window_seconds <= 0:
            raise ValueError("a rate budget needs max_calls >= 1 and window_seconds > 0")


class RateLimiter(Protocol):
    def acquire(self) -> float:
        """Block until one call may be made; return the seconds waited."""
        ...


class NoLimit:
    def acquire(self) -> float:
        return 0.0


class SlidingWindowLimiter:
    def __init__(
        self,
        max_calls: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or window_seconds <= 0:
            raise ValueError("max_calls must be >= 1 and window_seconds > 0")
        self.max_calls = max_calls
        self.window = window_seconds
        self._clock, self._sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self.window:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return waited
                delay = self.window - (now - self._calls[0])
            self._sleep(delay)
            waited += delay


class PacedLimiter:
    """One call every `1/rate` seconds, with no burst allowance."""

    def __init__(
        self,
        calls_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be > 0")
        self.interval = 1.0 / calls_per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


class ChainedLimiter:
    """Acquire several limiters in order (the connector's local limits, then the shared budget)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def acquire(self) -> float:
        return sum(limiter.acquire() for limiter in self.limiters)
