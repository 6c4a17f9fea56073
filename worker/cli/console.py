"""What every `oppworker` command shares: the console it prints to and how it loads the pass
settings, so a configuration error reads the same whichever command hit it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from worker.pipeline.settings import Settings, load_settings
from worker.pipeline.settings_check import ConfigurationError, check_environment

# Piped output (CI logs, `| less`) gets a wide table rather than rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """The pass settings from the global `--config` file plus this command's flags, after refusing
    OPPWORKER_* variables that no setting reads. Problems surface as `ConfigurationError`, which the
    root group prints in plain words (worker/cli/failures.py)."""
    from worker.service.settings import known_environment

    check_environment(known_environment())
    try:
        return load_settings((ctx.find_root().obj or {}).get("config"), **overrides)
    except ConfigurationError:
        raise
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def require_ledger(settings: Settings) -> str:
    """The ledger URL, refusing a SQLite ledger that does not exist yet: reading it would create an
    empty file (or fail on a missing folder) where the user expected the passes of a first run."""
    url = settings.ledger_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise click.ClickException(
                f"no passes yet in {settings.output_dir}: run `oppworker run` first, or point --output-dir "
                "(OPPWORKER_OUTPUT_DIR) at the folder of an earlier pass."
            )
    return url


def parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date or moment ({exc}); write e.g. 2026-03-01 or 2026-03-01T09:00",
            param_hint="--as-of",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
