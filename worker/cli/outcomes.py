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
from worker.cli.outcomes_format import parse_day, percent
from worker.pipeline.settings import Settings


def _won(f: Any) -> str:
    from worker.outcomes.money import per_currency_text

    return f"{f.won_amount:,.0f}" if f.won_amount is not None else per_currency_text(f.won_amounts)


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


def _figures_table(title: str, first: str, rows: list[Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in (
        first,
        "created",
        "tasks done",
        "won",
        "lost",
        "open",
        "deleted",
        "win rate",
        "won amount",
        "median days",
    ):
        table.add_column(name, justify="left" if name == first else "right")
    for f in rows:
        table.add_row(
            escape(str(f.group)),
            str(f.created),
            str(f.tasks_completed),
            str(f.won),
            str(f.lost),
            str(f.open),
            str(f.deleted),
            percent(f.win_rate),
            _won(f),
            "–" if f.median_days_to_close is None else f"{f.median_days_to_close:g}",
        )
    return table


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
        f"{t.created} created, {t.won} won, {t.lost} lost, {t.open} open, win rate {percent(t.win_rate)}, "
        f"won amount {_won(t)}"
    )
    out.print(report.money.text)
    out.print(_figures_table("Per playbook", "playbook", report.by_playbook))
    out.print(_figures_table("Per kind", "kind", report.by_kind))
    out.print(_figures_table("Per journey stage", "stage", report.by_stage))
    out.print(_figures_table("Per score band", "score", report.by_score_band))
    if report.holdouts:
        table = Table(
            title="Holdout groups (expansion: a won deal or a plan/seat increase)", title_justify="left"
        )
        for name in (
            "playbook",
            "treated",
            "expanded",
            "control",
            "expanded ",
            "difference",
            "95% interval",
            "conclusion",
        ):
            table.add_column(name, justify="left" if name in ("playbook", "conclusion") else "right")
        for h in report.holdouts:
            table.add_row(
                escape(h.playbook),
                str(h.treated_accounts),
                percent(h.treated_rate),
                str(h.control_accounts),
                percent(h.control_rate),
                "–" if h.difference is None else f"{h.difference * 100:+.1f} pts",
                "–"
                if h.ci_low is None or h.ci_high is None
                else f"{h.ci_low * 100:+.0f} to {h.ci_high * 100:+.0f}",
                h.conclusion,
            )
        out.print(table)
    else:
        out.print(
            "No playbook declares a holdout: add `holdout: 0.1` to one to measure it against a control group."
        )


commands = [report_cmd, backtest_cmd]
