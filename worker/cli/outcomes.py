"""`oppworker report` and `oppworker backtest`: what the offers earned, and what a playbook would
have caught. worker/cli/main.py adds every command in `commands`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.cli.console import console, err_console, require_ledger
from worker.cli.console import settings_from as _settings
from worker.cli.progress import progress
from worker.pipeline.settings import Settings


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


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
    return MoneyBasis(default, settings.report_currency, settings.exchange_rates)


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
            _pct(f.win_rate),
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
            _day(since),
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
        f"{t.created} created, {t.won} won, {t.lost} lost, {t.open} open, win rate {_pct(t.win_rate)}, "
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
                _pct(h.treated_rate),
                str(h.control_accounts),
                _pct(h.control_rate),
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


def _playbooks(settings: Settings, target: str) -> list[Any]:
    """A playbook file, a folder of playbooks, or the id of a configured playbook."""
    from playbooks.loader import PlaybookError, load_playbook_file, load_playbooks
    from worker.pipeline.prepare import load_definitions

    path = Path(target)
    try:
        if path.is_dir():
            return load_playbooks([path], include_builtin=False)
        if path.is_file():
            return [load_playbook_file(path)]
        known = {p.id: p for p in load_definitions(settings)}
    except PlaybookError as exc:
        raise click.ClickException(f"playbook: {exc}") from None
    if target == "all":
        return list(known.values())
    if target not in known:
        raise click.ClickException(
            f"{target!r} is neither a playbook file, a folder, nor a known playbook id "
            f"({', '.join(sorted(known))}, or 'all')"
        )
    return [known[target]]


@click.command("backtest")
@click.argument("playbook_or_dir")
@click.option("--from", "start", required=True, help="First day to replay (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="Last day to replay (YYYY-MM-DD).")
@click.option(
    "--every", default=1, show_default=True, type=click.IntRange(1, 90), help="Replay every N days."
)
@click.option("--crm", default="files", show_default=True, help="Whose history to replay.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="File connector input folder."
)
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Ledger folder.")
@click.pass_context
def backtest_cmd(
    ctx: click.Context,
    playbook_or_dir: str,
    start: str,
    end: str,
    every: int,
    crm: str,
    fmt: str,
    data_dir: Path | None,
    output_dir: Path | None,
) -> None:
    """Replay playbooks over stored history, as of each day, and score them against real expansions.

    PLAYBOOK_OR_DIR is a playbook file, a folder of playbooks, a configured playbook's id, or 'all'.
    Nothing is written.
    """
    from playbooks.loader import load_catalog
    from worker.outcomes.backtest import load_history, run_backtest
    from worker.store.ledger import Ledger
    from worker.store.win_rates import win_chances

    settings = _settings(ctx, data_dir=data_dir, output_dir=output_dir)
    first, last = _day(start), _day(end)
    assert first is not None and last is not None
    if last < first:
        raise click.BadParameter("--to is before --from")
    playbooks = _playbooks(settings, playbook_or_dir)
    history = load_history(settings, crm)
    # the chance a pass would show today: the ledger's closed deals (load_history made the ledger)
    chances = win_chances(Ledger(settings.ledger_url).engine, crm, datetime.now(UTC))
    with progress("backtest: replaying accounts", "accounts", err_console, enabled=fmt != "json") as update:
        result = run_backtest(
            playbooks,
            load_catalog(settings.catalog),
            history,
            first,
            last,
            every,
            progress=update,
            chances=chances,
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
        return
    console.print(
        f"[bold]Backtest[/bold] {first} to {last}, every {every} day(s), {result.accounts} accounts; "
        f"{len(result.expansions)} accounts expanded in the period (plan or seat increase, or a won deal)."
    )
    table = Table(title_justify="left")
    for name in (
        "playbook",
        "fired (account-days)",
        "accounts flagged",
        "expanded flagged ahead",
        "median days ahead",
        "flagged, never expanded",
        "precision",
        "recall",
        "base rate",
        "lift",
        "Brier",
    ):
        table.add_column(name, justify="left" if name == "playbook" else "right")
    for p in result.playbooks:
        table.add_row(
            escape(p.playbook),
            str(p.fires),
            str(p.accounts_flagged),
            f"{p.caught} of {p.expanded}",
            "–" if p.median_days_ahead is None else f"{p.median_days_ahead:g}",
            str(p.flagged_never_expanded),
            _pct(p.precision),
            _pct(p.recall),
            _pct(p.calibration.base_rate),
            "–" if p.calibration.lift is None else f"{p.calibration.lift:.2f}x",
            "–" if p.calibration.brier is None else f"{p.calibration.brier:.3f}",
        )
    console.print(table)
    bands = Table(
        title="Calibration: chance shown at the first flag vs share that expanded", title_justify="left"
    )
    for name in ("playbook", "score band", "flagged", "predicted", "observed"):
        bands.add_column(name, justify="left" if name in ("playbook", "score band") else "right")
    for p in result.playbooks:
        for band in p.calibration.bands:
            bands.add_row(
                escape(p.playbook), band.band, str(band.flagged), _pct(band.predicted), _pct(band.observed)
            )
    console.print(bands)
    console.print(
        "Precision: flagged accounts that went on to expand. Recall: expanded accounts flagged before they "
        "did. Base rate: accounts that expanded in the period, of all replayed; lift: precision over it. "
        "Brier: mean squared gap between the chance shown and what happened (0 is perfect). "
        "Products, NPS, CSAT and contract dates are today's values (no history is kept of them)."
    )


commands = [report_cmd, backtest_cmd]
