"""Feedback on long work (issue #16): a rich progress bar on a terminal, a plain line every few
seconds otherwise (CI logs, `| tee`, a container's stderr), so a pass over 50,000 accounts never
looks hung. Used by `run`, `backtest` and the connectors' setup checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectors.setup_progress import OnCheck

LOG_EVERY_SECONDS = 5.0


class Update(Protocol):
    """`update(done, total or None, detail)`: how far the work is, and what it is doing now."""

    def __call__(self, done: int, total: int | None = None, detail: str = "") -> None: ...


@contextmanager
def progress(
    label: str,
    unit: str,
    console: Console,
    *,
    enabled: bool = True,
    every_seconds: float = LOG_EVERY_SECONDS,
    closing_line: bool = True,
) -> Iterator[Update]:
    """Yield `update(done, total, detail)`. Nothing is shown when not `enabled` (e.g. `--json`
    output). Off a terminal, long work ends with a "done" line unless `closing_line` is False."""
    if not enabled:

        def nothing(done: int, total: int | None = None, detail: str = "") -> None:
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

            def update(done: int, total: int | None = None, detail: str = "") -> None:
                description = f"{label}: {detail}" if detail else label
                bar.update(task, completed=done, total=total, description=description)

            yield update
        return
    started = last = time.monotonic()
    state = {"done": 0, "total": None}

    def log_line(done: int, total: int | None = None, detail: str = "") -> None:
        nonlocal last
        state["done"], state["total"] = done, total
        now = time.monotonic()
        if now - last >= every_seconds:
            last = now
            of = f" of {total}" if total else ""
            now_doing = f", {detail}" if detail else ""
            console.print(
                f"{label}: {done}{of} {unit} ({now - started:.0f} s){now_doing}",
                markup=False,
                highlight=False,
            )

    yield log_line
    if closing_line and time.monotonic() - started >= every_seconds:  # only long work gets one
        console.print(
            f"{label}: done, {state['done']} {unit} ({time.monotonic() - started:.0f} s)",
            markup=False,
            highlight=False,
        )


@contextmanager
def check_progress(label: str, console: Console, *, enabled: bool = True) -> Iterator[OnCheck]:
    """Progress of a connector's setup checks as an `OnCheck`. A setup makes a handful of calls, each
    of which may wait on a rate limit or a retry, so off a terminal every check gets its own line
    (naming it), not one every few seconds. The connector's last call (empty name, done = checks
    run) is the closing line."""
    with progress(label, "checks", console, enabled=enabled, every_seconds=0, closing_line=False) as update:

        def on_check(name: str, done: int, total: int) -> None:
            update(done, total, detail=f"checking {name}" if name else "")

        yield on_check
