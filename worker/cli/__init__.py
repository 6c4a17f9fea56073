"""The `oppworker` command line: `main` builds the group, the other modules add commands to it."""

from worker.cli.main import cli, main

__all__ = ["cli", "main"]
