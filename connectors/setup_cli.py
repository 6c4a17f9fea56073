"""What every CRM's `oppworker <crm> setup` command does around its own checks: open the client,
run the setup with progress lines, close the client, turn a ConnectorError into a click error,
and print the report as JSON or as labelled lines. The checks and the labels are each CRM's own
(connectors/<crm>/cli.py); this is the frame, written once so the next CRM does not copy it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any, ClassVar, Protocol, TypeVar

import click

from connectors.setup_progress import OnCheck, from_context
from domain import ConnectorError


class Closable(Protocol):
    def close(self) -> None: ...


class SetupReport(Protocol):
    """A dataclass with `ok`: what a CRM's `run_setup` returns."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def ok(self) -> bool: ...


ClientT = TypeVar("ClientT", bound=Closable)
ReportT = TypeVar("ReportT", bound=SetupReport)


def run_checks(
    ctx: click.Context,
    label: str,
    as_json: bool,
    open_client: Callable[[], ClientT],
    checks: Callable[[ClientT, OnCheck], ReportT],
) -> ReportT:
    """Open the client, run `checks` with progress lines (none with `--json`), always close it.
    A ConnectorError (refused token, missing setting) becomes a one-line click error."""
    try:
        client = open_client()
        try:
            with from_context(ctx, label, enabled=not as_json) as on_check:
                return checks(client, on_check)
        finally:
            client.close()
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


def exit_with_json(report: SetupReport, **extra: Any) -> None:
    """`--json`: the report with `ok` first (and `extra` last), exit 1 when it is not ok."""
    click.echo(json.dumps({"ok": report.ok, **asdict(report), **extra}, indent=2))
    raise SystemExit(0 if report.ok else 1)


def echo_sections(sections: Sequence[tuple[str, Iterable[str]]]) -> None:
    """One line per item, led by its section's label (labels carry their own padding)."""
    for label, items in sections:
        for item in items:
            click.echo(f"{label}{item}")


def finish(report: SetupReport, done: str) -> None:
    """Exit 1 on a failed setup, else say it is complete."""
    if not report.ok:
        raise SystemExit(1)
    click.echo(done)
