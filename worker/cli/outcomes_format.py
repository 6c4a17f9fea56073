"""The small formats `report` and `backtest` share: a day given on the command line, a rate as a
percentage (a dash where there is nothing to divide by)."""

from __future__ import annotations

from datetime import date

import click


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
