"""`oppworker report` and `oppworker backtest`: what the offers earned, and what a playbook would
have caught. The lead's cli.py adds every command in `commands`."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from worker.settings import Settings, load_settings

console = Console(width=None if sys.stdout.isatty() else 160)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings((ctx.obj or {}).get("config"), **overrides)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _figures_table(title: str, first: str, rows: list[Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in (first, "created", "tasks done", "won", "lost", "open", "deleted", "win rate", "won amount", "median days"):
        table.add_column(name, justify="left" if name == first else "right")
    for f in rows:
        table.add_row(f.group, str(f.created), str(f.tasks_completed), str(f.won), str(f.lost), str(f.open),
                      str(f.deleted), _pct(f.win_rate), f"{f.won_amount:,.0f}",
                      "–" if f.median_days_to_close is None else f"{f.median_days_to_close:g}")
    return table


@click.command("report")
@click.option("--since", help="Only deals created on or after this date (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file (html default: <output-dir>/outcomes.html).")
@click.option("--crm", default=None, help="Only this CRM's deals (default: all in the ledger).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Outbox and ledger folder.")
@click.pass_context
def report_cmd(ctx: click.Context, since: str | None, fmt: str, output: Path | None, crm: str | None,
               output_dir: Path | None) -> None:
    """Did the offers work? Conversion per playbook, kind, stage and score band; holdout lift."""
    from worker.ledger import Ledger
    from worker.outcomes import store_for
    from worker.report import build_report
    from worker.report_html import render_html

    settings = _settings(ctx, output_dir=output_dir)
    report = build_report(store_for(Ledger(settings.ledger_url)), datetime.now(timezone.utc), _day(since), crm)
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
    out.print(f"[bold]Outcomes[/bold] ({'deals created since ' + str(report.since) if report.since else 'all deals'}): "
              f"{t.created} created, {t.won} won, {t.lost} lost, {t.open} open, win rate {_pct(t.win_rate)}, "
              f"won amount {t.won_amount:,.0f}")
    out.print(_figures_table("Per playbook", "playbook", report.by_playbook))
    out.print(_figures_table("Per kind", "kind", report.by_kind))
    out.print(_figures_table("Per journey stage", "stage", report.by_stage))
    out.print(_figures_table("Per score band", "score", report.by_score_band))
    if report.holdouts:
        table = Table(title="Holdout groups (expansion: a won deal or a plan/seat increase)", title_justify="left")
        for name in ("playbook", "treated", "expanded", "control", "expanded ", "difference", "95% interval", "conclusion"):
            table.add_column(name, justify="left" if name in ("playbook", "conclusion") else "right")
        for h in report.holdouts:
            table.add_row(h.playbook, str(h.treated_accounts), _pct(h.treated_rate), str(h.control_accounts),
                          _pct(h.control_rate), "–" if h.difference is None else f"{h.difference * 100:+.1f} pts",
                          "–" if h.ci_low is None else f"{h.ci_low * 100:+.0f} to {h.ci_high * 100:+.0f}",
                          h.conclusion)
        out.print(table)
    else:
        out.print("No playbook declares a holdout: add `holdout: 0.1` to one to measure it against a control group.")


commands = [report_cmd]
