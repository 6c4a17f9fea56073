"""Queueing the next step of a pass from inside a running task (real Redis broker)."""

from __future__ import annotations

import json

import pytest
from celery._state import _task_stack
from redis import Redis

from worker.service.app import get_app
from worker.service.queue import send

pytestmark = pytest.mark.services


def test_a_step_queueing_many_messages_keeps_no_result_per_message(service_env: dict[str, str]) -> None:
    app = get_app()
    parent = app.tasks["oppworker.plan_writes"]
    parent.push_request(id="plan-1", called_directly=False, children=[])
    _task_stack.push(parent)
    try:
        assert app.current_worker_task is parent  # as inside a worker running plan_writes
        for batch in range(50):
            send("write_batch", "run-1", "files", batch)
        children = parent.request.children
    finally:
        _task_stack.pop()
        parent.pop_request()
    assert children == []  # Celery's default would hold 50 AsyncResults here until the task returns

    # Every message was queued all the same, on the CRM queue, in order.
    queue = f"{service_env['OPPWORKER_KEY_PREFIX']}:oppworker.crm"
    headers = [
        json.loads(m)["headers"]
        for m in Redis.from_url(service_env["OPPWORKER_BROKER_URL"]).lrange(queue, 0, -1)
    ]
    batches = [h["argsrepr"] for h in reversed(headers) if h["task"] == "oppworker.write_batch"]
    assert batches == [repr(("run-1", "files", n)) for n in range(50)]
