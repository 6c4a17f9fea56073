"""The safety net for a lost message.

The Redis transport can lose one when Redis dies between handing a message to a worker and
recording it as unacknowledged (seen once in 15 Redis restarts of
tests/worker/test_redis_restart.py: a write batch never arrived, so the pass never finished).
Every half visibility timeout `watch_pass` checks the pass's progress (chunks scored, promotion
batches stored by the planning step, write batches planned and written); after 1.5 timeouts
without any (longer than a restored message or a capped retry takes to come back), it queues
again each chunk not scored, the plan if it never ran, each batch not written, or the finish.
All of them are idempotent, so one that was only slow runs twice harmlessly."""

from __future__ import annotations

import json
import logging

import redis
from sqlalchemy.exc import OperationalError

from worker.service.queue import send
from worker.service.resources import ledger_for, pass_settings, redis_client
from worker.service.retry import ENDED
from worker.service.stash import stash_key

log = logging.getLogger(__name__)

STALLED_CHECKS = 3  # checks half a visibility timeout apart without progress: 1.5 timeouts


def watch_pass(run_id: str, crm: str, seen: int, stalls: int) -> tuple[int, int] | None:
    """Look once; the progress and stall count to look again with, or None when the pass ended."""
    progress = seen
    try:
        row = ledger_for(pass_settings()).run(run_id)
        if row is None or row["status"] in ENDED:
            return None
        r = redis_client()
        parts, planned = r.hlen(stash_key(run_id, "parts")), r.get(stash_key(run_id, "batches"))
        planning = int(r.get(stash_key(run_id, "planning")) or 0)  # batches promoted so far
        progress = parts + planning + r.scard(stash_key(run_id, "written")) + (planned is not None)
        stalls = stalls + 1 if progress == seen else 0
        if stalls >= STALLED_CHECKS:
            stalls = 0
            _requeue_lost(run_id, crm, parts, planned)
    except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
        log.warning("pass watch could not look (%s); looking again later", type(exc).__name__)
    return progress, stalls


def _requeue_lost(run_id: str, crm: str, parts: int, planned: bytes | str | None) -> None:
    r = redis_client()
    read = r.get(stash_key(run_id, "read"))
    if read is None:
        return  # still reading (start_pass refreshes its own lock; a dead one is redelivered)
    chunks = json.loads(read)["chunks"]
    if parts < chunks:
        missing = [n for n in range(chunks) if not r.hexists(stash_key(run_id, "parts"), str(n))]
        log.warning("pass %s made no progress: queueing %d chunk(s) again", run_id, len(missing))
        for n in missing:
            send("score_chunk", run_id, crm, n)
    elif planned is None:
        log.warning("pass %s made no progress: queueing its write plan again", run_id)
        send("plan_writes", run_id, crm)
    else:
        plan = json.loads(planned)
        written = {int(n) for n in r.smembers(stash_key(run_id, "written"))}
        missing = [n for n in range(plan["total"]) if n not in written]
        log.warning("pass %s made no progress: queueing %d write batch(es) again", run_id, len(missing))
        for n in missing:
            send("write_batch", run_id, crm, n)
        if not missing:
            send("finish_pass", run_id, crm, plan["cursor"])
