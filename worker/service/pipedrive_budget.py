"""Pipedrive's daily token budget shared by every worker process, in Redis.

The connector counts the tokens it spends in-process (`connectors.pipedrive.limits.DailyTokenBudget`);
with several Celery workers each would believe it had the whole day's share. This counter is one
Redis key per UTC day (`<prefix>:pipedrive-tokens:<account>:<YYYY-MM-DD>`), charged atomically: a
charge that would pass the allowance is undone and raises `BudgetExhausted`, so the pass stops
cleanly and the next one resumes. `worker.service.connections.open_connector` attaches it to every
connector that `SharesDailyBudget` (connectors/capabilities.py); Pipedrive is the one that does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from connectors.capabilities import SharesDailyBudget
from connectors.pipedrive.limits import BudgetExhausted

_CHARGE = """
local spent = redis.call('INCRBY', KEYS[1], ARGV[1])
if spent > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return -(spent - tonumber(ARGV[1])) - 1
end
redis.call('EXPIRE', KEYS[1], 172800)
return spent
"""


class RedisTokenBudget:
    """Same interface as `DailyTokenBudget` (`charge`, `allowed`, `spent`, `remaining`)."""

    def __init__(
        self, redis_client: Any, key: str, allowed: int, today: Callable[[], date] | None = None
    ) -> None:
        self.redis, self.key, self.allowed = redis_client, key, allowed
        self._today = today or (lambda: datetime.now(UTC).date())
        self._script = redis_client.register_script(_CHARGE)

    def _day_key(self) -> str:
        return f"{self.key}:{self._today().isoformat()}"

    def charge(self, cost: int) -> None:
        result = int(self._script(keys=[self._day_key()], args=[cost, self.allowed]))
        if result < 0:
            raise BudgetExhausted(-result - 1, cost, self.allowed)

    @property
    def spent(self) -> int:
        return int(self.redis.get(self._day_key()) or 0)

    @property
    def remaining(self) -> int:
        return max(self.allowed - self.spent, 0)


def attach_budget(connector: object, budget: RedisTokenBudget) -> bool:
    """Swap the connector's in-process budget for the shared one; False if it counts no daily budget."""
    if not isinstance(connector, SharesDailyBudget):
        return False
    connector.share_daily_budget(budget)
    return True


def shared_daily_budget(redis_client: Any, key_prefix: str, connector: SharesDailyBudget) -> RedisTokenBudget:
    """The Redis count for `connector`'s CRM account; `key_prefix` already names the CRM and the
    account (`rate_key()`, never the token)."""
    return RedisTokenBudget(redis_client, key_prefix, connector.daily_allowance())
