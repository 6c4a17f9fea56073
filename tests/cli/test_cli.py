"""The `oppworker` command as a user types it (click's runner, real files, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from playbooks.loader import builtin_playbook_dir
from worker.cli import cli
from worker.store.ledger import Ledger


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), obj={}, env=env, catch_exceptions=False)


def test_run_prints_ranked_table_and_summary_then_reruns_clean(tmp_path):
    out = str(tmp_path / "out")
    first = invoke("run", "--output-dir", out, "--limit", "5")
    assert first.exit_code == 0, first.output
    # Best first by expected value (issue #15): the order capacity planning writes in, so the top
    # is not the highest score; the stored report's ranked list is in that same order.
    assert "New opportunities (504), best first (chance to close x amount)" in first.output
    assert "... and 499 more" in first.output
    (stored,) = Ledger(f"sqlite:///{tmp_path / 'out' / 'ledger.sqlite3'}").recent_runs(1)
    ranked = stored["report"]["ranked"]
    assert [r["value"] for r in ranked] == sorted((r["value"] for r in ranked), reverse=True)
    rows = [first.output.index(f"({r['account_id']})") for r in ranked[:5]]
    assert rows == sorted(rows)  # the table prints the top five in that order
    assert "accounts read 600" in first.output and "suppressed by reason" in first.output
    again = invoke("run", "--output-dir", out, "--json")
    report = json.loads(again.output)
    assert (report["mode"], report["new"], report["deals_created"]) == ("incremental", 0, 0)
    runs = invoke("runs", "--json", env={"OPPWORKER_OUTPUT_DIR": out})
    assert [r["mode"] for r in json.loads(runs.output)] == ["incremental", "full"]


def test_dry_run_prints_payloads_and_writes_nothing(tmp_path):
    result = invoke("run", "--dry-run", "--output-dir", str(tmp_path))
    assert result.exit_code == 0
    assert '"append": "deals.jsonl"' in result.output
    assert not (tmp_path / "outbox" / "deals.jsonl").exists()


def test_explain_shows_stage_scores_and_why_not(tmp_path):
    result = invoke("explain", "acc-0008", "--output-dir", str(tmp_path))
    assert result.exit_code == 0
    assert "Journey stage: at_risk because active users down" in result.output
    assert "seat_expansion (upsell)" in result.output and "suppressed (at_risk)" in result.output
    assert "(not met)" in result.output
    missing = invoke("explain", "nope", "--output-dir", str(tmp_path))
    assert missing.exit_code != 0 and "not found" in missing.output


def test_explain_a_control_group_account(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    text = (builtin_playbook_dir() / "seat_expansion.yaml").read_text()
    (folder / "seat_expansion.yaml").write_text(text + "holdout: 0.99\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"playbook_dirs: [{folder}]\noutput_dir: {tmp_path / 'out'}\n")
    result = invoke("--config", str(config), "explain", "acc-0001")
    assert result.exit_code == 0, result.output
    assert "held out (control group" in result.output


def test_playbooks_check_names_file_line_and_field(tmp_path):
    ok = invoke("playbooks", "check", str(builtin_playbook_dir()))
    assert ok.exit_code == 0 and ok.output.count("ok  ") == len(list(builtin_playbook_dir().glob("*.yaml")))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (builtin_playbook_dir() / "seat_expansion.yaml")
        .read_text()
        .replace('operator: ">="', 'operator: "=>"', 1)
    )
    result = CliRunner().invoke(cli, ["playbooks", "check", str(bad)], obj={})
    assert result.exit_code == 1
    assert f"invalid: {bad}:9: signals[0].operator: unknown operator '=>'" in result.output


def test_a_malformed_playbook_stops_the_run_before_it_starts(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "broken.yaml").write_text("id: broken\nkind: upsell\n")
    result = invoke(
        "run", "--output-dir", str(tmp_path / "out"), env={"OPPWORKER_PLAYBOOK_DIRS": str(folder)}
    )
    assert result.exit_code == 1
    assert "broken.yaml:1" in result.output and "title: Field required" in result.output
    assert not Path(tmp_path / "out" / "outbox").exists()


def test_version_names_the_program_and_the_installed_version() -> None:
    from importlib.metadata import version

    from click.testing import CliRunner

    from worker.cli.main import cli

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"oppworker {version('opportunity-worker')}\n"
