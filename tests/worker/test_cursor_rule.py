"""One rule for both drivers: the sync cursor is stored only after a clean pass (no failed write,
no key left unfinished). A pass whose writes were refused leaves the cursor where it was, so the
next pass reads those accounts again; once the writes go through, the cursor moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

from .conftest import WorkerProcs, wait_for
from .stalling import RefusingConnector


def test_in_process_pass_stores_the_cursor_only_after_a_clean_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "refuse"
    monkeypatch.setenv("OPPWORKER_TEST_REFUSE_MARKER", str(marker))
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    ledger = Ledger(settings.ledger_url)

    marker.touch()
    refused = run_pass(settings, "files", connector=RefusingConnector(None, settings.output_dir))
    assert refused.new > 0 and sum(refused.write_errors.values()) > 0
    assert refused.cursor is None
    assert ledger.cursor("files") is None
    assert ledger.count_unfinished("files") == sum(refused.write_errors.values())

    marker.unlink()
    clean = run_pass(settings, "files", connector=RefusingConnector(None, settings.output_dir))
    assert clean.mode == "full"  # no cursor was stored: every account is read again
    assert clean.resumed == sum(refused.write_errors.values()) and not clean.write_errors
    assert ledger.count_unfinished("files") == 0
    assert clean.cursor is not None and ledger.cursor("files") == clean.cursor


def _finished(run_id: str) -> dict[str, Any] | None:
    from worker.service.enqueue import pass_report

    row = pass_report(run_id)
    return row if row and row["status"] in ("succeeded", "failed", "skipped") else None


@pytest.mark.services
@pytest.mark.slow
def test_worker_pass_stores_the_cursor_only_after_a_clean_pass(
    workers: WorkerProcs, service_env: dict[str, str]
) -> None:
    from worker.service.enqueue import enqueue_pass

    marker = Path(service_env["OPPWORKER_TEST_REFUSE_MARKER"])
    ledger = Ledger(service_env["OPPWORKER_DATABASE_URL"])
    workers.start("a")

    marker.touch()
    refused_id = enqueue_pass(None, "refusing")
    refused = wait_for(lambda: _finished(refused_id), 90, "the refused pass", workers.logs)
    assert refused["status"] == "succeeded", refused["error"]
    errors = sum(refused["report"]["write_errors"].values())
    assert refused["report"]["new"] > 0 and errors > 0
    assert refused["report"]["cursor"] is None
    assert ledger.cursor("refusing") is None
    # Each refused task leaves its key unfinished, and with it the account's other offers that
    # task was to cover (one task per account, #15): they are done only once the task exists.
    unfinished = ledger.unfinished("refusing")
    leads = {r["key"] for r in unfinished if not r["lead_key"]}
    assert len(leads) == errors and all(r["lead_key"] in leads for r in unfinished if r["lead_key"])
    assert ledger.count_unfinished("refusing") == len(unfinished)

    marker.unlink()
    clean_id = enqueue_pass(None, "refusing")
    clean = wait_for(lambda: _finished(clean_id), 90, "the clean pass", workers.logs)
    assert clean["status"] == "succeeded", clean["error"]
    assert clean["report"]["mode"] == "full"  # no cursor was stored: every account is read again
    assert clean["report"]["resumed"] == len(unfinished) and not clean["report"]["write_errors"]
    assert ledger.count_unfinished("refusing") == 0
    assert clean["report"]["cursor"] is not None and ledger.cursor("refusing") == clean["report"]["cursor"]
