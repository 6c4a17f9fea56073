"""The `oppworker` command. Thin: parse flags, call a job function, print what it returned."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from connectors.registry import available, cli_groups
from connectors.setup_progress import CONTEXT_KEY as CHECK_PROGRESS
from connectors.setup_progress import OnCheck
from domain import ConnectorError
from playbooks.loader import PlaybookError, load_playbooks
from playbooks.render import render_explanation
from worker.cli import config_cmd, intents, migrate, outcomes, service, sources
from worker.cli.console import console, err_console, require_ledger
from worker.cli.console import settings_from as _settings
from worker.cli.failures import FriendlyGroup
from worker.cli.progress import check_progress, progress
from worker.pipeline.pass_lock import PassRunning
from worker.pipeline.settings import Settings


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


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date or moment ({exc}); write e.g. 2026-03-01 or 2026-03-01T09:00",
            param_hint="--as-of",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
                now=_as_of(as_of),
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


def print_ranked(report: Any, limit: int) -> None:
    table = Table(
        title=f"New opportunities ({report.new}), best first (chance to close x amount)", show_lines=False
    )
    for column in ("account", "playbook", "kind", "score", "est. amount", "top reasons"):
        table.add_column(column, overflow="fold")
    for row in report.ranked[:limit]:
        table.add_row(
            *(
                escape(str(cell))
                for cell in (  # CRM data is text, never markup ("Acme [/bold]")
                    f"{row.account_name} ({row.account_id})",
                    row.playbook,
                    row.kind,
                    row.score,
                    row.amount,
                    row.reasons,
                )
            )
        )
    console.print(table)
    if report.new > limit:
        console.print(f"... and {report.new - limit} more (see the outbox or --json)")


SKIPPED_SHOWN = 10  # skipped records listed under the summary; all of them (up to 50) are in --json


def print_summary(report: Any, settings: Settings) -> None:
    console.print(
        f"[bold]Pass {report.run_id}[/bold] ({report.crm}, {report.mode}, as of {report.now:%Y-%m-%d %H:%M} UTC)"
    )
    skipped = sum(report.skipped.values())
    console.print(
        f"  accounts read {report.accounts_read}, scored {report.scored}, skipped {skipped}"
        + (f" ({_counts(report.skipped)})" if skipped else "")
    )
    for line in report.skipped_records[:SKIPPED_SHOWN]:
        console.print(f"    skipped {line}", markup=False, highlight=False)
    if len(report.skipped_records) > SKIPPED_SHOWN:
        console.print(f"    ... and more (the run's JSON report lists up to {len(report.skipped_records)})")
    if report.defaulted:
        console.print(f"  defaulted: {_counts(report.defaulted)}")
    if getattr(report, "sources", None):  # SQL usage sources: unknown-account rows are under skipped
        console.print(f"  from SQL sources: {_counts(report.sources)}", markup=False, highlight=False)
    console.print(f"  stages: {_counts(report.stages)}")
    console.print(
        f"  opportunities: new {report.new}, already open {report.already_open}, "
        f"suppressed {sum(report.suppressed.values())}, below threshold {report.below_threshold}"
    )
    amounts = getattr(report, "new_amount_by_currency", None)
    if amounts:  # per currency, side by side: EUR and USD are never added into one figure
        console.print(
            "  new opportunities' estimated amount: "
            + "; ".join(f"{c} {v:,.0f}" for c, v in sorted(amounts.items())),
            markup=False,
        )
    if report.suppressed:
        console.print(f"  suppressed by reason: {_counts(report.suppressed)}")
    if report.mode != "dry-run":
        console.print(
            f"  written: deals {report.deals_created} new / {report.deals_existing} existing, "
            f"tasks {report.tasks_created} new / {report.tasks_existing} existing"
            + (f", resumed {report.resumed}" if report.resumed else "")
        )
        waiting = getattr(report, "waiting", 0)
        if waiting:  # issue #15: candidates over an owner's capacity wait in the ledger, not in the CRM
            no_owner = getattr(report, "waiting_no_owner", 0)
            console.print(
                f"  waiting for capacity: {waiting}"
                + (f" ({no_owner} with no owner: set fallback_owner_id)" if no_owner else "")
                + "; later passes write the best of them as owners have room (docs/attention.md)"
            )
        if report.crm == "files":
            console.print(f"  outbox: {settings.output_dir / 'outbox'}")
    if getattr(report, "unfinished", 0):
        until = f" after {report.unfinished_until:%Y-%m-%d %H:%M:%S} UTC" if report.unfinished_until else ""
        console.print(
            f"  [yellow]incomplete: {report.unfinished} opportunities are held by another writer "
            f"(a crashed or running pass); the next pass{until} finishes them. No cursor stored.[/yellow]"
        )
    if report.write_errors:
        console.print(f"  [red]write errors: {escape(_counts(report.write_errors))}[/red]")


def _counts(counter: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


@cli.command()
@click.argument("account_id")
@click.option("--crm", type=click.Choice(available()), default="files", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--as-of")
@click.pass_context
def explain(
    ctx: click.Context,
    account_id: str,
    crm: str,
    data_dir: Path | None,
    output_dir: Path | None,
    as_of: str | None,
) -> None:
    """Show one account's journey stage and every playbook's score, with why it did or did not fire."""
    from worker.pipeline.explain import describe_open_deal, explain_account
    from worker.pipeline.provenance import describe_provenance

    settings = _settings(ctx, data_dir=data_dir, output_dir=output_dir)
    try:
        provenance: dict[str, str] = {}
        result = explain_account(settings, account_id, crm, now=_as_of(as_of), provenance=provenance)
    except PlaybookError as exc:
        raise click.ClickException(f"playbook: {exc}") from None
    if result is None:
        raise click.ClickException(f"account {account_id!r} not found in {crm}")
    account = result.account
    console.print(
        f"[bold]{escape(account.name)}[/bold] ({escape(account.id)}), plan {escape(str(account.plan))}, "
        f"owner {escape(account.owner_email or account.owner_id or 'none')}"
    )
    if provenance:  # values from SQL usage sources (connectors/sql), the rest is the CRM's
        console.print(
            f"From SQL sources: {describe_provenance(account, provenance)}", markup=False, highlight=False
        )
    console.print(f"Journey stage: [bold]{result.stage.value}[/bold] because {escape(result.stage_reason)}")
    from playbooks.intent_signals import render_heard  # what the customer said (issue #13)

    console.print(render_heard(result.heard), markup=False, highlight=False)
    for outcome in result.outcomes:
        playbook = outcome.playbook
        verdict = {
            "new": "[green]FIRES[/green]",
            "already_open": "[yellow]already open[/yellow]",
            "suppressed": "[red]suppressed[/red]",
            "below_threshold": "does not fire",
            "holdout": "[cyan]held out (control group: recorded, not offered)[/cyan]",
        }[outcome.status]
        why = f" ({escape(outcome.reason)})" if outcome.reason else ""
        if outcome.note:  # the readable cause behind a fixed reason: which price, which currency
            why += f": {escape(outcome.note)}"
        if outcome.status == "already_open" and playbook.id in result.open_deals:
            why = f": {escape(describe_open_deal(result.open_deals[playbook.id]))}"
        console.print(
            f"\n[bold]{escape(playbook.id)}[/bold] ({playbook.kind.value}): score {outcome.score.score}/100, "
            f"needs {playbook.threshold}: {verdict}{why}"
        )
        console.print(render_explanation(outcome.score.contributions()), markup=False, highlight=False)
        if outcome.opportunity is not None:
            console.print(
                f"  -> {outcome.opportunity.title}, est. {outcome.opportunity.currency} "
                f"{outcome.opportunity.estimated_amount:,.2f}, key {outcome.opportunity.key}",
                markup=False,
            )


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
for _command in (*service.commands, *outcomes.commands, *migrate.commands):
    cli.add_command(_command)


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
