"""`oppworker pipedrive ...`: Pipedrive commands (worker/cli.py mounts `group`)."""

from __future__ import annotations

import click
from pydantic import SecretStr, ValidationError

from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.settings import PipedriveSettings
from connectors.pipedrive.setup import run_setup
from connectors.secret_files import read_secret_file
from connectors.setup_cli import echo_sections, exit_with_json, finish, run_checks


@click.group(name="pipedrive", help="Pipedrive CRM commands.")
def group() -> None:
    pass


@group.command(
    "setup",
    help="Check the token, create the deal key field, report organization fields, "
    "optionally register webhooks.",
)
@click.option("--base-url", default=None, help="Override PIPEDRIVE_BASE_URL.")
@click.option("--company-domain", default=None, help="Override PIPEDRIVE_COMPANY_DOMAIN.")
@click.option("--key-field", default=None, help="Name of the deal field holding the opportunity key.")
@click.option(
    "--webhook-url",
    default=None,
    help="Register webhooks for organization and deal changes to this URL (ending in /webhooks/pipedrive).",
)
@click.option("--webhook-user", default=None, help="HTTP Basic user Pipedrive sends with each webhook.")
@click.option(
    "--webhook-password",
    default=None,
    envvar="PIPEDRIVE_WEBHOOK_PASSWORD",
    show_envvar=True,
    help="HTTP Basic password (prefer the environment variable, or the secrets file "
    "oppworker_pipedrive_webhook_password in OPPWORKER_SECRETS_DIR).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (no progress lines).")
@click.pass_context
def setup(
    ctx: click.Context,
    base_url: str | None,
    company_domain: str | None,
    key_field: str | None,
    webhook_url: str | None,
    webhook_user: str | None,
    webhook_password: str | None,
    as_json: bool,
) -> None:
    overrides = {
        k: v
        for k, v in {
            "base_url": base_url,
            "company_domain": company_domain,
            "opportunity_key_field": key_field,
        }.items()
        if v
    }
    if webhook_password is None:
        webhook_password = read_secret_file("PIPEDRIVE_WEBHOOK_PASSWORD")
    password = SecretStr(webhook_password) if webhook_password else None
    try:
        settings = PipedriveSettings(**overrides)  # type: ignore[arg-type]  # pydantic parses the flags
        report = run_checks(
            ctx,
            "pipedrive setup",
            as_json,
            lambda: PipedriveClient(settings),
            lambda client, on_check: run_setup(
                client,
                settings,
                webhook_url=webhook_url,
                webhook_user=webhook_user,
                webhook_password=password,
                on_check=on_check,
            ),
        )
    except ValidationError as exc:  # field by field, without the inputs (one of them is the token)
        raise click.ClickException(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        ) from None
    if as_json:
        exit_with_json(report)
    if report.user:
        click.echo(f"token OK  {report.user}")
    echo_sections(
        [
            ("created   ", report.created),
            ("found     ", report.found),
            ("MISSING   ", report.missing),
            ("WARNING   ", report.warnings),
            ("PROBLEM   ", report.problems),
            ("migrate   ", report.migration),
        ]
    )
    finish(
        report,
        "Pipedrive setup complete."
        + (" Missing organization fields read as empty." if report.missing else ""),
    )
