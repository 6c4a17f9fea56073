"""The two Redis barriers of a pass: the last chunk scored queues the write plan, the last batch
written queues the finish. Each queues its next step exactly once (SET NX), whoever ends last."""

from __future__ import annotations

import json

from worker.service.queue import send
from worker.service.resources import redis_client
from worker.service.stash import STASH_TTL, stash_key


def maybe_plan(run_id: str, crm: str) -> None:
    """Once reading has ended and every chunk is scored, exactly one caller (the last scorer, or
    the reader if it ends last) queues `plan_writes`."""
    r = redis_client()
    read = r.get(stash_key(run_id, "read"))
    if read is None:
        return
    if r.hlen(stash_key(run_id, "parts")) < json.loads(read)["chunks"]:
        return
    if r.set(stash_key(run_id, "planned"), 1, nx=True, ex=STASH_TTL):
        send("plan_writes", run_id, crm)


def maybe_finish(run_id: str, crm: str, batch: int | None = None) -> None:
    """Note `batch` as written; once plan_writes has queued every batch and each is written,
    exactly one caller queues finish_pass. A batch delivered twice is noted once (a set)."""
    r = redis_client()
    written = stash_key(run_id, "written")
    if batch is not None:
        r.sadd(written, batch)
        r.expire(written, STASH_TTL)
    planned = r.get(stash_key(run_id, "batches"))
    if planned is None:
        return
    plan = json.loads(planned)
    if r.scard(written) >= plan["total"] and r.set(stash_key(run_id, "finishing"), 1, nx=True, ex=STASH_TTL):
        send("finish_pass", run_id, crm, plan["cursor"])
