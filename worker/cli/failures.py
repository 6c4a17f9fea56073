"""A user's mistake gets one or two lines saying what is wrong and what to do, never a traceback
(issue #16). `FriendlyGroup` is the root command's class: whatever a command raises that we can
put in words becomes a `click.ClickException` (exit 1, "Error: ..."); anything else, a bug, still
shows its traceback, and `-vv` shows it for every failure.

Messages never quote a database URL's password or a token: a URL is rendered with the password
hidden, and connector errors are built without secrets (domain/errors.py).
"""

from __future__ import annotations

import re
from typing import Any

import click
from pydantic import ValidationError

from domain import ConnectorError, FailureKind
from worker.pipeline.settings_check import ConfigurationError, plain_validation_error

# Settings class -> where its values live in the settings file, for error messages.
CONNECTOR_SECTIONS = {
    "HubSpotSettings": "crm.hubspot.",
    "ZendeskSellSettings": "crm.zendesk-sell.",
    "PipedriveSettings": "crm.pipedrive.",
    "UsageSourceSettings": "usage_sources: ",
}
DATABASE_HINT = "check OPPWORKER_DATABASE_URL (or database_url in the settings file)"


def describe_failure(exc: BaseException) -> str | None:
    """The user-facing words for `exc`, or None when it is not a mistake we recognise."""
    if isinstance(exc, ConfigurationError):
        return "configuration problem:\n  " + "\n  ".join(exc.problems)
    if isinstance(exc, ConnectorError):
        return _connector(exc)
    if isinstance(exc, ValidationError):  # a connector's settings, built when a pass starts
        section = CONNECTOR_SECTIONS.get(exc.title, f"{exc.title}.")
        problems = plain_validation_error(exc, section).problems
        return "configuration problem:\n  " + "\n  ".join(problems)
    database = _database(exc)
    if database:
        return database
    broker = _broker(exc)
    if broker:
        return broker
    if isinstance(exc, FileNotFoundError):
        return (
            f"{exc.filename or exc}: not found. Check the path given (--data-dir, --output-dir or the settings file)."
            if exc.filename
            else f"{exc}: check the path given (--data-dir or data_dir in the settings file)."
        )
    if isinstance(exc, NotADirectoryError | PermissionError):
        return f"{exc.filename}: {exc.strerror}"
    return None


def _connector(exc: ConnectorError) -> str:
    if exc.kind is FailureKind.CONFIG:
        return f"configuration problem: {exc}"
    if exc.kind is FailureKind.AUTH:
        return f"the CRM refused the credentials: {exc}. Check the token's value and scopes."
    return f"the CRM call failed ({exc.kind.value}): {exc}"


def _database(exc: BaseException) -> str | None:
    try:
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(exc, NoSuchModuleError):
        scheme = str(exc).rsplit(":", 1)[-1].strip()
        if scheme == "postgres":
            return (
                "the database URL's scheme `postgres://` is not supported: write "
                f"postgresql+psycopg://user@host:5432/name; {DATABASE_HINT}"
            )
        return f"the database URL names a driver that is not installed ({scheme}); {DATABASE_HINT}"
    if isinstance(exc, ArgumentError):
        return f"the database URL is not a URL (expected e.g. postgresql+psycopg://user@host:5432/name); {DATABASE_HINT}"
    if isinstance(exc, OperationalError):
        reason = _first_line(str(getattr(exc, "orig", exc) or exc))
        return f"cannot use the database: {reason}. C{DATABASE_HINT[1:]}."
    return None


def _first_line(text: str) -> str:
    """psycopg's message without its hints, and never a password (it names only host and port)."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    line = re.sub(r"^connection failed: ", "", line)
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", line).rstrip(".")


def _broker(exc: BaseException) -> str | None:
    try:
        import redis
        from kombu.exceptions import OperationalError as KombuOperationalError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, redis.exceptions.ConnectionError | KombuOperationalError):
        return (
            f"cannot reach Redis ({_first_line(str(exc))}): start it, or set OPPWORKER_REDIS_URL "
            "(REDIS_URL) to where it runs."
        )
    return None


class FriendlyGroup(click.Group):
    """The root group: recognised mistakes become clear messages, exit 1, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # described below, or re-raised untouched
            message = describe_failure(exc)
            verbose = (ctx.obj or {}).get("verbose", 0) if isinstance(ctx.obj, dict) else 0
            if message is None or verbose >= 2:
                raise
            raise click.ClickException(message) from None
