"""The retry policy every pass task runs under: transient CRM and infrastructure failures retry with
backoff and jitter (a 429's Retry-After becomes the countdown); configuration, auth and permanent
failures, bugs and time limits fail the run with a clear message and are not retried."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import redis
from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from domain import ConnectorError, FailureKind, RetryBudgetExhausted
from worker.service.errors import PassFailed
from worker.service.lock import refresh_pass_lock, release_pass_lock
from worker.service.observability import PASSES, TASK_LATENCY, log_context
from worker.service.resources import ledger_for, pass_settings
from worker.service.settings import service_settings

log = logging.getLogger(__name__)

T = TypeVar("T")
ENDED = ("succeeded", "failed", "skipped")


def fail_run(run_id: str, crm: str, message: str) -> None:
    try:
        ledger = ledger_for(pass_settings())
        row = ledger.run(run_id)
        if row is None:
            ledger.start_run(run_id, crm, "unknown", datetime.now(UTC), None)
        if row is None or row["status"] not in ENDED:
            ledger.finish_run(run_id, "failed", {"run_id": run_id, "crm": crm}, error=message)
            PASSES.labels(crm, "failed").inc()
    finally:
        release_pass_lock(crm, run_id)
        log.error("pass %s failed: %s", run_id, message)


def backoff(retries: int) -> float:
    ceiling = min(300.0, 2.0 * 2**retries)
    return random.uniform(ceiling / 2, ceiling)  # jitter: workers retrying together spread out


def step(task: Task, run_id: str, crm: str, body: Callable[[], T]) -> T:
    """Run a task body with the run's log context, latency metric and the retry policy."""
    cfg = service_settings()
    started = time.monotonic()
    with log_context(run_id=run_id, crm=crm, task=task.name, task_id=task.request.id):
        try:
            refresh_pass_lock(crm, run_id)
            return body()
        except Retry:
            raise
        except ConnectorError as exc:
            # A client that spent its own retry budget has retried enough: a task retry on top
            # would multiply the calls per failing request (connectors/http.py).
            budget_spent = isinstance(exc, RetryBudgetExhausted)
            if exc.retryable and not budget_spent and task.request.retries < cfg.max_retries:
                wait = exc.retry_after if exc.retry_after is not None else backoff(task.request.retries)
                countdown = min(wait + random.uniform(0, 1), cfg.max_countdown)
                log.warning("%s (%s); retrying in %.1f s", exc, exc.kind.value, countdown)
                raise task.retry(
                    exc=PassFailed(str(exc)), countdown=countdown, max_retries=cfg.max_retries
                ) from None
            hint = {
                FailureKind.CONFIG: "fix the configuration",
                FailureKind.AUTH: "check the CRM token and its scopes",
            }.get(exc.kind, "see the error")
            if budget_spent:
                hint = "the CRM client spent its retries; the next pass tries again"
            message = f"{crm} ({exc.kind.value}): {exc}; {hint}"
            fail_run(run_id, crm, message)
            raise PassFailed(message) from None
        except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
            if task.request.retries < cfg.max_retries:
                countdown = min(backoff(task.request.retries), cfg.max_countdown)
                log.warning("infrastructure error %s; retrying in %.1f s", type(exc).__name__, countdown)
                raise task.retry(
                    exc=PassFailed(type(exc).__name__), countdown=countdown, max_retries=cfg.max_retries
                ) from None
            fail_run(run_id, crm, f"infrastructure: {type(exc).__name__}: {exc}")
            raise PassFailed(str(exc)) from None
        except PassFailed as exc:
            fail_run(run_id, crm, str(exc))
            raise
        except SoftTimeLimitExceeded:
            fail_run(run_id, crm, f"task {task.name} exceeded its time limit")
            raise PassFailed(f"task {task.name} exceeded its time limit") from None
        except Exception as exc:  # a bug or bad definitions: fail the run loudly, do not retry
            message = f"{type(exc).__name__}: {exc}"
            fail_run(run_id, crm, message)
            log.exception("pass step failed")
            raise PassFailed(message) from None
        finally:
            TASK_LATENCY.labels(task.name).observe(time.monotonic() - started)
