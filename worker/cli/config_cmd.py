"""`oppworker config show`: every effective setting and where its value came from (a flag, the
environment, the settings file, a secrets file or the default), secrets masked (issue #16).
CRM tokens may come from secrets files too (connectors/secret_files.py): the row names the file.

The precedence shown is the one the loaders apply: flags over environment over file
(worker/pipeline/settings.py, settings_check.env_over_file). Values are printed, so anything that
may hold a secret is masked here: `SecretStr` fields, and the password inside any URL.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings
from rich.table import Table

from connectors.secret_files import file_in_use, secret_fields
from worker.cli.console import console
from worker.cli.console import settings_from as _settings
from worker.pipeline.settings import Settings
from worker.pipeline.settings_check import crm_settings_class

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]*@")


def masked(value: Any) -> Any:
    """A value safe to print: secrets as `***` (or `(not set)`), URL passwords as `***`."""
    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else "(not set)"
    if isinstance(value, BaseModel):
        return {k: masked(v) for k, v in value}
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1:***@", value)
    return value


def _env_set(*names: str) -> str | None:
    for name in names:
        if name in os.environ or any(key.startswith(f"{name}__") for key in os.environ):
            return name
    return None


def _file_values(config: Path | None) -> dict[str, Any]:
    if config is None:
        return {}
    loaded = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    return loaded if isinstance(loaded, dict) else {}


def pass_rows(settings: Settings, config: Path | None, flags: dict[str, Any]) -> list[tuple[str, Any, str]]:
    from_file = _file_values(config)
    rows = []
    for name in Settings.model_fields:
        if name == "crm":
            continue  # shown per CRM below
        env = _env_set(f"OPPWORKER_{name.upper()}")
        source = (
            "flag"
            if name in flags
            else f"env {env}"
            if env
            else f"file {config}"
            if name in from_file
            else "default"
        )
        rows.append((name, masked(getattr(settings, name)), source))
    return rows


def service_rows() -> list[tuple[str, Any, str]]:
    from worker.service.settings import ServiceSettings, load_service_settings

    service = load_service_settings()
    secrets = secret_fields(ServiceSettings)
    rows = []
    for name, info in ServiceSettings.model_fields.items():
        aliases = [
            c
            for c in getattr(info.validation_alias, "choices", []) or []
            if isinstance(c, str) and c.isupper()
        ]
        env = _env_set(*(aliases or [f"OPPWORKER_{name.upper()}"]))
        secret = file_in_use(secrets[name]) if name in secrets else None
        source = _secret_file_source(secret) if secret is not None else f"env {env}" if env else "default"
        rows.append((f"service.{name}", masked(getattr(service, name)), source))
    return rows


def crm_rows(settings: Settings, config: Path | None) -> list[tuple[str, Any, str]]:
    """The connector settings of every CRM the file configures or the environment names."""
    rows = []
    for crm in sorted(settings.crm):
        cls = crm_settings_class(crm)
        section = settings.crm.get(crm, {})
        if cls is None:  # the file connector, or a plugin: its section as given
            rows += [(f"crm.{crm}.{key}", masked(value), f"file {config}") for key, value in section.items()]
            continue
        effective = cls(**settings.connector_options(crm))
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for name in cls.model_fields:
            variable = f"{prefix}{name.upper()}"
            secret = file_in_use(variable) if name in section_secrets(cls) else None
            source = (
                f"file {config}"
                if name in section and variable not in os.environ
                else _secret_file_source(secret)
                if secret is not None
                else f"env {variable}"
                if _env_set(variable)
                else "default"
            )
            rows.append((f"crm.{crm}.{name}", masked(getattr(effective, name)), source))
    return rows


def section_secrets(cls: type[BaseModel]) -> dict[str, str]:
    return secret_fields(cls) if issubclass(cls, BaseSettings) else {}


def _secret_file_source(path: Path) -> str:
    empty = not path.read_text(encoding="utf-8").strip()
    return f"secrets file {path}" + (" (empty: not configured)" if empty else "")


@click.group("config")
def group() -> None:
    """Inspect the effective configuration."""


@group.command("show")
@click.option("--crm", "crms", multiple=True, help="Also show this CRM's connector settings (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON: {setting: {value, source}}.")
@click.pass_context
def show(ctx: click.Context, crms: tuple[str, ...], as_json: bool) -> None:
    """Every setting's effective value and where it came from; secrets masked.

    Precedence: command-line flags over environment variables over the settings file."""
    config = (ctx.find_root().obj or {}).get("config")
    settings = _settings(ctx)
    for crm in crms:  # a CRM configured only through its environment variables
        settings.crm.setdefault(crm, {})
    rows = pass_rows(settings, config, {}) + crm_rows(settings, config) + service_rows()
    if as_json:
        click.echo(
            json.dumps(
                {name: {"value": value, "source": source} for name, value, source in rows},
                indent=2,
                default=str,
            )
        )
        return
    table = Table(title="Effective settings (flags > environment > file > default)", title_justify="left")
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    for name, value, source in rows:
        table.add_row(name, json.dumps(value, default=str) if not isinstance(value, str) else value, source)
    console.print(table)


commands = [group]
