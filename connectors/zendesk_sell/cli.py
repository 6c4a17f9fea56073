"""`oppworker zendesk-sell ...`: Zendesk Sell commands (found by `connectors.registry.cli_groups`)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from connectors.setup_progress import from_context
from connectors.zendesk_sell.client import SellClient
from connectors.zendesk_sell.settings import ZendeskSellSettings
from connectors.zendesk_sell.setup import RETIREMENT_NOTICE, run_setup
from domain import ConnectorError


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
    try:
        settings = ZendeskSellSettings(**overrides)  # type: ignore[arg-type]  # pydantic parses the flags
        client = SellClient(settings)
        try:
            with from_context(ctx, "zendesk-sell setup", enabled=not as_json) as on_check:
                report = run_setup(client, settings, on_check)
        finally:
            client.close()
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        payload = {"ok": report.ok, **asdict(report), "notice": RETIREMENT_NOTICE}
        click.echo(json.dumps(payload, indent=2))
        raise SystemExit(0 if report.ok else 1)
    click.echo(f"NOTICE    {RETIREMENT_NOTICE}")
    if report.user:
        click.echo(f"token OK  {report.user}")
    for item in report.found:
        click.echo(f"found     {item}")
    for item in report.warnings:
        click.echo(f"WARNING   {item}")
    for item in report.to_create:
        click.echo(f"TO DO     {item}")
    for item in report.problems:
        click.echo(f"PROBLEM   {item}")
    if not report.ok:
        raise SystemExit(1)
    click.echo("Zendesk Sell setup complete.")
