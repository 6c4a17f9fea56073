"""`oppworker pipedrive setup` against the sandbox: token check, key field created once, the plan
cap explained, organization fields reported, webhooks registered with Basic credentials."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from pydantic import SecretStr

from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.settings import PipedriveSettings
from connectors.pipedrive.setup import run_setup
from tests.sandboxes.pipedrive import PipedriveSandbox
from worker.cli import cli


def client_for(sandbox: PipedriveSandbox, **overrides: object) -> tuple[PipedriveClient, PipedriveSettings]:
    settings = PipedriveSettings(
        api_token=sandbox.token, base_url=sandbox.url, backoff_base=0.01, backoff_max=0.02, **overrides
    )
    return PipedriveClient(settings), settings


def test_setup_creates_the_key_field_once_and_reports_organization_fields() -> None:
    with PipedriveSandbox(deal_fields=()) as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        sandbox.define_field("organization", "seats_used", "double")
        client, settings = client_for(sandbox)
        report = run_setup(client, settings)
        assert report.ok and report.user.startswith("Admin <admin@example.com> on sandbox")
        assert [f["field_type"] for f in sandbox.fields["deal"] if f["field_name"] == "Opportunity key"] == [
            "varchar"
        ]
        assert any("organization field 'seats_used'" in line for line in report.found)
        assert any("'seats_purchased' (feeds seats_purchased)" in line for line in report.missing)
        assert not any("'products'" in line for line in report.missing)  # read from won deals by default
        again = run_setup(client, settings)
        assert not again.created and len(sandbox.fields["deal"]) == 1
        client.close()


def test_the_plan_cap_on_custom_fields_is_explained() -> None:
    with PipedriveSandbox(deal_fields=(), field_cap=0) as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        client, settings = client_for(sandbox)
        report = run_setup(client, settings)
        assert not report.ok
        (problem,) = report.problems
        assert "custom-field cap" in problem and "feature_capping_custom_fields_limit" in problem
        client.close()


def test_a_refused_token_is_reported_without_the_token() -> None:
    with PipedriveSandbox() as sandbox:
        settings = PipedriveSettings(api_token="not-the-token-xyz", base_url=sandbox.url)
        report = run_setup(PipedriveClient(settings), settings)
        assert not report.ok and "PIPEDRIVE_API_TOKEN" in report.problems[0]
        assert "not-the-token-xyz" not in report.problems[0]


def test_setup_registers_v2_webhooks_for_organizations_and_deals_with_basic_credentials() -> None:
    with PipedriveSandbox() as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        client, settings = client_for(sandbox)
        report = run_setup(
            client,
            settings,
            webhook_url="https://ow.example.com/webhooks/pipedrive",
            webhook_user="hook",
            webhook_password=SecretStr("pw-123"),
        )
        assert report.ok
        assert [
            (w["event_object"], w["event_action"], w["version"], w["http_auth_user"], w["http_auth_password"])
            for w in sandbox.webhooks
        ] == [("organization", "*", "2.0", "hook", "pw-123"), ("deal", "*", "2.0", "hook", "pw-123")]
        assert all("pw-123" not in line for line in report.created)
        client.close()


def test_the_cli_command_prints_the_report_and_exits_non_zero_on_problems() -> None:
    with PipedriveSandbox(deal_fields=(), field_cap=0) as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        result = CliRunner().invoke(
            cli, ["pipedrive", "setup", "--base-url", sandbox.url], env={"PIPEDRIVE_API_TOKEN": sandbox.token}
        )
        assert result.exit_code == 1
        assert "token OK" in result.output and "PROBLEM" in result.output and "MISSING" in result.output
        assert sandbox.token not in result.output


def test_setup_says_how_to_import_a_sell_export_for_migrate() -> None:
    with PipedriveSandbox() as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        client, settings = client_for(sandbox)
        before = " ".join(run_setup(client, settings).migration)
        sandbox.define_field("organization", "Zendesk Sell id", "varchar")
        after = " ".join(run_setup(client, settings).migration)
        client.close()
    assert "2027-08-31" in before and "create an organization field 'Zendesk Sell id'" in before
    assert "'opportunity_key' column to the deal field 'Opportunity key'" in before
    assert "oppworker migrate --from zendesk-sell --to pipedrive --dry-run" in before
    assert "'Zendesk Sell id' exists" in after and "create an organization field" not in after


def test_the_cli_names_each_check_off_a_terminal_and_json_stays_clean() -> None:
    with PipedriveSandbox(deal_fields=()) as sandbox:
        sandbox.add_user("Admin", "admin@example.com")
        env = {"PIPEDRIVE_API_TOKEN": sandbox.token}
        plain = CliRunner().invoke(cli, ["pipedrive", "setup", "--base-url", sandbox.url], env=env)
        as_json = CliRunner().invoke(
            cli, ["pipedrive", "setup", "--base-url", sandbox.url, "--json"], env=env
        )
    assert plain.exit_code == 0, plain.output
    lines = [line for line in plain.stderr.splitlines() if line.startswith("pipedrive setup: ")]
    assert lines[0].startswith("pipedrive setup: 0 of 4 checks") and lines[0].endswith("checking API token")
    assert any(line.endswith("checking deal field 'Opportunity key'") for line in lines), lines
    assert re.fullmatch(r"pipedrive setup: 4 of 4 checks \(\d+ s\)", lines[-1])
    assert "pipedrive setup:" not in plain.stdout and "created   deal field" in plain.stdout
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["ok"] is True and report["created"] == [] and report["found"]  # the first run made it
    assert "pipedrive setup:" not in as_json.output and sandbox.token not in as_json.output
