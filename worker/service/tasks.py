"""A pass as a Celery task graph. Each task is thin: the retry policy (`retry.step`) around a body
in its own module, which runs the same worker/pipeline/ steps as the in-process `run_pass`.

    start_pass (crm queue)      read.py: lock, prepare, read accounts into chunks of 200 parked in
                                Redis, each queued for scoring at once (scoring overlaps reading)
      -> score_chunk x N        score.py (score queue): assess a chunk, record its new keys
                                `pending` in the ledger; the last one queues (barrier.py)
      -> plan_writes            write.py (score queue): merge the chunk reports, stream every
                                unfinished key of the CRM into batches of <= 100, each queued
      -> write_batch x M        write.py (crm queue): exactly once through the ledger and the
                                connectors' idempotent writes; the last one queues (barrier.py)
      -> finish_pass            finish.py (score queue): report, cursor only after a clean pass,
                                release the CRM's pass lock
    watch_pass                  watch.py: re-queues what a lost message left undone
    scheduled_pass              what beat fires: queue a pass unless one of the CRM is running

Messages carry ids only (run id, CRM, chunk or batch number); the bulky things live in Redis under
the run id (stash.py). Every task is idempotent: a worker killed mid-task (acks_late) has its task
run again, and a repeated write batch finds the deals and tasks that already exist.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from worker.service import finish, read, score, watch, write
from worker.service.barrier import maybe_finish
from worker.service.enqueue import enqueue_pass, scheduled_pass_due
from worker.service.observability import log_context
from worker.service.retry import step
from worker.service.settings import service_settings

log = logging.getLogger(__name__)


@shared_task(name="oppworker.start_pass", bind=True)
def start_pass(self: Task, run_id: str, crm: str, full: bool = False) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: read.start_pass(run_id, crm, full))


@shared_task(name="oppworker.score_chunk", bind=True)
def score_chunk(self: Task, run_id: str, crm: str, number: int) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: score.score_chunk(run_id, crm, number))


@shared_task(name="oppworker.plan_writes", bind=True)
def plan_writes(self: Task, run_id: str, crm: str) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: write.plan_writes(run_id, crm))


@shared_task(name="oppworker.write_batch", bind=True)
def write_batch(self: Task, run_id: str, crm: str, batch: int) -> dict[str, Any]:
    def body() -> dict[str, Any]:
        tally = write.write_batch(run_id, crm, batch)
        maybe_finish(run_id, crm, batch)
        return tally

    return step(self, run_id, crm, body)


@shared_task(name="oppworker.finish_pass", bind=True)
def finish_pass(self: Task, run_id: str, crm: str, cursor: str | None) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: finish.finish_pass(run_id, crm, cursor))


@shared_task(name="oppworker.watch_pass", bind=True, ignore_result=True)
def watch_pass(self: Task, run_id: str, crm: str, seen: int = -1, stalls: int = 0) -> None:
    with log_context(run_id=run_id, crm=crm, task=self.name):
        again = watch.watch_pass(run_id, crm, seen, stalls)
    if again is not None:
        self.apply_async((run_id, crm, *again), countdown=service_settings().max_countdown)


@shared_task(name="oppworker.scheduled_pass", bind=True, ignore_result=True)
def scheduled_pass(self: Task, crm: str, full: bool = False, kind: str = "incremental") -> str:
    """What beat fires: queue a pass (the pass lock decides whether it runs)."""
    with log_context(crm=crm, task=self.name):
        if not scheduled_pass_due(crm):
            log.info("scheduled %s pass not queued: a pass of %s is running", kind, crm)
            return ""
        run_id = enqueue_pass(None, crm, full)
        log.info("scheduled %s pass queued as %s", kind, run_id)
        return run_id
