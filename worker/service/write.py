"""`plan_writes` and `write_batch`: every unfinished key of the CRM (this pass's and any an earlier
pass left) streamed from the ledger into batches parked in Redis, each queued at once; each batch
written exactly once through the ledger and the connectors' idempotent writes."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import redis

from domain import ConnectorError, FailureKind
from worker.pipeline.capacity import plan_pass
from worker.pipeline.report import merge_parts
from worker.pipeline.writeback import WriteBack, from_payload
from worker.service.barrier import maybe_finish
from worker.service.connections import open_connector
from worker.service.observability import OPPORTUNITIES_WRITTEN, record_client_stats
from worker.service.queue import send
from worker.service.resources import ledger_for, pass_settings, redis_client
from worker.service.stash import STASH_TTL, get, put, stash_key


def plan_writes(run_id: str, crm: str) -> dict[str, Any]:
    settings = pass_settings()
    ledger = ledger_for(settings)
    read_counts = get(stash_key(run_id, "read"))
    cursor = read_counts["cursor"]
    r = redis_client()
    parts = (json.loads(v) for _, v in r.hscan_iter(stash_key(run_id, "parts"), count=200))
    merged = merge_parts(parts, read_counts)
    if r.exists(stash_key(run_id, "batches")):
        return {"run_id": run_id, "planned_before": True}  # a redelivery after it queued every batch
    r.delete(stash_key(run_id, "written"))
    # The same planning step as the in-process driver. Safe to repeat on a redelivery: it counts
    # what the ledger already promoted this week, so a second run promotes nothing more.
    planning = stash_key(run_id, "planning")

    def planned_batch() -> None:  # promotion batches stored: what the watchdog sees as progress
        r.incr(planning)
        r.expire(planning, STASH_TTL)

    plan = plan_pass(
        ledger,
        crm,
        run_id,
        settings,
        datetime.fromisoformat(get(stash_key(run_id, "ctx"))["now"]),
        on_batch=planned_batch,
    )
    # A first pass over a million accounts leaves hundreds of thousands of keys: neither this task
    # nor any message holds them all (a chord over 7,500 batches cost this task 300 MB), and the
    # last batch to finish queues finish_pass through a Redis barrier, as the last chunk queues
    # this task.
    size = settings.write_batch_size
    resumed = batches = 0
    keys: list[str] = []

    def queue(batch: list[str]) -> None:
        r.set(stash_key(run_id, "batch", str(batches)), json.dumps(batch), ex=STASH_TTL)
        send("write_batch", run_id, crm, batches)

    for key, owner in ledger.unfinished_keys(crm):
        resumed += owner != run_id
        keys.append(key)
        if len(keys) == size:
            queue(keys)
            batches, keys = batches + 1, []
    if keys:
        queue(keys)
        batches += 1
    merged["resumed"] = resumed
    merged.update(planned=plan.planned, waiting=plan.waiting, waiting_no_owner=plan.no_owner)
    put(stash_key(run_id, "report"), merged)
    put(stash_key(run_id, "batches"), {"total": batches, "cursor": cursor})
    maybe_finish(run_id, crm)
    return {"run_id": run_id, "batches": batches}


def write_batch(run_id: str, crm: str, batch: int) -> dict[str, Any]:
    settings = pass_settings()
    ledger = ledger_for(settings)
    keys: list[str] = get(stash_key(run_id, "batch", str(batch)))
    rows = ledger.rows(crm, keys)
    todo = [rows[k] for k in keys if k in rows and rows[k]["state"] != "done"]
    if not todo:
        return {"done_before": len(keys)}
    ctx = get(stash_key(run_id, "ctx"))
    connector = open_connector(settings, crm)
    try:
        writer = WriteBack(
            connector,
            ledger,
            crm,
            run_id,
            datetime.fromisoformat(ctx["now"]),
            settings.write_batch_size,
            lease=timedelta(seconds=settings.write_lease_seconds),
            on_counted=lambda counts: count_writes(run_id, counts),
        )
        for row in todo:
            writer.add(*from_payload(row["payload"]))
        writer.flush()
        record_client_stats(crm, connector)
    finally:
        connector.close()
    t = writer.tally
    if t.claimed_elsewhere:
        # Another copy of this batch (a retry racing a redelivered message) holds some keys: come
        # back once its lease could have run out; by then it has finished them, or died.
        raise ConnectorError(
            f"{t.claimed_elsewhere} key(s) of this batch are being written by another worker",
            FailureKind.TRANSIENT,
            retry_after=settings.write_lease_seconds,
        )
    OPPORTUNITIES_WRITTEN.labels(crm).inc(t.deals_created)
    return {
        "deals_created": t.deals_created,
        "deals_existing": t.deals_existing,
        "tasks_created": t.tasks_created,
        "tasks_existing": t.tasks_existing,
        "write_errors": dict(t.errors),
    }


def count_writes(run_id: str, counts: dict[str, int]) -> None:
    """The pass's write counts, kept in Redis as each step is recorded in the ledger. A batch's
    return value dies with a worker killed in the middle of it, and the redelivered batch then
    finds those deals already recorded and counts nothing: the run report under-counted."""
    key = stash_key(run_id, "writes")
    deadline = time.monotonic() + 20  # the steps are recorded: ride out a Redis restart, not retry them
    while True:
        pipe = redis_client().pipeline()  # MULTI/EXEC: all of one step's counts or none
        for name, n in counts.items():
            pipe.hincrby(key, name, n)
        pipe.expire(key, STASH_TTL)
        try:
            pipe.execute()
            return
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def written_counts(run_id: str) -> dict[str, Any]:
    """What the pass wrote, as `count_writes` kept it: the four counts and the errors by kind."""
    stored = {
        (k.decode() if isinstance(k, bytes) else k): int(v)
        for k, v in redis_client().hgetall(stash_key(run_id, "writes")).items()
    }
    errors = {k.removeprefix("error:"): v for k, v in stored.items() if k.startswith("error:")}
    return {**{k: v for k, v in stored.items() if not k.startswith("error:")}, "write_errors": errors}
