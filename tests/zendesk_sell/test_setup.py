"""`oppworker zendesk-sell setup` against the sandbox: token check and field instructions."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from connectors.zendesk_sell.cli import group
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.cli import cli

ALL_CONTACT_FIELDS = [
    ("plan", "string"),
    ("plan_rank", "number"),
    ("products", "multi_select_list"),
    ("seats_purchased", "number"),
    ("seats_used", "number"),
    ("mrr", "number"),
    ("currency", "string"),
    ("customer_since", "date"),
    ("contract_end_date", "date"),
    ("journey_stage", "list"),
    ("nps", "number"),
    ("csat", "number"),
    ("open_escalations", "number"),
    ("active_users", "number"),
    ("words_translated", "number"),
    ("api_calls", "number"),
    ("premium_feature_attempts", "number"),
]


def _invoke(sell: SellSandbox, token: str | None = None):
    env = {"ZENDESK_SELL_ACCESS_TOKEN": token or sell.token}
    return CliRunner().invoke(group, ["setup", "--base-url", sell.url], env=env)


def test_setup_passes_when_every_field_exists() -> None:
    with SellSandbox(contact_custom_fields=ALL_CONTACT_FIELDS) as sell:
        sell.add_user("Admin", "admin@example.com", role="admin")
        result = _invoke(sell)
    assert result.exit_code == 0, result.output
    assert "token OK  Admin <admin@example.com>" in result.output
    assert "found     deal custom field 'opportunity_key'" in result.output
    assert "Firehose access" in result.output and "setup complete" in result.output
    assert "Sell retires on 2027-08-31" in result.output and "pipedrive setup" in result.output
    assert not sell.writes  # setup never writes


def test_setup_prints_what_an_admin_must_create() -> None:
    with SellSandbox(
        deal_custom_fields=(),
        filterable_deal_fields=(),
        contact_custom_fields=ALL_CONTACT_FIELDS[:-1],
        firehose=False,
    ) as sell:
        sell.add_user("Admin", "admin@example.com")
        result = _invoke(sell)
    assert result.exit_code == 1
    assert "create a deal custom field named 'opportunity_key', type Text, marked Filterable" in result.output
    assert "create a contact custom field named 'premium_feature_attempts', type Number" in result.output
    assert "WARNING   Firehose is not available" in result.output


def test_setup_flags_a_key_field_that_is_not_filterable() -> None:
    with SellSandbox(filterable_deal_fields=(), contact_custom_fields=ALL_CONTACT_FIELDS) as sell:
        sell.add_user("Admin", "admin@example.com")
        result = _invoke(sell)
    assert result.exit_code == 1
    assert "mark the deal custom field 'opportunity_key' as Filterable" in result.output


def test_setup_names_a_refused_token_without_printing_it() -> None:
    with SellSandbox() as sell:
        sell.add_user("Admin", "admin@example.com")
        result = _invoke(sell, token="not-the-right-token-42")
    assert result.exit_code == 1
    assert "PROBLEM   the access token was refused" in result.output and "unauthorized" in result.output
    assert "not-the-right-token-42" not in result.output


def test_setup_does_not_ask_for_a_products_field_when_products_come_from_orders() -> None:
    fields = [f for f in ALL_CONTACT_FIELDS if f[0] != "products"]
    with SellSandbox(contact_custom_fields=fields) as sell:
        sell.add_user("Admin", "admin@example.com")
        env = {"ZENDESK_SELL_ACCESS_TOKEN": sell.token, "ZENDESK_SELL_PRODUCTS_SOURCE": "orders"}
        result = CliRunner().invoke(group, ["setup", "--base-url", sell.url], env=env)
        missing = CliRunner().invoke(
            group, ["setup", "--base-url", sell.url], env={"ZENDESK_SELL_ACCESS_TOKEN": sell.token}
        )
    assert result.exit_code == 0, result.output
    assert "named 'products'" in missing.output


def _full_cli(sell: SellSandbox, *flags: str):
    return CliRunner().invoke(
        cli,
        ["zendesk-sell", "setup", "--base-url", sell.url, *flags],
        env={"ZENDESK_SELL_ACCESS_TOKEN": sell.token},
    )


def test_setup_names_each_check_off_a_terminal_and_json_stays_clean() -> None:
    with SellSandbox(contact_custom_fields=ALL_CONTACT_FIELDS) as sell:
        sell.add_user("Admin", "admin@example.com", role="admin")
        plain = _full_cli(sell)
        as_json = _full_cli(sell, "--json")
    assert plain.exit_code == 0, plain.output
    lines = [line for line in plain.stderr.splitlines() if line.startswith("zendesk-sell setup: ")]
    assert lines[0].startswith("zendesk-sell setup: 0 of 4 checks") and lines[0].endswith(
        "checking access token"
    )
    assert any(line.endswith("checking Firehose access") for line in lines), lines
    assert re.fullmatch(r"zendesk-sell setup: 4 of 4 checks \(\d+ s\)", lines[-1])
    assert "zendesk-sell setup:" not in plain.stdout and sell.token not in plain.output
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["ok"] is True and report["user"].startswith("Admin <admin@example.com>")
    assert "zendesk-sell setup:" not in as_json.output
