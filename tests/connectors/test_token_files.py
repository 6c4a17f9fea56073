"""CRM tokens as secrets files (issue #16): `OPPWORKER_SECRETS_DIR/oppworker_<variable>` feeds the
token when its environment variable is unset or blank; the environment beats the file; an empty
file is "not configured", said with the file's name; the token is never printed, even at -vv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connectors.hubspot.settings import HubSpotSettings
from connectors.pipedrive.settings import PipedriveSettings
from connectors.secret_files import secret_file
from connectors.zendesk_sell.settings import ZendeskSellSettings
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.cli import cli

TOKEN = "pat-na1-token-FROM-a-file"
TOKEN_VARIABLES = ("HUBSPOT_ACCESS_TOKEN", "ZENDESK_SELL_ACCESS_TOKEN", "PIPEDRIVE_API_TOKEN")


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    monkeypatch.setenv("OPPWORKER_SECRETS_DIR", str(folder))
    for variable in TOKEN_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return folder


def _hubspot_setup(box: HubSpotSandbox, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, ["-vv", "hubspot", "setup", "--base-url", box.url], env=env or {})


def test_the_file_is_named_after_the_variable(secrets: Path) -> None:
    assert secret_file("HUBSPOT_ACCESS_TOKEN") == secrets / "oppworker_hubspot_access_token"
    assert secret_file("PIPEDRIVE_API_TOKEN") == secrets / "oppworker_pipedrive_api_token"
    assert secret_file("OPPWORKER_EVENTS_SECRET") == secrets / "oppworker_events_secret"  # the service's rule


def test_a_hubspot_token_file_reaches_the_sandbox_as_the_bearer_header(secrets: Path) -> None:
    (secrets / "oppworker_hubspot_access_token").write_text(TOKEN + "\n")  # `echo` adds a newline
    with HubSpotSandbox(token=TOKEN) as box:
        result = _hubspot_setup(box)
    # The sandbox answers 401 unless `Authorization: Bearer <TOKEN>` (tests/sandboxes/hubspot.py).
    assert result.exit_code == 0, result.output
    assert "HubSpot setup complete." in result.stdout and TOKEN not in result.output


def test_sell_and_pipedrive_tokens_come_from_their_files(secrets: Path) -> None:
    with SellSandbox() as sell, PipedriveSandbox() as pipedrive:
        sell.add_user("Admin", "admin@example.com", role="admin")
        pipedrive.add_user("Admin", "admin@example.com")
        (secrets / "oppworker_zendesk_sell_access_token").write_text(sell.token)
        (secrets / "oppworker_pipedrive_api_token").write_text(f"  {pipedrive.token}\n")
        sell_result = CliRunner().invoke(
            cli, ["-vv", "zendesk-sell", "setup", "--base-url", sell.url, "--json"]
        )
        pipedrive_result = CliRunner().invoke(
            cli, ["-vv", "pipedrive", "setup", "--base-url", pipedrive.url, "--json"]
        )
    assert json.loads(sell_result.stdout)["user"].startswith("Admin <admin@example.com>"), sell_result.output
    assert json.loads(pipedrive_result.stdout)["user"].startswith("Admin <admin@example.com>")
    assert sell.token not in sell_result.output and pipedrive.token not in pipedrive_result.output


def test_an_empty_token_file_is_not_configured_and_says_which_file(secrets: Path) -> None:
    path = secrets / "oppworker_hubspot_access_token"
    path.write_text("  \n")
    with HubSpotSandbox(token=TOKEN) as box:
        result = _hubspot_setup(box)
        assert not box.calls_by_route  # refused before any call
    assert result.exit_code == 1
    assert f"HUBSPOT_ACCESS_TOKEN is not set and the secrets file {path} is empty" in result.output
    assert "Traceback" not in result.output


def test_no_token_anywhere_names_the_file_it_looked_for(secrets: Path) -> None:
    assert HubSpotSettings().access_token.get_secret_value() == ""
    with HubSpotSandbox(token=TOKEN) as box:
        result = _hubspot_setup(box)
    expected = (
        f"HUBSPOT_ACCESS_TOKEN is not set (nor a secrets file {secrets / 'oppworker_hubspot_access_token'})"
    )
    assert result.exit_code == 1 and expected in result.output


def test_the_environment_beats_the_file_and_a_blank_variable_does_not(secrets: Path) -> None:
    (secrets / "oppworker_hubspot_access_token").write_text("pat-from-the-FILE")
    with HubSpotSandbox(token=TOKEN) as box:
        from_env = _hubspot_setup(box, {"HUBSPOT_ACCESS_TOKEN": TOKEN})
        assert from_env.exit_code == 0, from_env.output  # the file's token would get a 401
        (secrets / "oppworker_hubspot_access_token").write_text(TOKEN)
        blank_env = _hubspot_setup(box, {"HUBSPOT_ACCESS_TOKEN": "  "})
        assert blank_env.exit_code == 0, blank_env.output  # compose's `${VAR:-}` cannot hide the file
    assert "pat-from-the-FILE" not in from_env.output and TOKEN not in blank_env.output


def test_a_value_passed_in_beats_both(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (secrets / "oppworker_zendesk_sell_access_token").write_text("from-file")
    (secrets / "oppworker_pipedrive_api_token").write_text("from-file")
    assert ZendeskSellSettings().access_token.get_secret_value() == "from-file"
    monkeypatch.setenv("ZENDESK_SELL_ACCESS_TOKEN", "from-env")
    assert ZendeskSellSettings().access_token.get_secret_value() == "from-env"
    assert ZendeskSellSettings(access_token="given").access_token.get_secret_value() == "given"  # type: ignore[arg-type]
    assert PipedriveSettings(api_token="given").api_token.get_secret_value() == "given"  # type: ignore[arg-type]
    assert "from-file" not in repr(PipedriveSettings())


def test_config_show_names_the_secrets_file_masked(secrets: Path, tmp_path: Path) -> None:
    (secrets / "oppworker_hubspot_access_token").write_text("pat-SECRET-from-file\n")
    (secrets / "oppworker_pipedrive_api_token").write_text("\n")
    result = CliRunner().invoke(
        cli,
        ["config", "show", "--json", "--crm", "hubspot", "--crm", "pipedrive", "--crm", "zendesk-sell"],
        env={"ZENDESK_SELL_ACCESS_TOKEN": "sell-SECRET-env", "OPPWORKER_OUTPUT_DIR": str(tmp_path / "out")},
    )
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.output
    shown = json.loads(result.stdout)
    assert shown["crm.hubspot.access_token"] == {
        "value": "***",
        "source": f"secrets file {secrets / 'oppworker_hubspot_access_token'}",
    }
    assert shown["crm.pipedrive.api_token"] == {
        "value": "(not set)",
        "source": f"secrets file {secrets / 'oppworker_pipedrive_api_token'} (empty: not configured)",
    }
    assert shown["crm.zendesk-sell.access_token"] == {
        "value": "***",
        "source": "env ZENDESK_SELL_ACCESS_TOKEN",
    }


def test_the_pipedrive_webhook_password_comes_from_its_file_too(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.webhooks.pipedrive import PipedriveWebhookSettings

    monkeypatch.delenv("PIPEDRIVE_WEBHOOK_PASSWORD", raising=False)
    (secrets / "oppworker_pipedrive_webhook_password").write_text("hook-pass\n")
    password = PipedriveWebhookSettings().password
    assert password is not None and password.get_secret_value() == "hook-pass"
    (secrets / "oppworker_pipedrive_webhook_password").write_text(" \n")
    assert PipedriveWebhookSettings().password is None  # empty file: the endpoint answers 503, not configured


def test_webhook_secrets_follow_the_same_rule(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.service.settings import load_service_settings

    (secrets / "oppworker_hubspot_app_secret").write_text("app-from-file\n")
    monkeypatch.setenv("OPPWORKER_HUBSPOT_APP_SECRET", " ")  # blank: the file still counts
    secret = load_service_settings().hubspot_app_secret
    assert secret is not None and secret.get_secret_value() == "app-from-file"
    monkeypatch.setenv("OPPWORKER_HUBSPOT_APP_SECRET", "app-from-env")
    secret = load_service_settings().hubspot_app_secret
    assert secret is not None and secret.get_secret_value() == "app-from-env"
