"""`oppworker hubspot ...`: HubSpot-specific commands, found by `connectors.registry.cli_groups`."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import load_settings
from connectors.hubspot.setup import run_setup
from connectors.setup_progress import from_context
from domain import ConnectorError


@click.group(name="hubspot", help="HubSpot CRM commands.")
def group() -> None:
    pass


@group.command(
    "setup",
    help="Check the token's scopes by probing (Service Key, project app or legacy private app token) and create the custom deal properties the connector needs (idempotent).",
)
@click.option("--base-url", default=None, help="Override HUBSPOT_BASE_URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (no progress lines).")
@click.pass_context
def setup(ctx: click.Context, base_url: str | None, as_json: bool) -> None:
    try:
        settings = load_settings({"base_url": base_url})
        client = HubSpotClient(settings)
        try:
            with from_context(ctx, "hubspot setup", enabled=not as_json) as on_check:
                report = run_setup(client, on_check)
        finally:
            client.close()
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"ok": report.ok, **asdict(report)}, indent=2))
        raise SystemExit(0 if report.ok else 1)
    click.echo(f"token    {report.credential}")
    for name in report.created:
        click.echo(f"created  deal property {name}")
    for name in report.found:
        click.echo(f"found    deal property {name}")
    for scope in report.missing_scopes:
        click.echo(
            f"MISSING  scope {scope} (add it to the Service Key, or to the app's requiredScopes and reinstall)"
        )
    for problem in report.problems:
        click.echo(f"PROBLEM  {problem}")
    if not report.ok:
        raise SystemExit(1)
    click.echo("HubSpot setup complete.")
