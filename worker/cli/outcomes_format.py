"""The small format `report` and `backtest` share: a day given on the command line. (A rate as a
percentage is worker/outcomes/columns.py's `percent`, which the HTML report uses too.)"""

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
