"""Connector lookup by name, so the CLI and the worker never import a CRM package directly.

Each entry is imported lazily: running on the file connector must not need a CRM's settings.
A factory takes the `crm.<name>` section of the YAML config (a dict, possibly empty) plus the
data-folder/output options the CLI resolved, and returns an object implementing `Connector`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from pydantic import ValidationError

from connectors.base import Connector
from connectors.redact import plain_validation_error
from domain import ConnectorError, FailureKind

Factory = Callable[[Mapping[str, Any]], Connector]

# name -> "module:function"; the function receives the options mapping.
REGISTRY: dict[str, str] = {
    "files": "connectors.files.connector:from_options",
    "hubspot": "connectors.hubspot.connector:from_options",
    "zendesk-sell": "connectors.zendesk_sell.connector:from_options",
}


def available() -> list[str]:
    return sorted(REGISTRY)


def build_connector(name: str, options: Mapping[str, Any]) -> Connector:
    if name not in REGISTRY:
        raise KeyError(f"unknown CRM {name!r}; choose one of {', '.join(available())}")
    module_name, _, attr = REGISTRY[name].partition(":")
    factory: Factory = getattr(import_module(module_name), attr)
    try:
        return factory(options)
    except ValidationError as exc:  # pydantic would quote the input: a misplaced token, verbatim
        raise ConnectorError(plain_validation_error(exc, f"crm.{name} settings"), FailureKind.CONFIG) from None
