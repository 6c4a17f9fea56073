"""What `oppworker run` prints: the ranked table of new opportunities (best first, the order
capacity planning writes in) and the pass summary a RevOps engineer reads after each run."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from worker.cli.console import console
from worker.pipeline.settings import Settings


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
