"""`oppworker report` and `oppworker backtest`: what the offers earned, and what a playbook would
have caught. worker/cli/main.py adds every command in `commands`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.cli.backtest_cmd import backtest_cmd
from worker.cli.console import console, require_ledger
from worker.cli.console import settings_from as _settings
from worker.cli.outcomes_format import parse_day
from worker.outcomes import columns
from worker.pipeline.settings import Settings


def money_basis(settings: Settings) -> Any:
    """The report's money: the user's conversion if any, and the catalog's currency for deals
    recorded without one (a broken catalog must not hide the figures: USD, as the catalog defaults)."""
    from playbooks.loader import load_catalog
    from worker.outcomes.money import MoneyBasis

    try:
        default = load_catalog(settings.catalog).currency
    except Exception:
        default = "USD"
    return MoneyBasis.from_settings(settings, default)


def _two_lines(name: str) -> int:
    """The width that shows a header on at most two lines ("treated / accounts")."""
    words = name.split()
    return min(
        (max(len(" ".join(words[:i])), len(" ".join(words[i:]))) for i in range(1, len(words))),
        default=len(name),
    )


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]], narrow: bool = False) -> Table:
    """A rich table of worker/outcomes/columns.py's texts: cells escaped (CRM names are text, never
    markup), the group and any conclusion left-justified, the figures right-justified. `narrow`
    wraps the figures' headers onto two lines, so a long conclusion keeps the width it needs."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(header):
        left = i == 0 or name == "conclusion"
        width = None if left or not narrow else max([_two_lines(name), *(len(r[i]) for r in rows)])
        table.add_column(name, justify="left" if left else "right", max_width=width)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _figures_table(title: str, first: str, rows: list[Any]) -> Table:
    return _table(title, columns.figures_header(first), [columns.figures_row(f) for f in rows])


def _holdout_table(items: list[Any]) -> Table:
    return _table(
        "Holdout groups (expansion: a won deal or a plan/seat increase)",
        columns.HOLDOUTS,
        [columns.holdout_row(h) for h in items],
        narrow=True,
    )


@click.command("report")
@click.option("--since", help="Only deals created on or after this date (YYYY-MM-DD).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (html default: <output-dir>/outcomes.html).",
)
@click.option("--crm", default=None, help="Only this CRM's deals (default: all in the ledger).")
@click.option(
    "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Outbox and ledger folder."
)
@click.pass_context
def report_cmd(
    ctx: click.Context,
    since: str | None,
    fmt: str,
    output: Path | None,
    crm: str | None,
    output_dir: Path | None,
) -> None:
    """Did the offers work? Conversion per playbook, kind, stage and score band; holdout lift."""
    from worker.outcomes.html import render_html
    from worker.outcomes.report import build_report
    from worker.outcomes.sync import store_for
    from worker.pipeline.prepare import load_definitions
    from worker.store.ledger import Ledger

    settings = _settings(ctx, output_dir=output_dir)
    try:
        kinds = {p.id: p.kind.value for p in load_definitions(settings)}
    except Exception:  # a broken playbook file must not hide the figures: kinds stay as stored
        kinds = {}
    from domain.money import MissingRate

    try:
        report = build_report(
            store_for(Ledger(require_ledger(settings))),
            datetime.now(UTC),
            parse_day(since),
            crm,
            kinds,
            money_basis(settings),
        )
    except MissingRate as exc:
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        text = json.dumps(report.to_json(), indent=2, default=str)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            click.echo(text)
        return
    if fmt == "html":
        path = output or settings.output_dir / "outcomes.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
        click.echo(f"wrote {path}")
        return
    out = Console(file=output.open("w", encoding="utf-8"), width=160) if output else console
    t = report.total
    out.print(
        f"[bold]Outcomes[/bold] ({'deals created since ' + str(report.since) if report.since else 'all deals'}): "
        f"{t.created} created, {t.won} won, {t.lost} lost, {t.open} open, win rate {columns.percent(t.win_rate)}, "
        f"won amount {columns.won(t)}"
    )
    out.print(report.money.text)
    out.print(_figures_table("Per playbook", "playbook", report.by_playbook))
    out.print(_figures_table("Per kind", "kind", report.by_kind))
    out.print(_figures_table("Per journey stage", "journey stage", report.by_stage))
    out.print(_figures_table("Per score band", "score", report.by_score_band))
    if report.holdouts:
        out.print(_holdout_table(report.holdouts))
    else:
        out.print(
            "No playbook declares a holdout: add `holdout: 0.1` to one to measure it against a control group."
        )


commands = [report_cmd, backtest_cmd]
