"""Process-wide clients: one Redis connection pool and one ledger per database URL, made on first
use (never at import) and forgotten by `reset` when the environment changes (tests)."""

from __future__ import annotations

import redis

from worker.pipeline.settings import Settings
from worker.service.settings import service_settings
from worker.store.ledger import Ledger

_redis: redis.Redis | None = None
_ledgers: dict[str, Ledger] = {}


def redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(service_settings().redis_url)
    return _redis


def pass_settings() -> Settings:
    return service_settings().pass_settings()


def ledger_for(settings: Settings) -> Ledger:
    url = settings.ledger_url
    if url not in _ledgers:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        _ledgers[url] = Ledger(url)
    return _ledgers[url]


def reset() -> None:
    """Forget the clients, so the next use follows the current environment."""
    global _redis
    _redis = None
    _ledgers.clear()
