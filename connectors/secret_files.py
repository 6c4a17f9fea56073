"""CRM tokens given as files (Docker and Kubernetes secrets), by the rule the service's webhook
secrets already follow (worker/service/settings.py): one file per secret in `OPPWORKER_SECRETS_DIR`
(default `/run/secrets`), named `oppworker_` + the secret's environment variable in lower case
without its own `oppworker_` prefix. `HUBSPOT_ACCESS_TOKEN` is `/run/secrets/oppworker_hubspot_access_token`.

Precedence is the one every setting has (flags over environment over file), the secrets file
coming last, above the default: a value passed in (a flag, or the settings file's CRM section)
wins, then a non-blank environment variable, then the file. A blank variable counts as unset, so
compose's `${TOKEN:-}` cannot hide a mounted file. The file's content is stripped (a trailing
newline is not part of a token); an empty file leaves the token "not configured". The value goes
straight into the `SecretStr` field; nothing here logs or quotes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from pydantic_settings.exceptions import SettingsError

SECRETS_DIR_VARIABLE = "OPPWORKER_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/run/secrets"


def secrets_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get(SECRETS_DIR_VARIABLE) or DEFAULT_SECRETS_DIR)


def secret_file(variable: str, environ: Mapping[str, str] | None = None) -> Path:
    """The file that may hold the secret otherwise given as environment variable `variable`."""
    name = variable.lower().removeprefix("oppworker_")
    return secrets_dir(environ) / f"oppworker_{name}"


def file_in_use(variable: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The secrets file the value of `variable` comes from: it exists and the variable is unset or
    blank. None when the environment decides (or there is no file)."""
    environ = os.environ if environ is None else environ
    if environ.get(variable, "").strip():
        return None
    path = secret_file(variable, environ)
    return path if path.is_file() else None


def read_secret_file(variable: str) -> str | None:
    """The stripped content of `variable`'s secrets file when it is the one in use (see
    `file_in_use`), for a value a click option reads from the environment; blank is None."""
    path = file_in_use(variable)
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError) as exc:  # the message names the file, never its content
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError(f"cannot read the secrets file {path}: {reason}") from None


def missing_token_message(variable: str) -> str:
    """ "X is not set" with where we also looked, so an empty secrets file is not a mystery."""
    path = secret_file(variable)
    if path.is_file():
        return f"{variable} is not set and the secrets file {path} is empty"
    return f"{variable} is not set (nor a secrets file {path})"


def secret_fields(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """Field name -> environment variable, for every `SecretStr` field of a settings class."""
    prefix = str(settings_cls.model_config.get("env_prefix", "")).upper()
    return {
        name: f"{prefix}{name.upper()}"
        for name, info in settings_cls.model_fields.items()
        if _is_secret(info)
    }


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


class SecretFilesSource(PydanticBaseSettingsSource):
    """The settings class's `SecretStr` fields read from secrets files (module docstring). Placed
    before the environment source, it yields nothing for a field whose variable is set and not
    blank, so the environment still wins."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = secret_fields(self.settings_cls).get(field_name)
        if variable is None or file_in_use(variable) is None:
            return None, field_name, False
        return read_secret_file(variable) or "", field_name, False  # "" = not configured

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in secret_fields(self.settings_cls):
            value, key, _ = self.get_field_value(self.settings_cls.model_fields[name], name)
            if value is not None:
                values[key] = value
        return values


class SecretFilesSettings(BaseSettings):
    """Base of the CRM settings classes whose secrets may come as files."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, SecretFilesSource(settings_cls), env_settings, dotenv_settings)
