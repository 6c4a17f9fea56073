"""Strict configuration (issue #16): whatever the settings file or the environment says that no
setting reads is refused with the nearest valid name, and a validation error reads in plain words.

Before this, `crm.hubspot.burst_limt`, a section named `hubspt:` and `OPPWORKER_CRM=hubspot` were
silently ignored, so the user's intent never took effect and nothing said so. Messages here name
settings only; they never quote a value (a value may be a token or a password in a URL).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from connectors.redact import mask_secrets
from connectors.registry import REGISTRY

# A CRM section's settings class, "module:Class" (imported lazily, like the registry's connectors).
CRM_SETTINGS: dict[str, str] = {
    "hubspot": "connectors.hubspot.settings:HubSpotSettings",
    "pipedrive": "connectors.pipedrive.settings:PipedriveSettings",
    "zendesk-sell": "connectors.zendesk_sell.settings:ZendeskSellSettings",
}
# The file connector has no settings class: connectors/files/connector.py `from_options` reads these.
FILES_KEYS = frozenset({"data_dir", "output_dir"})

# OPPWORKER_* names read straight from the environment, outside the settings classes.
EXTRA_ENVIRONMENT = frozenset(
    {
        "OPPWORKER_CONFIG",  # the settings file of the service processes
        "OPPWORKER_SECRETS_DIR",  # worker/service/settings.py
        "OPPWORKER_CONNECTOR_PLUGINS",  # worker/service/app.py
        "OPPWORKER_BEAT_LOCK_SECONDS",  # worker/service/app.py
        "OPPWORKER_REQUIRE_SERVICES",  # the test suite: fail instead of skip without Redis/PostgreSQL
        "OPPWORKER_CONFIG_DIR",  # docker-compose.yml: the host folder mounted at /etc/oppworker
        "OPPWORKER_WEBHOOKS_BIND",  # docker-compose.yml: the host address the webhook port binds to
    }
)
# Prefixes owned by the test suite and bench/ scripts, never read by the service.
FOREIGN_PREFIXES = ("OPPWORKER_TEST_", "OPPWORKER_BENCH_")


class ConfigurationError(ValueError):
    """One or more configuration problems, one per line, each saying what to do."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def crm_settings_class(crm: str) -> type[BaseModel] | None:
    target = CRM_SETTINGS.get(crm)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def crm_setting_names(crm: str) -> frozenset[str] | None:
    """Every key a `crm.<crm>` section may hold; None for a plugin CRM we cannot know."""
    if crm == "files":
        return FILES_KEYS
    cls = crm_settings_class(crm)
    return frozenset(cls.model_fields) if cls is not None else None


def check_crm_sections(sections: Mapping[str, Any], known_crms: Iterable[str] = ()) -> None:
    """Refuse a misspelt section name or a key no connector setting reads, all at once."""
    crms = sorted({*REGISTRY, *known_crms})
    problems = []
    for crm, section in sections.items():
        if crm not in crms:
            problems.append(
                f"crm.{crm}: no such CRM{did_you_mean(crm, crms)}; the CRMs are {', '.join(crms)}"
            )
            continue
        if not isinstance(section, Mapping):
            problems.append(f"crm.{crm}: expected a mapping of settings")
            continue
        names = crm_setting_names(crm)
        if names is None:  # a plugin CRM: its own factory validates
            continue
        for key in sorted(section):
            if key not in names:
                problems.append(f"crm.{crm}.{key}: unknown setting{did_you_mean(str(key), names)}")
    if problems:
        raise ConfigurationError(problems)


