"""The pass's bulky data (chunks, its context, batches' keys, counts) parked in Redis under its run
id for two days, so messages carry ids only."""

from __future__ import annotations

import json
from typing import Any

from worker.service.errors import PassFailed
from worker.service.resources import redis_client
from worker.service.settings import service_settings

STASH_TTL = 2 * 24 * 3600


def stash_key(run_id: str, *parts: str) -> str:
    return service_settings().key("run", run_id, *parts)


def put(key: str, value: Any) -> None:
    redis_client().set(key, json.dumps(value, default=str), ex=STASH_TTL)


def get(key: str) -> Any:
    raw = redis_client().get(key)
    if raw is None:
        raise PassFailed(f"pass data {key} expired or missing from Redis; start a new pass")
    return json.loads(raw)


def drop_run(run_id: str) -> None:
    """Delete everything stashed for a finished run."""
    r = redis_client()
    keys = list(r.scan_iter(stash_key(run_id, "*"), count=500))
    if keys:
        r.delete(*keys)
