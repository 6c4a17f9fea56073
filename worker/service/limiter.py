"""A rate limiter shared by every worker process: one CRM budget, kept in Redis.

Ten workers each running their own `SlidingWindowLimiter` would together send ten times a
portal's limit. This limiter keeps the sliding-window log (a sorted set of grant times) in Redis
and decides in one Lua script, so the check-and-record is atomic across processes, and it uses
Redis's own clock (`TIME`), so workers on hosts with skewed clocks still agree on the window.
It implements `connectors.ratelimit.RateLimiter` and plugs into `ApiClient(limiter=...)`.

No library fits this exactly (a blocking sliding-window *log* with a server clock); the script is
short and is tested under contention from several processes (tests/worker/test_shared_limiter.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from connectors.capabilities import CallsHttpApi
from connectors.ratelimit import ChainedLimiter, RateLimiter

__all__ = ["ChainedLimiter", "RedisSlidingWindowLimiter", "attach"]

# KEYS[1] = the window's sorted set; ARGV = max_calls, window in microseconds, member id.
# Returns {granted (1/0), wait_microseconds, now_microseconds}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_calls = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < max_calls then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, 0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return {0, wait, now}
"""


class RedisSlidingWindowLimiter:
    """At most `max_calls` grants in any rolling `window_seconds`, across all processes using `key`."""

    def __init__(
        self,
        redis_client: Any,
        key: str,
        max_calls: int,
        window_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        if max_calls < 1 or window_seconds <= 0:
            raise ValueError("max_calls must be >= 1 and window_seconds > 0")
        self.redis = redis_client
        self.key = key
        self.max_calls = max_calls
        self.window_us = int(window_seconds * 1_000_000)
        self._script = redis_client.register_script(_SCRIPT)
        self._sleep = sleep
        self._on_wait = on_wait
        self.last_grant_us: int | None = None  # Redis time of the last grant (tests, diagnostics)

    def acquire(self) -> float:
        waited = 0.0
        member = uuid.uuid4().hex
        while True:
            granted, wait_us, now_us = self._script(
                keys=[self.key], args=[self.max_calls, self.window_us, member]
            )
            if int(granted):
                self.last_grant_us = int(now_us)
                if waited and self._on_wait:
                    self._on_wait(waited)
                return waited
            delay = int(wait_us) / 1_000_000
            self._sleep(delay)
            waited += delay


def attach(connector: object, limiter: RateLimiter) -> bool:
    """Put `limiter` in front of a built connector's HTTP calls; True if it makes HTTP calls
    (`connectors.capabilities.CallsHttpApi`). Attaching the same limiter twice does not stack."""
    if not isinstance(connector, CallsHttpApi):
        return False
    connector.add_limiter(limiter)
    return True