def env_over_file(
    crm: str, section: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The file's `crm.<crm>` section without the keys the environment sets: the connector's
    settings then take those from the environment. One precedence rule everywhere: flags over
    environment over file (a connector's own CLI flags are passed as values and still win)."""
    environ = os.environ if environ is None else environ
    cls = crm_settings_class(crm)
    if cls is None:
        return dict(section)
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    return {k: v for k, v in section.items() if f"{prefix}{str(k).upper()}" not in environ}


def env_names(*classes: type[BaseModel]) -> set[str]:
    """Every OPPWORKER_ name the settings classes read, aliases included."""
    names = set(EXTRA_ENVIRONMENT)
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for field_name, info in cls.model_fields.items():
            choices = getattr(info.validation_alias, "choices", None)
            if not choices:  # an alias replaces the field's own name in the environment
                names.add(f"{prefix}{field_name.upper()}")
            for choice in choices or ():
                if isinstance(choice, str) and choice.upper().startswith("OPPWORKER_"):
                    names.add(choice.upper())
    return names


def check_environment(known: set[str], environ: Mapping[str, str] | None = None) -> None:
    """Refuse OPPWORKER_* variables no setting reads (`OPPWORKER_CRM=hubspot` did nothing). The
    suggestion may be a connector's own variable: `OPPWORKER_BURST_LIMIT` -> `HUBSPOT_BURST_LIMIT`."""
    environ = os.environ if environ is None else environ
    candidates = {name.removeprefix("OPPWORKER_").lower(): name for name in known}
    for crm in CRM_SETTINGS:
        for name in env_names(crm_settings_class(crm)) - EXTRA_ENVIRONMENT:  # type: ignore[arg-type]
            prefix = str(crm_settings_class(crm).model_config.get("env_prefix", "")).upper()  # type: ignore[union-attr]
            candidates.setdefault(name.removeprefix(prefix).lower(), name)
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("OPPWORKER_") or upper.startswith(FOREIGN_PREFIXES):
            continue
        base = upper.split("__", 1)[0]  # OPPWORKER_SCHEDULES__HUBSPOT__... nests into `schedules`
        if base not in known:
            close = difflib.get_close_matches(
                base.removeprefix("OPPWORKER_").lower(), list(candidates), n=1, cutoff=0.75
            )
            hint = f" (did you mean `{candidates[close[0]]}`?)" if close else ""
            problems.append(f"environment variable {name}: no such setting{hint}")
    if problems:
        raise ConfigurationError(problems)


def plain_settings_error(exc: Exception, prefix: str = "OPPWORKER_") -> ConfigurationError:
    """pydantic-settings' "error parsing value for field "crms" from source ..." in words."""
    found = re.search(r'field "([^"]+)"', str(exc))
    if not found:
        return ConfigurationError([f"settings: {exc}"])
    field = found.group(1)
    problem = (
        f"environment variable {prefix}{field.upper()}: cannot be read as `{field}` "
        "(a mapping is written as JSON; a list as JSON or a comma list)"
    )
    return ConfigurationError([problem])


def plain_validation_error(exc: ValidationError, where: str = "") -> ConfigurationError:
    """pydantic's report without the input values (a value may be a secret), one line per setting."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        label = f"{where}{location}" if location else where.rstrip(".") or "settings"
        if error["type"] == "extra_forbidden":
            parent_fields = _fields_at(exc, error["loc"][:-1])
            problems.append(f"{label}: unknown setting{did_you_mean(str(error['loc'][-1]), parent_fields)}")
        else:
            message = mask_secrets(str(error["msg"]))  # a custom validator's text may quote its input
            problems.append(f"{label}: {message[:1].lower()}{message[1:]}")
    return ConfigurationError(problems)


def _fields_at(exc: ValidationError, location: tuple[Any, ...]) -> list[str]:
    """The valid names beside an unknown key, from the model the error was raised for, walking
    through fields, dict values and list items (`schedules.hubspot.<key>`, `usage_sources.0.<key>`)."""
    current: Any = _MODELS.get(exc.title)
    for part in location:
        if _is_model(current) and str(part) in current.model_fields:
            current = current.model_fields[str(part)].annotation
            continue
        current = next((arg for arg in get_args(current) if _is_model(arg)), None)
    if not _is_model(current):
        current = next((arg for arg in get_args(current) if _is_model(arg)), None)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


# Models whose errors `plain_validation_error` can suggest names for, by pydantic's error title.
_MODELS: dict[str, type[BaseModel]] = {}


def register_model(*models: type[BaseModel]) -> None:
    for model in models:
        _MODELS[model.__name__] = model
