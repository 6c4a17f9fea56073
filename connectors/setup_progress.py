"""Progress of a connector's `setup` checks, without any display code in the connector.

A setup probes several endpoints, each of which may wait on a rate limit or a retry, so the CLI
shows which check is running (issue #16). `run_setup` takes a plain `on_check(name, done, total)`
callable; the worker's command line supplies one that draws a rich bar or prints plain lines
(worker/cli/progress.py) and hands it to the CRM's click commands through the root context, since
connectors must not import the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Protocol

import click

# on_check(name, done, total): check `name` starts, `done` of `total` checks have run. A last call
# with an empty name says the setup finished after `done` checks (fewer than `total` when it stopped
# early, e.g. on a refused token).
OnCheck = Callable[[str, int, int], None]

CONTEXT_KEY = "check_progress"


class CheckProgress(Protocol):
    """What the worker's CLI puts in the root context under `CONTEXT_KEY`."""

    def __call__(self, label: str, *, enabled: bool = True) -> AbstractContextManager[OnCheck]: ...


@contextmanager
def counted(on_check: OnCheck | None, total: int) -> Iterator[Callable[[str], None]]:
    """Yield `start(name)`, to call before each check; reports the count when the block ends."""
    started = 0

    def start(name: str) -> None:
        nonlocal started
        if on_check is not None:
            on_check(name, started, total)
        started += 1

    yield start
    if on_check is not None:
        on_check("", started, total)


def _ignore(name: str, done: int, total: int) -> None:
    return None


def from_context(ctx: click.Context, label: str, *, enabled: bool = True) -> AbstractContextManager[OnCheck]:
    """The CLI's check progress, or a silent one when the command runs without the worker's root
    group (a test invoking the CRM's group alone)."""
    factory: CheckProgress | None = (ctx.find_root().obj or {}).get(CONTEXT_KEY)
    if factory is None:
        return nullcontext(_ignore)
    return factory(label, enabled=enabled)
