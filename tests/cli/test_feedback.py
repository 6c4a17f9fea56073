"""Issue #16, feedback on long work: progress on a terminal, periodic lines otherwise, and the
sample's skipped rows listed once in the summary instead of repeated WARNING lines."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from worker.cli import cli
from worker.cli.progress import progress


def test_without_a_terminal_progress_is_periodic_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with progress("files pass", "accounts", console, every_seconds=0) as update:
        for done in (100, 200, 300):
            update(done, 300)
    lines = out.getvalue().splitlines()
    assert lines[:3] == [f"files pass: {n} of 300 accounts (0 s)" for n in (100, 200, 300)]
    assert lines[3] == "files pass: done, 300 accounts (0 s)"


def test_on_a_terminal_progress_is_a_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with progress("backtest", "accounts", console) as update:
        update(5, 10)
    assert "backtest" in out.getvalue() and "5/10" in out.getvalue()


def test_disabled_progress_prints_nothing() -> None:
    out = io.StringIO()
    with progress("x", "accounts", Console(file=out), enabled=False, every_seconds=0) as update:
        update(1, 2)
    assert out.getvalue() == ""


def test_first_run_lists_the_samples_skipped_rows_once_in_the_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "--output-dir", str(tmp_path / "out")], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.output
    for row in (
        "acc-bad-seats: invalid_account accounts row 602",
        "acc-bad-neg: invalid_account accounts row 603",
        "acc-0051: duplicate_account_id accounts row 604",
    ):
        assert result.output.count(f"skipped {row}") == 1, result.output
