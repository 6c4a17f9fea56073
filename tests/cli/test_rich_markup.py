"""Issue #17, 'Rich output': CRM data printed through rich is text, never markup. An account named
`Acme [/bold]` made `oppworker run` exit 1 after its writes succeeded (rich MarkupError) and crashed
`explain`. The bundled sample with every account renamed so, through the real CLI."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from click.testing import CliRunner

from connectors.files.connector import sample_data_dir
from worker.cli import cli

HOSTILE = "Acme [/bold] [red]"


def _hostile_sample(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(sample_data_dir(), folder)
    accounts = folder / "accounts.csv"
    with accounts.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["name"] = f"{HOSTILE} {row['id']}"
    with accounts.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_run_and_explain_print_markup_in_names_as_text(tmp_path: Path) -> None:
    folder = _hostile_sample(tmp_path)
    out = str(tmp_path / "out")
    run = CliRunner().invoke(
        cli, ["run", "--data-dir", str(folder), "--output-dir", out, "--limit", "5"], obj={}
    )
    assert run.exit_code == 0, run.output
    assert f"{HOSTILE} acc-" in run.output  # the literal name, brackets and all
    explain = CliRunner().invoke(
        cli, ["explain", "acc-0001", "--data-dir", str(folder), "--output-dir", out], obj={}
    )
    assert explain.exit_code == 0, explain.output
    assert f"{HOSTILE} acc-0001 (acc-0001)" in explain.output
