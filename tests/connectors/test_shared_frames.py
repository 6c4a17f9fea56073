"""The pieces Pipedrive and Zendesk Sell share (connectors/http_settings.py, connectors/setup_cli.py):
the same environment names and defaults for both, the same backoff curve, and a setup frame that
always closes its client and turns a ConnectorError into one click error line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import click
import pytest
from click.testing import CliRunner

from connectors.http_settings import HttpClientSettings
from connectors.pipedrive.settings import PipedriveSettings
from connectors.setup_cli import echo_sections, exit_with_json, finish, run_checks
from connectors.setup_progress import OnCheck
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import ConnectorError, FailureKind


@pytest.mark.parametrize(
    ("cls", "prefix"), [(PipedriveSettings, "PIPEDRIVE_"), (ZendeskSellSettings, "ZENDESK_SELL_")]
)
def test_both_crms_read_the_http_settings_from_their_own_prefix(
    cls: type[HttpClientSettings], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = cls()
    assert (defaults.connect_timeout, defaults.read_timeout, defaults.max_attempts) == (5.0, 30.0, 6)
    assert (defaults.backoff_base, defaults.backoff_max) == (1.0, 60.0)
    monkeypatch.setenv(f"{prefix}READ_TIMEOUT", "7")
    monkeypatch.setenv(f"{prefix}MAX_ATTEMPTS", "2")
    configured = cls()
    assert configured.client_options() == {
        "timeout": (5.0, 7.0),
        "max_attempts": 2,
        "backoff_base": 1.0,
        "backoff_max": 60.0,
    }


def test_backoff_doubles_from_the_base_up_to_the_cap_with_half_jitter() -> None:
    settings = HttpClientSettings(backoff_base=1.0, backoff_max=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        waits = [settings.backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, waits)


def test_a_blank_token_is_not_set_for_both_crms() -> None:
    assert PipedriveSettings(api_token="  ").api_token.get_secret_value() == ""
    assert ZendeskSellSettings(access_token=" \n").access_token.get_secret_value() == ""


@dataclass
class Report:
    ok: bool
    found: list[str] = field(default_factory=list)


@dataclass
class Client:
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def command(client: Client, checks, done: str = "Done.") -> click.Command:
    @click.command()
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def setup(ctx: click.Context, as_json: bool) -> None:
        report = run_checks(ctx, "demo setup", as_json, lambda: client, checks)
        if as_json:
            exit_with_json(report, notice="n")
        echo_sections([("found     ", report.found), ("PROBLEM   ", [])])
        finish(report, done)

    return setup


def test_the_frame_prints_labelled_lines_and_closes_the_client() -> None:
    client = Client()

    def checks(c: Client, on_check: OnCheck) -> Report:
        assert c is client and not c.closed
        return Report(ok=True, found=["a", "b"])

    result = CliRunner().invoke(command(client, checks), [])
    assert result.exit_code == 0 and client.closed
    assert result.output == "found     a\nfound     b\nDone.\n"


def test_a_failed_setup_exits_1_and_json_has_ok_first_and_extras_last() -> None:
    client = Client()
    result = CliRunner().invoke(command(client, lambda c, on: Report(ok=False, found=["x"])), ["--json"])
    assert result.exit_code == 1 and client.closed
    payload = json.loads(result.output)
    assert list(payload) == ["ok", "found", "notice"] and payload["ok"] is False
    plain = CliRunner().invoke(command(Client(), lambda c, on: Report(ok=False)), [])
    assert plain.exit_code == 1 and "Done." not in plain.output


def test_a_connector_error_is_one_click_error_line_and_the_client_is_still_closed() -> None:
    client = Client()

    def refused(c: Client, on_check: OnCheck) -> Report:
        raise ConnectorError("token refused (HTTP 401)", FailureKind.AUTH)

    result = CliRunner().invoke(command(client, refused), [])
    assert result.exit_code == 1 and client.closed
    assert result.output.strip() == "Error: token refused (HTTP 401)"
