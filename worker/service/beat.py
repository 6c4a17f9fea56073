"""Beat schedules: per CRM an incremental pass every N minutes, a full pass nightly, and a polling
pass for CRMs without push. Defaults live in `ServiceSettings`; env or YAML override them, e.g.
`OPPWORKER_SCHEDULES='{"hubspot": {"incremental_minutes": 10, "full_cron": "30 3 * * *"}}'`.

Beat only *enqueues* `oppworker.scheduled_pass`; whether a pass actually starts is decided by the
per-CRM pass lock in `worker.service.lock` (a pass never starts while another of the same CRM runs), so a
slow pass and a fast schedule cannot pile up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from worker.service.settings import ServiceSettings


def _cron(expression: str) -> crontab:
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"full_cron {expression!r}: expected 5 fields (minute hour day month weekday)")
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def beat_schedule(cfg: ServiceSettings) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for crm in cfg.crms:
        schedule = cfg.schedule(crm)
        if schedule.incremental_minutes:
            entries[f"{crm}-incremental"] = {
                "task": "oppworker.scheduled_pass",
                "schedule": timedelta(minutes=schedule.incremental_minutes),
                "args": (crm, False, "incremental"),
            }
        if schedule.full_cron:
            entries[f"{crm}-full"] = {
                "task": "oppworker.scheduled_pass",
                "schedule": _cron(schedule.full_cron),
                "args": (crm, True, "full"),
            }
        if schedule.poll_minutes:
            entries[f"{crm}-poll"] = {
                "task": "oppworker.scheduled_pass",
                "schedule": timedelta(minutes=schedule.poll_minutes),
                "args": (crm, False, "poll"),
            }
    return entries
