"""The pass lock: one pass per CRM at a time, a Redis key holding the run id, extended by every
step of a live pass so only a dead pass's lock runs out."""

from __future__ import annotations

from worker.service.resources import redis_client
from worker.service.settings import service_settings

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def _lock_key(crm: str) -> str:
    return service_settings().key("pass-lock", crm)


def acquire_pass_lock(crm: str, run_id: str) -> str | None:
    """Take the CRM's lock for `run_id`; return the holder's run id if another pass holds it."""
    r = redis_client()
    if r.set(_lock_key(crm), run_id, nx=True, ex=service_settings().pass_lock_seconds):
        return None
    holder = r.get(_lock_key(crm))
    holder_id = (holder.decode() if isinstance(holder, bytes) else holder) or None
    if holder_id == run_id:  # our own start_pass, delivered again
        return None
    if holder_id is None:
        return acquire_pass_lock(crm, run_id)
    return holder_id


def refresh_pass_lock(crm: str, run_id: str) -> None:
    redis_client().eval(_REFRESH, 1, _lock_key(crm), run_id, service_settings().pass_lock_seconds)


def release_pass_lock(crm: str, run_id: str) -> None:
    redis_client().eval(_RELEASE, 1, _lock_key(crm), run_id)


def pass_running(crm: str) -> bool:
    return bool(redis_client().exists(_lock_key(crm)))
