"""One unholdable value through the Celery workers (#17): the issue saw the run fail with nothing
written. With the boundary rule the account is skipped where the worker reads it, and the pass
writes every other account's offers: the same deals as an in-process pass over the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.proof.test_bad_input_files import BAD_ACCOUNT, edit_csv, sample_copy
from tests.worker.conftest import WorkerProcs, wait_for
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

pytestmark = [pytest.mark.services, pytest.mark.slow]


def finished(run_id: str) -> dict[str, Any] | None:
    from worker.service.enqueue import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


def deal_keys(folder: Path) -> set[str]:
    path = folder / "outbox" / "deals.jsonl"
    return {json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip()}


def test_mrr_1e400_on_the_workers_skips_one_account_and_writes_the_rest(
    workers: WorkerProcs, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.service.enqueue import enqueue_pass

    data = sample_copy(tmp_path)
    edit_csv(data / "accounts.csv", BAD_ACCOUNT, "mrr", "1e400")
    with monkeypatch.context() as env:
        env.delenv("OPPWORKER_DATABASE_URL")
        env.delenv("OPPWORKER_OUTPUT_DIR")
        local = Settings(
            database_url=f"sqlite:///{tmp_path / 'local.db'}", output_dir=tmp_path / "local", data_dir=data
        )
        expected = run_pass(local, "files")
    assert expected.skipped["invalid_account"] >= 1 and expected.new > 100

    monkeypatch.setenv("OPPWORKER_DATA_DIR", str(data))
    workers.start("a", extra_env={"OPPWORKER_DATA_DIR": str(data)})
    run_id = enqueue_pass(None, "files")
    row = wait_for(lambda: finished(run_id), 120, "the pass to finish", workers.logs)
    assert row["status"] == "succeeded", row["error"]
    assert row["report"]["skipped"]["invalid_account"] == expected.skipped["invalid_account"]
    assert row["report"]["deals_created"] == expected.deals_created  # the same capacity plan as in-process
    written = deal_keys(Path(service_env["OPPWORKER_OUTPUT_DIR"]))
    assert written == deal_keys(local.output_dir)
    assert not any(k.startswith(f"{BAD_ACCOUNT}:") for k in written)
