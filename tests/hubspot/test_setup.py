"""`oppworker hubspot setup`: idempotent property creation and the scope check, over HTTP."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from connectors.hubspot.cli import group
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.setup import DEAL_PROPERTY_DEFINITIONS, run_setup
from tests.hubspot.conftest import TOKEN, settings_for
from tests.sandboxes.hubspot import ALL_SCOPES, HubSpotSandbox
from worker.cli import cli


def test_setup_creates_then_finds_the_properties(sandbox: HubSpotSandbox) -> None:
    client = HubSpotClient(settings_for(sandbox))
    first = run_setup(client)
    names = [d["name"] for d in DEAL_PROPERTY_DEFINITIONS]
    assert first.ok and first.created == names and first.found == []
    assert sandbox.properties["deals"]["oppworker_key"]["hasUniqueValue"] is True
    second = run_setup(client)
    assert second.ok and second.created == [] and second.found == names


def test_setup_reports_a_key_property_that_is_not_unique(sandbox: HubSpotSandbox) -> None:
    sandbox.define_property("deals", "oppworker_key", unique=False)
    report = run_setup(HubSpotClient(settings_for(sandbox)))
    assert not report.ok and "unique" in report.problems[0]


def test_setup_reports_missing_scopes_by_name() -> None:
    with HubSpotSandbox(token=TOKEN, scopes=ALL_SCOPES - {"crm.objects.owners.read"}) as box:
        report = run_setup(HubSpotClient(settings_for(box)))
    assert report.missing_scopes == ["crm.objects.owners.read"] and not report.ok


def test_cli_setup_prints_what_it_did(sandbox: HubSpotSandbox) -> None:
    runner = CliRunner()
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
    result = runner.invoke(group, ["setup", "--base-url", sandbox.url], env=env)
    assert result.exit_code == 0, result.output
    assert "created  deal property oppworker_key" in result.output and TOKEN not in result.output
    again = runner.invoke(group, ["setup", "--base-url", sandbox.url], env=env)
    assert "found    deal property oppworker_key" in again.output and again.exit_code == 0


def test_cli_setup_without_token_fails_clearly(sandbox: HubSpotSandbox) -> None:
    result = CliRunner().invoke(group, ["setup", "--base-url", sandbox.url], env={"HUBSPOT_ACCESS_TOKEN": ""})
    assert result.exit_code != 0 and "HUBSPOT_ACCESS_TOKEN" in result.output


def _progress_lines(text: str, label: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{label}: ")]


def test_cli_setup_names_each_check_off_a_terminal(sandbox: HubSpotSandbox) -> None:
    result = CliRunner().invoke(
        cli, ["hubspot", "setup", "--base-url", sandbox.url], env={"HUBSPOT_ACCESS_TOKEN": TOKEN}
    )
    assert result.exit_code == 0, result.output
    lines = _progress_lines(result.stderr, "hubspot setup")
    total = 1 + len(DEAL_PROPERTY_DEFINITIONS)
    assert re.fullmatch(rf"hubspot setup: 0 of {total} checks \(\d+ s\), checking token scopes", lines[0])
    assert any(line.endswith("checking deal property oppworker_key") for line in lines), lines
    assert re.fullmatch(rf"hubspot setup: {total} of {total} checks \(\d+ s\)", lines[-1])
    assert len(lines) == total + 1
    assert not _progress_lines(result.stdout, "hubspot setup")  # the report stays on stdout, alone
    assert "created  deal property oppworker_key" in result.stdout and TOKEN not in result.output


def test_cli_setup_json_is_clean_json_without_progress(sandbox: HubSpotSandbox) -> None:
    result = CliRunner().invoke(
        cli, ["hubspot", "setup", "--base-url", sandbox.url, "--json"], env={"HUBSPOT_ACCESS_TOKEN": TOKEN}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["created"] == [d["name"] for d in DEAL_PROPERTY_DEFINITIONS]
    assert "hubspot setup:" not in result.output and TOKEN not in result.output


def test_run_setup_reports_checks_as_they_start(sandbox: HubSpotSandbox) -> None:
    heard: list[tuple[str, int, int]] = []
    run_setup(
        HubSpotClient(settings_for(sandbox)), lambda name, done, total: heard.append((name, done, total))
    )
    total = 1 + len(DEAL_PROPERTY_DEFINITIONS)
    assert heard[0] == ("token scopes", 0, total) and heard[-1] == ("", total, total)
    assert [done for _, done, _ in heard] == list(range(total + 1))
