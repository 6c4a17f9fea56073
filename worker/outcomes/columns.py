"""The outcome report's columns, written once: the header names and each row's cell texts.

`oppworker report` prints them as terminal tables (worker/cli/outcomes.py) and `--html` as HTML
tables (worker/outcomes/html.py). Both take their words from here so the two cannot drift apart
("median days" in one, "median days to close" in the other). The texts are plain and unescaped:
each renderer escapes for its medium (rich markup, HTML) and adds its own alignment and classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.outcomes.money import per_currency_text

if TYPE_CHECKING:
    from worker.outcomes.figures import Figures, Period
    from worker.outcomes.holdouts import HoldoutComparison

NONE = "–"  # a figure there is nothing to compute from (no deal closed, no interval)

FIGURES = (
    "created",
    "tasks done",
    "won",
    "lost",
    "open",
    "deleted",
    "win rate",
    "won amount",
    "median days to close",
)
"""The per-group figures after the group's own column (playbook, kind, journey stage, score)."""

HOLDOUTS = (
    "playbook",
    "treated accounts",
    "treated expanded",
    "control accounts",
    "control expanded",
    "difference",
    "95% interval",
    "conclusion",
)


def percent(value: float | None) -> str:
    """A rate as a whole percentage: "42%"."""
    return NONE if value is None else f"{value * 100:.0f}%"


def won(f: Figures | Period) -> str:
    """One amount where the report has one currency (or converts), else each currency's total."""
    return f"{f.won_amount:,.0f}" if f.won_amount is not None else per_currency_text(f.won_amounts)


def days(value: float | None) -> str:
    """Days to close as computed (rounded to a tenth), without a trailing ".0"."""
    return NONE if value is None else f"{value:g}"


def points(value: float | None) -> str:
    """A difference of two rates in percentage points: "+12.5 pts"."""
    return NONE if value is None else f"{value * 100:+.1f} pts"


def interval(low: float | None, high: float | None) -> str:
    """The 95% interval of a difference, in percentage points: "+3 to +22 pts"."""
    if low is None or high is None:
        return NONE
    return f"{low * 100:+.0f} to {high * 100:+.0f} pts"


def figures_header(first: str) -> tuple[str, ...]:
    return (first, *FIGURES)


def figures_row(f: Figures) -> tuple[str, ...]:
    return (
        str(f.group),
        str(f.created),
        str(f.tasks_completed),
        str(f.won),
        str(f.lost),
        str(f.open),
        str(f.deleted),
        percent(f.win_rate),
        won(f),
        days(f.median_days_to_close),
    )


def holdout_row(h: HoldoutComparison) -> tuple[str, ...]:
    return (
        h.playbook,
        str(h.treated_accounts),
        percent(h.treated_rate),
        str(h.control_accounts),
        percent(h.control_rate),
        points(h.difference),
        interval(h.ci_low, h.ci_high),
        h.conclusion,
    )


def too_few(h: HoldoutComparison) -> bool:
    """The conclusion is a warning, not a finding: too few accounts to tell anything apart."""
    return h.conclusion.startswith("too few")
