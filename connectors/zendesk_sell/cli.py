"""`oppworker zendesk-sell ...`: Zendesk Sell commands (found by `connectors.registry.cli_groups`)."""

from __future__ import annotations

import click

from connectors.setup_cli import echo_sections, exit_with_json, finish, run_checks
from connectors.zendesk_sell.client import SellClient
from connectors.zendesk_sell.settings import ZendeskSellSettings
from connectors.zendesk_sell.setup import RETIREMENT_NOTICE, run_setup


@click.group(name="zendesk-sell", help="Zendesk Sell CRM commands.")
def group() -> None:
    pass


@group.command(
    "setup",
    help="Check the access token and the custom fields the connector needs; print what an admin must create.",
)
@click.option("--base-url", default=None, help="Override ZENDESK_SELL_BASE_URL.")
@click.option("--key-field", default=None, help="Deal custom field holding the opportunity key.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (no progress lines).")
@click.pass_context
def setup(ctx: click.Context, base_url: str | None, key_field: str | None, as_json: bool) -> None:
    overrides = {k: v for k, v in {"base_url": base_url, "opportunity_key_field": key_field}.items() if v}
    settings = ZendeskSellSettings(**overrides)  # type: ignore[arg-type]  # pydantic parses the flags
    report = run_checks(
        ctx,
        "zendesk-sell setup",
        as_json,
        lambda: SellClient(settings),
        lambda client, on_check: run_setup(client, settings, on_check),
    )
    if as_json:
        exit_with_json(report, notice=RETIREMENT_NOTICE)
    click.echo(f"NOTICE    {RETIREMENT_NOTICE}")
    if report.user:
        click.echo(f"token OK  {report.user}")
    echo_sections(
        [
            ("found     ", report.found),
            ("WARNING   ", report.warnings),
            ("TO DO     ", report.to_create),
            ("PROBLEM   ", report.problems),
        ]
    )
    finish(report, "Zendesk Sell setup complete.")
