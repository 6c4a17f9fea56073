"""`oppworker backtest`: what a playbook would have caught, replayed over stored history as of each
day, with the base rate, lift, calibration table and Brier score that say whether its scores mean
what they claim (issue #15). worker/cli/outcomes.py lists it with `report`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from worker.cli.console import console, err_console
from worker.cli.console import settings_from as _settings
from worker.cli.outcomes_format import parse_day
from worker.cli.progress import progress
from worker.outcomes.columns import percent
from worker.pipeline.settings import Settings


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
    first, last = parse_day(start), parse_day(end)
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
            percent(p.precision),
            percent(p.recall),
            percent(p.calibration.base_rate),
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
                escape(p.playbook),
                band.band,
                str(band.flagged),
                percent(band.predicted),
                percent(band.observed),
            )
    console.print(bands)
    console.print(
        "Precision: flagged accounts that went on to expand. Recall: expanded accounts flagged before they "
        "did. Base rate: accounts that expanded in the period, of all replayed; lift: precision over it. "
        "Brier: mean squared gap between the chance shown and what happened (0 is perfect). "
        "Products, NPS, CSAT and contract dates are today's values (no history is kept of them)."
    )
