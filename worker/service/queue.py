"""Queue a pass task by name. The step modules queue the next step through this, not by importing
worker/service/tasks.py, so a step never imports the Celery task that calls it; the app's routes
send each name to its queue."""

from __future__ import annotations

from typing import Any


def send(name: str, *args: Any, countdown: float | None = None) -> None:
    from worker.service.app import get_app

    get_app().send_task(f"oppworker.{name}", args=args, countdown=countdown)
