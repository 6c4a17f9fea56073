"""Redis (broker, results, stash) dies and comes back in the middle of a write batch: the pass
still completes with every deal and task exactly once. Uses its own `redis-server` on a free port
with an append-only file (as compose runs it); the shared Redis is never touched."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.own_services import OwnRedis

from .conftest import WorkerProcs, _reset_process_state, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.service.enqueue import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def _outbox(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / "outbox" / f"{name}.jsonl"
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )


@pytest.fixture
def own_redis(tmp_path: Path, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder)
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    for key in ("OPPWORKER_REDIS_URL", "OPPWORKER_BROKER_URL", "OPPWORKER_RESULT_BACKEND"):
        monkeypatch.setenv(key, url)
        service_env[key] = url
    _reset_process_state()
    yield server
    server.kill()
    # Point this process back at the shared Redis before the next test: monkeypatch would restore
    # the environment only after this teardown, leaving the Celery app on the stopped server.
    monkeypatch.undo()
    _reset_process_state()


def test_redis_restart_mid_write_batch_loses_and_duplicates_nothing(
    own_redis: OwnRedis, workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path
) -> None:
    from worker.service.enqueue import enqueue_pass

    marker = tmp_path / "stalled-batch"
    workers.start("w", concurrency=2, extra_env={"OPPWORKER_TEST_STALL_MARKER": str(marker)})
    run_id = enqueue_pass(None, "stalling")
    wait_for(marker.exists, 60, "a write batch to stall", workers.logs)

    own_redis.kill()
    time.sleep(1)
    own_redis.start()  # the append-only file brings queues, unacked messages and the stash back
    _reset_process_state()
    Path(str(marker) + ".release").write_text("go")

    row = wait_for(lambda: _finished(run_id), 120, "the pass to finish after Redis came back", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    out = Path(service_env["OPPWORKER_OUTPUT_DIR"])
    deals = Counter(d["key"] for d in _outbox(out, "deals"))
    written_tasks = _outbox(out, "tasks")
    tasks = Counter(t["opportunity_key"] for t in written_tasks)
    # One task per account (#15): every deal is a task's own key or one of the keys it covers, once.
    on_a_task = Counter(k for t in written_tasks for k in (t["opportunity_key"], *t.get("covers", [])))
    assert deals and max(deals.values()) == 1 and max(tasks.values()) == 1
    assert set(deals) == set(on_a_task) and max(on_a_task.values()) == 1
    assert len(written_tasks) == 80  # capacity (#15): 8 owners x 10 tasks this week
    assert row["report"]["planned"] == len(deals)
