"""`oppworker hubspot setup`: idempotent property creation and the scope check, over HTTP."""

from __future__ import annotations

from click.testing import CliRunner

from connectors.hubspot.cli import group
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.setup import DEAL_PROPERTY_DEFINITIONS, run_setup
from tests.hubspot.conftest import TOKEN, settings_for
from tests.sandboxes.hubspot import ALL_SCOPES, HubSpotSandbox


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
