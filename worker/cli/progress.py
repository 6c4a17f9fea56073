"""Feedback on long work (issue #16): a rich progress bar on a terminal, a plain line every few
seconds otherwise (CI logs, `| tee`, a container's stderr), so a pass over 50,000 accounts never
looks hung. Used by `run`, `backtest` and the connectors' setup checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

LOG_EVERY_SECONDS = 5.0

# update(done, total or None): how far the work is.
Update = Callable[[int, "int | None"], None]


@contextmanager
def progress(
    label: str, unit: str, console: Console, *, enabled: bool = True, every_seconds: float = LOG_EVERY_SECONDS
) -> Iterator[Update]:
    """Yield `update(done, total)`. Nothing is shown when not `enabled` (e.g. `--json` output)."""
    if not enabled:

        def nothing(done: int, total: int | None = None) -> None:
            return None

        yield nothing
        return
    if console.is_terminal:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int | None = None) -> None:
                bar.update(task, completed=done, total=total)

            yield update
        return
    started = last = time.monotonic()
    state = {"done": 0, "total": None}

    def log_line(done: int, total: int | None = None) -> None:
        nonlocal last
        state["done"], state["total"] = done, total
        now = time.monotonic()
        if now - last >= every_seconds:
            last = now
            of = f" of {total}" if total else ""
            console.print(
                f"{label}: {done}{of} {unit} ({now - started:.0f} s)", markup=False, highlight=False
            )

    yield log_line
    if time.monotonic() - started >= every_seconds:  # only long work gets a closing line
        console.print(
            f"{label}: done, {state['done']} {unit} ({time.monotonic() - started:.0f} s)",
            markup=False,
            highlight=False,
        )
