"""Starting passes from outside the workers (CLI `--enqueue`, beat, webhooks) and reading a run's
outcome back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from worker.pipeline.settings import Settings
from worker.service.lock import pass_running
from worker.service.queue import send
from worker.service.resources import ledger_for, pass_settings


def enqueue_pass(
    settings: Settings | None, crm: str, full: bool = False, *, countdown: float | None = None
) -> str:
    """Queue a pass of `crm` and return its run id (visible at once in `oppworker runs` as queued)."""
    run_id = uuid.uuid4().hex
    ledger = ledger_for(settings or pass_settings())
    ledger.start_run(run_id, crm, "full" if full else "incremental", datetime.now(UTC), None)
    ledger.mark_run(run_id, status="queued")
    send("start_pass", run_id, crm, full, countdown=countdown)
    return run_id


def require_redis(timeout_seconds: float = 2.0) -> None:
    """Raise redis' ConnectionError within `timeout_seconds` when Redis is down: the queue, the
    locks and the results all live there, and the broker's own retries take 20 s and end in a
    result-store error that names nothing."""
    import redis

    from worker.service.settings import service_settings

    client = redis.Redis.from_url(
        service_settings().redis_url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
    )
    try:
        client.ping()
    finally:
        client.close()


def scheduled_pass_due(crm: str) -> bool:
    """Beat's passes are not even queued while one of the CRM's passes holds its lock."""
    return not pass_running(crm)


def pass_report(run_id: str) -> dict[str, Any] | None:
    """The ledger's row for a run (status, report, error): what `oppworker runs` shows."""
    row = ledger_for(pass_settings()).run(run_id)
    if row is None:
        return None
    return row | {"report": json.loads(row["report"]) if row["report"] else None}
