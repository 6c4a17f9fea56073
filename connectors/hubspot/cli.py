"""`oppworker hubspot ...`: HubSpot-specific commands, found by `connectors.registry.cli_groups`."""

from __future__ import annotations

import click

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import load_settings
from connectors.hubspot.setup import run_setup
from domain import ConnectorError


@click.group(name="hubspot", help="HubSpot CRM commands.")
def group() -> None:
    pass


@group.command("setup", help="Create the custom deal properties the connector needs (idempotent) and check token scopes.")
@click.option("--base-url", default=None, help="Override HUBSPOT_BASE_URL.")
def setup(base_url: str | None) -> None:
    try:
        settings = load_settings({"base_url": base_url})
        client = HubSpotClient(settings)
        try:
            report = run_setup(client)
        finally:
            client.close()
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    for name in report.created:
        click.echo(f"created  deal property {name}")
    for name in report.found:
        click.echo(f"found    deal property {name}")
    for scope in report.missing_scopes:
        click.echo(f"MISSING  scope {scope} (add it to the private app and use the new token)")
    for problem in report.problems:
        click.echo(f"PROBLEM  {problem}")
    if not report.ok:
        raise SystemExit(1)
    click.echo("HubSpot setup complete.")
