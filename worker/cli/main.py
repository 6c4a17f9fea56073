"""The `oppworker` command. Thin: parse flags, call a job function, print what it returned."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from connectors.registry import available, cli_groups
from connectors.setup_progress import CONTEXT_KEY as CHECK_PROGRESS
from connectors.setup_progress import OnCheck
from domain import ConnectorError
from playbooks.loader import PlaybookError, load_playbooks
from worker.cli import config_cmd, explain_cmd, intents, migrate, outcomes, service, sources
from worker.cli.console import console, err_console, parse_as_of, require_ledger
from worker.cli.console import settings_from as _settings
from worker.cli.failures import FriendlyGroup
from worker.cli.progress import check_progress, progress
from worker.cli.run_output import print_ranked, print_summary
from worker.pipeline.pass_lock import PassRunning


@click.group(cls=FriendlyGroup)
@click.version_option(
    package_name="opportunity-worker", prog_name="oppworker", message="%(prog)s %(version)s"
)
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML settings file.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, verbose: int) -> None:
    """Find upsell and cross-sell opportunities and write them to the CRM as deals and CSM tasks."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["verbose"] = verbose  # -vv shows the traceback behind any failure (worker/cli/failures.py)
    ctx.obj[CHECK_PROGRESS] = _setup_check_progress  # `oppworker <crm> setup` (connectors/setup_progress.py)


def _setup_check_progress(label: str, *, enabled: bool = True) -> AbstractContextManager[OnCheck]:
    return check_progress(label, err_console, enabled=enabled)


@cli.command()
@click.option("--crm", type=click.Choice(available()), default="files", show_default=True)
@click.option("--dry-run", is_flag=True, help="Make no write call; print the exact payloads instead.")
@click.option("--full", is_flag=True, help="Ignore the stored cursor and read every account.")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="File connector input folder.",
)
@click.option(
    "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Outbox and ledger folder."
)
@click.option("--as-of", help="Score as of this moment (ISO 8601); default: the data's own date or now.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--limit", default=25, show_default=True, help="Rows of the ranked table.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue the pass for the Celery workers (their configuration applies) and print its run id.",
)
@click.pass_context
def run(
    ctx: click.Context,
    crm: str,
    dry_run: bool,
    full: bool,
    data_dir: Path | None,
    output_dir: Path | None,
    as_of: str | None,
    as_json: bool,
    limit: int,
    enqueue: bool,
) -> None:
    """Run one pass: read accounts, score every playbook, write new deals and tasks."""
    from worker.pipeline.run import run_pass

    settings = _settings(ctx, data_dir=data_dir, output_dir=output_dir)
    if enqueue:
        if dry_run or as_of:
            raise click.UsageError(
                "--enqueue cannot be combined with --dry-run or --as-of (run those in-process)"
            )
        from worker.service.enqueue import enqueue_pass, require_redis

        require_redis()  # fail in seconds with a clear message, not after 21 s of broker retries
        run_id = enqueue_pass(settings, crm, full=full)
        click.echo(json.dumps({"run_id": run_id, "status": "queued"}) if as_json else run_id)
        return
    try:
        with progress(
            f"{crm} pass: reading, scoring and writing", "accounts", err_console, enabled=not as_json
        ) as update:
            report = run_pass(
                settings,
                crm,
                full=full,
                dry_run=dry_run,
                now=parse_as_of(as_of),
                progress=lambda n: update(n, None),
            )
    except PlaybookError as exc:
        raise click.ClickException(f"playbook: {exc}") from None
    except ConnectorError as exc:
        raise click.ClickException(f"{crm} ({exc.kind.value}): {exc}") from None
    except PassRunning as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.summary(), indent=2, default=str))
        return
    if dry_run:
        console.rule("dry run: the writes this pass would make")
        for payload in report.dry_run_payloads:
            console.print_json(json.dumps(payload, default=str))
    print_ranked(report, limit)
    print_summary(report, settings)


@cli.group()
def playbooks() -> None:
    """Inspect and validate playbook files."""


@playbooks.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def playbooks_check(path: Path) -> None:
    """Validate a playbook file or a folder of them; exit 1 listing every problem as
    `file:line: field: problem` (a folder without playbooks is one too)."""
    from playbooks.loader import check_playbooks

    check = check_playbooks([path])
    for problem in check.problems:
        click.echo(f"invalid: {problem}", err=True)  # plain: a file:line reference must not be wrapped
    if check.problems:
        sys.exit(1)
    for playbook, _ in check.playbooks.values():
        console.print(
            f"ok  {escape(playbook.id)}  ({playbook.kind.value}, {len(playbook.signals)} signals, threshold {playbook.threshold})"
        )


@playbooks.command("list")
@click.pass_context
def playbooks_list(ctx: click.Context) -> None:
    """List the playbooks a pass would use (built-in plus configured folders)."""
    settings = _settings(ctx)
    try:
        found = load_playbooks(settings.playbook_dirs, include_builtin=settings.include_builtin_playbooks)
    except PlaybookError as exc:
        raise click.ClickException(str(exc)) from None
    for playbook in found:
        console.print(
            f"{playbook.id:24} {playbook.kind.value:10} {playbook.title}", markup=False, highlight=False
        )


@cli.command()
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent passes with their reports."""
    from worker.store.ledger import Ledger

    settings = _settings(ctx)
    rows = Ledger(require_ledger(settings)).recent_runs(limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="Recent passes")
    for column in ("run", "crm", "mode", "status", "started", "read", "new", "deals", "tasks", "error"):
        table.add_column(column)
    for row in rows:
        rep = row["report"] or {}
        table.add_row(
            row["id"][:12],
            row["crm"],
            row["mode"],
            row["status"],
            f"{row['started_at']:%Y-%m-%d %H:%M:%S}",
            str(rep.get("accounts_read", "")),
            str(rep.get("new", "")),
            str(rep.get("deals_created", "")),
            str(rep.get("tasks_created", "")),
            escape((row["error"] or "")[:60]),
        )
    console.print(table)


# Each CRM's own sub-commands (`oppworker hubspot setup`, ...) come from its folder under
# connectors/, found through the registry; the service and outcome commands are ours.
for _group in cli_groups():
    cli.add_command(_group)
for _group in (sources.group, intents.group, config_cmd.group):
    cli.add_command(_group)
for _command in (*explain_cmd.commands, *service.commands, *outcomes.commands, *migrate.commands):
    cli.add_command(_command)


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
