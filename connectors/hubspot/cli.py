"""`oppworker hubspot ...`: HubSpot-specific commands, found by `connectors.registry.cli_groups`."""

from __future__ import annotations

import click

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import load_settings
from connectors.hubspot.setup import run_setup
from connectors.setup_cli import echo_sections, exit_with_json, finish, run_checks


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
    report = run_checks(
        ctx,
        "hubspot setup",
        as_json,
        lambda: HubSpotClient(load_settings({"base_url": base_url})),
        run_setup,
    )
    if as_json:
        exit_with_json(report)
    click.echo(f"token    {report.credential}")
    scope_hint = " (add it to the Service Key, or to the app's requiredScopes and reinstall)"
    echo_sections(
        [
            ("created  deal property ", report.created),
            ("found    deal property ", report.found),
            ("MISSING  scope ", [scope + scope_hint for scope in report.missing_scopes]),
            ("PROBLEM  ", report.problems),
        ]
    )
    finish(report, "HubSpot setup complete.")
