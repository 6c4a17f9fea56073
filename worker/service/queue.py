"""Queue a pass task by name. The step modules queue the next step through this, not by importing
worker/service/tasks.py, so a step never imports the Celery task that calls it; the app's routes
send each name to its queue.

`add_to_parent=False`: by default Celery appends every task sent from inside a running task to that
task's `request.children` (an `AsyncResult` each, about 2.3 KB) and stores their ids with its
result. `plan_writes` queues one `write_batch` per 100 keys and `start_pass` one `score_chunk` per
200 accounts, so on a 1,000,000-account pass those two tasks held some 7,500 and 5,000 results
(17 and 11 MB) until they returned. Nothing reads them: the next step is found through Redis
barriers (barrier.py), never through a parent's children.
"""

from __future__ import annotations

from typing import Any


def send(name: str, *args: Any, countdown: float | None = None) -> None:
    from worker.service.app import get_app

    get_app().send_task(f"oppworker.{name}", args=args, countdown=countdown, add_to_parent=False)
