"""A pass through real Celery workers (Redis broker, PostgreSQL ledger): same result as in-process,
and a worker SIGKILLed in the middle of a write batch loses nothing and duplicates nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

from .conftest import WorkerProcs, wait_for

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


def test_worker_pass_matches_in_process_pass(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.service.enqueue import enqueue_pass

    with monkeypatch.context() as env:  # the in-process pass gets its own ledger and outbox
        env.delenv("OPPWORKER_DATABASE_URL")
        env.delenv("OPPWORKER_OUTPUT_DIR")
        local = Settings(database_url=f"sqlite:///{tmp_path / 'local.db'}", output_dir=tmp_path / "local")
        expected = run_pass(local, "files")
    assert expected.new > 100  # several chunks' worth of work, more than one write batch

    workers.start("a")
    workers.start("b")
    run_id = enqueue_pass(None, "files")
    row = wait_for(lambda: _finished(run_id), 90, "the pass to finish", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    report = row["report"]

    assert report["new"] == expected.new
    assert report["accounts_read"] == expected.accounts_read
    assert report["suppressed"] == dict(expected.suppressed)
    assert report["stages"] == dict(expected.stages)
    assert report["holdout"] == expected.holdout  # control accounts, chosen by the same steps
    assert report["skipped"] == dict(expected.skipped) and report["defaulted"] == dict(expected.defaulted)
    # Both drivers plan capacity the same way (#15): 8 owners x 10 tasks, one per account with
    # the account's other offers listed on it (each its own deal), the rest wait.
    assert report["tasks_created"] == expected.tasks_created == 80
    assert report["deals_created"] == expected.deals_created == expected.planned > 80
    assert (
        (report["planned"], report["waiting"])
        == (expected.planned, expected.waiting)
        == (expected.planned, expected.new - expected.planned)
    )
    assert report["cursor"] == expected.cursor
    assert [r["key"] for r in report["ranked"]] == [r.key for r in expected.ranked[:50]]

    remote_ledger = Ledger(service_env["OPPWORKER_DATABASE_URL"])
    local_ledger = Ledger(local.ledger_url)
    remote_rows = {r["key"]: r for r in remote_ledger.written("files")}
    local_rows = {r["key"]: r for r in local_ledger.written("files")}
    assert set(remote_rows) == set(local_rows)
    assert {r["state"] for r in remote_rows.values()} == {"done"}
    assert {k: r["score"] for k, r in remote_rows.items()} == {k: r["score"] for k, r in local_rows.items()}
    assert remote_ledger.cursor("files") == local_ledger.cursor("files")

    out = Path(service_env["OPPWORKER_OUTPUT_DIR"])
    assert sorted(d["key"] for d in _outbox(out, "deals")) == sorted(
        d["key"] for d in _outbox(local.output_dir, "deals")
    )

    # A second pass finds the cursor unchanged and writes nothing.
    again = enqueue_pass(None, "files")
    row = wait_for(lambda: _finished(again), 60, "the second pass", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    assert row["report"]["mode"] == "incremental"
    assert row["report"]["deals_created"] == 0
    assert len(_outbox(out, "deals")) == expected.planned


def test_sigkill_mid_write_batch_loses_and_duplicates_nothing(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path
) -> None:
    from worker.service.enqueue import enqueue_pass

    marker = tmp_path / "stalled-batch"
    first = workers.start("doomed", concurrency=2, extra_env={"OPPWORKER_TEST_STALL_MARKER": str(marker)})
    run_id = enqueue_pass(None, "stalling")
    wait_for(marker.exists, 60, "a write batch to stall between its deal and task calls", workers.logs)

    # While it runs, a second pass of the same CRM does not start.
    second = enqueue_pass(None, "stalling")
    row = wait_for(lambda: _finished(second), 30, "the second pass to be turned away", workers.logs)
    assert row["status"] == "skipped" and run_id in row["error"]

    stalled_keys = marker.read_text().split(",")
    out = Path(service_env["OPPWORKER_OUTPUT_DIR"])
    deals_before_kill = {d["key"] for d in _outbox(out, "deals")}
    assert set(stalled_keys) <= deals_before_kill  # the deals of the batch exist, their tasks do not
    assert not set(stalled_keys) & {t["opportunity_key"] for t in _outbox(out, "tasks")}

    workers.kill(first)
    workers.start("rescuer", extra_env={"OPPWORKER_TEST_STALL_MARKER": str(marker)})
    row = wait_for(lambda: _finished(run_id), 120, "the pass to finish on the new worker", workers.logs)
    assert row["status"] == "succeeded", row["error"]

    deals = Counter(d["key"] for d in _outbox(out, "deals"))
    tasks = Counter(t["opportunity_key"] for t in _outbox(out, "tasks"))
    assert deals and max(deals.values()) == 1, "a deal was written twice"
    assert max(tasks.values()) == 1, "a task was written twice"
    # One task per account (#15): a deal is on its own task or listed on its account's lead task.
    written = _outbox(out, "tasks")
    covered = Counter(k for t in written for k in (t["opportunity_key"], *t["covers"]))
    assert set(deals) == set(covered) and max(covered.values()) == 1, "a deal without its task"
    assert max(Counter(t["account_id"] for t in written).values()) == 1, "an account got two tasks"
    ledger = Ledger(service_env["OPPWORKER_DATABASE_URL"])
    rows = list(ledger.written("stalling"))
    assert {r["key"] for r in rows} == set(deals)
    assert {r["state"] for r in rows} == {"done"}
    assert row["report"]["planned"] == len(deals) and len(tasks) == 80  # #15: 8 owners x 10 tasks
    # The killed worker's deals count: each step's counts are kept as the ledger records it.
    assert row["report"]["deals_created"] == len(deals) and row["report"]["tasks_created"] == len(tasks)
    assert row["report"]["deals_existing"] == row["report"]["tasks_existing"] == 0
    assert ledger.cursor("stalling") is not None


def test_an_account_listed_twice_is_scored_once_across_workers(
    workers: WorkerProcs, service_env: dict[str, str]
) -> None:
    """The reader de-duplicates in Redis: the repeats (three chunks after the originals, scored by
    whichever worker) are skipped and counted, and no key is recorded twice."""
    from worker.service.enqueue import enqueue_pass

    workers.start("a")
    workers.start("b")
    run_id = enqueue_pass(None, "relisting")
    row = wait_for(lambda: _finished(run_id), 90, "the pass to finish", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    report = row["report"]
    assert (
        report["skipped"]["duplicate_account_id"] == 1 + 5
    )  # the sample's own duplicate row, and the five repeats
    out = Path(service_env["OPPWORKER_OUTPUT_DIR"])
    deals = Counter(d["key"] for d in _outbox(out, "deals"))
    assert deals and max(deals.values()) == 1
    assert report["deals_created"] == report["planned"] == len(deals)
    assert report["tasks_created"] == len(_outbox(out, "tasks")) == 80  # capacity (#15): 8 owners x 10
    assert report["accounts_read"] == 600  # the sample's 600 accounts, each scored once


def test_a_lost_write_batch_message_is_queued_again_and_the_pass_finishes(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path
) -> None:
    """Redis can lose a message (popped for a worker, never recorded as unacknowledged, when Redis
    dies in between). Here one write batch's message is taken off the queue by hand while the only
    worker is stalled, then that worker is killed: the pass watch finds no progress for 1.5
    visibility timeouts, queues the missing batch again, and the pass finishes exactly once."""
    from redis import Redis

    from worker.service.enqueue import enqueue_pass

    marker = tmp_path / "stalled-batch"
    first = workers.start("only", concurrency=1, extra_env={"OPPWORKER_TEST_STALL_MARKER": str(marker)})
    run_id = enqueue_pass(None, "stalling")
    wait_for(marker.exists, 60, "a write batch to stall", workers.logs)

    client = Redis.from_url(service_env["OPPWORKER_REDIS_URL"])
    queue = f"{service_env['OPPWORKER_KEY_PREFIX']}:oppworker.crm"

    def batch_messages() -> list[bytes]:
        return [
            m
            for m in client.lrange(queue, 0, -1)
            if json.loads(m)["headers"]["task"] == "oppworker.write_batch"
        ]

    waiting = wait_for(batch_messages, 30, "write batches waiting in the queue", workers.logs)
    lost = waiting[0]
    assert client.lrem(queue, 1, lost) == 1
    lost_batch = json.loads(lost)["headers"]["argsrepr"]

    workers.kill(first)
    workers.start("after", extra_env={"OPPWORKER_TEST_STALL_MARKER": str(marker)})
    row = wait_for(
        lambda: _finished(run_id), 120, "the pass to finish without the lost batch message", workers.logs
    )
    assert row["status"] == "succeeded", row["error"]
    assert "queueing 1 write batch(es) again" in workers.text(), lost_batch

    out = Path(service_env["OPPWORKER_OUTPUT_DIR"])
    deals = Counter(d["key"] for d in _outbox(out, "deals"))
    tasks = Counter(t["opportunity_key"] for t in _outbox(out, "tasks"))
    assert deals and max(deals.values()) == 1 and max(tasks.values()) == 1
    # one task per account (#15): a deal is on its own task or listed on its account's lead task
    covered = {k for t in _outbox(out, "tasks") for k in (t["opportunity_key"], *t["covers"])}
    assert set(deals) == covered
    assert row["report"]["planned"] == len(deals) == row["report"]["deals_created"]
    assert len(tasks) == 80  # capacity (#15): 8 owners x 10 tasks
    assert {r["state"] for r in Ledger(service_env["OPPWORKER_DATABASE_URL"]).written("stalling")} == {"done"}
