"""What every `oppworker` command shares: the console it prints to and how it loads the pass
settings, so a configuration error reads the same whichever command hit it."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from worker.pipeline.settings import Settings, load_settings

# Piped output (CI logs, `| less`) gets a wide table rather than rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """The pass settings from the global `--config` file plus this command's flags."""
    try:
        return load_settings((ctx.find_root().obj or {}).get("config"), **overrides)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"configuration: {exc}") from None
