"""`oppworker sources check`: run each configured SQL usage source's queries with LIMIT and show a
sample, the column types and how many rows join to the CRM's accounts (connectors/sql/check.py)."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.registry import available, build_connector
from connectors.sql.check import check_sources
from connectors.sql.enriched import EnrichedConnector
from domain import ConnectorError
from worker.pipeline.settings import load_settings


@click.group(name="sources", help="SQL usage sources (the settings file's usage_sources).")
def group() -> None:
    pass


@group.command(
    "check",
    help="Run each source's queries with LIMIT; print a sample, column types and the join to accounts.",
)
@click.option("--crm", type=click.Choice(available()), default="files", show_default=True)
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=5, show_default=True, help="Sample rows per query."
)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="File connector input folder."
)
@click.pass_context
def check(ctx: click.Context, crm: str, limit: int, data_dir: Path | None) -> None:
    try:
        settings = load_settings((ctx.obj or {}).get("config"), data_dir=data_dir)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    if not settings.usage_sources:
        raise click.ClickException("no usage_sources in the settings (see README, 'Usage from SQL sources')")
    try:
        connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": True})
        assert isinstance(connector, EnrichedConnector)
        try:
            results = check_sources(connector, limit)
        finally:
            connector.close()
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(
            f"source {result.name} ({result.url}), joined on {result.account_key}: "
            f"{result.accounts} accounts in {crm}, {result.accounts_without_key} without a key"
        )
        for q in result.queries:
            click.echo(f"  {q.which}_query columns: " + ", ".join(f"{c} ({q.types[c]})" for c in q.columns))
            for row in q.sample:
                click.echo("    " + " | ".join(str(v) for v in row))
            click.echo(
                f"  {q.which}: {q.rows_joined} rows join {q.keys_joined} accounts; "
                f"{q.rows_unknown} rows match no account"
                + (f" (e.g. {', '.join(q.unknown_keys_sample)})" if q.unknown_keys_sample else "")
            )
