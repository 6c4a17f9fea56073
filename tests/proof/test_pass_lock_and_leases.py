"""Issue #17, 'Nothing lost between the store and the answer', the in-process driver:
- two `oppworker run` at once on one output folder: the second says a pass is running (an OS file
  lock, released by the kernel when its holder dies), never an IntegrityError in `runs.error`;
- a rerun while a crashed pass's write leases still hold keys reports the pass `incomplete`, says
  when the keys will be finished, stores no cursor; the next pass after the leases expire finishes
  them exactly once. Real files, real SQLite ledger, the real CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import update

from worker.cli import cli
from worker.pipeline.pass_lock import hold_pass_lock
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger
from worker.store.schema import PENDING, opportunities


def test_a_second_run_on_the_same_folder_says_a_pass_is_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with hold_pass_lock(out):  # another live process's pass, as far as flock can tell
        second = CliRunner().invoke(cli, ["run", "--output-dir", str(out)], obj={})
    assert second.exit_code != 0
    assert "a pass is already running on" in second.output and "Traceback" not in second.output
    assert "IntegrityError" not in second.output
    after = CliRunner().invoke(cli, ["run", "--output-dir", str(out), "--json"], obj={})  # lock released
    assert after.exit_code == 0 and json.loads(after.output)["deals_created"] > 0


def test_keys_leased_by_a_crashed_pass_make_the_rerun_incomplete_not_succeeded(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "out")
    first = run_pass(settings, "files")
    ledger = Ledger(settings.ledger_url)
    cursor_before = ledger.cursor("files")
    # What a pass SIGKILLed mid-write leaves: keys pending, leased to a writer that is gone.
    keys = [r["key"] for r in ledger.written("files")][:5]
    until = datetime.now(UTC) + timedelta(minutes=2)
    with ledger.engine.begin() as db:
        db.execute(
            update(opportunities)
            .where(opportunities.c.key.in_(keys))
            .values(state=PENDING, deal_id=None, task_id=None, claimed_by="dead-writer", claimed_until=until)
        )

    rerun = CliRunner().invoke(cli, ["run", "--output-dir", str(settings.output_dir)], obj={})
    assert rerun.exit_code == 0, rerun.output
    assert "incomplete: 5 opportunities are held by another writer" in rerun.output
    runs = json.loads(
        CliRunner()
        .invoke(cli, ["runs", "--json"], obj={}, env={"OPPWORKER_OUTPUT_DIR": str(settings.output_dir)})
        .output
    )
    assert runs[0]["status"] == "incomplete" and runs[0]["report"]["unfinished"] == 5
    assert runs[0]["report"]["unfinished_until"] is not None
    assert ledger.cursor("files") == cursor_before  # no cursor stored past unfinished work

    with ledger.engine.begin() as db:  # the dead writer's lease runs out
        db.execute(
            update(opportunities)
            .where(opportunities.c.key.in_(keys))
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    last = run_pass(settings, "files")
    assert last.resumed == 5 and last.unfinished == 0
    assert last.deals_created + last.deals_existing == 5  # finished once: the outbox's own deals found again
    assert first.deals_created > 0 and ledger.count_unfinished("files") == 0
    # one record per key, nothing written twice; one task per account (#15), so fewer tasks than deals
    for name, written in (("deals.jsonl", first.deals_created), ("tasks.jsonl", first.tasks_created)):
        lines = (settings.output_dir / "outbox" / name).read_text(encoding="utf-8").splitlines()
        keys = [
            json.loads(line).get("key") or json.loads(line)["opportunity_key"]
            for line in lines
            if line.strip()
        ]
        assert len(keys) == len(set(keys)) == written
