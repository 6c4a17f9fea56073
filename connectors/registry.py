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
    "pipedrive": "connectors.pipedrive.connector:from_options",
    "zendesk-sell": "connectors.zendesk_sell.connector:from_options",
}


# The connectors this package ships (plugins added at runtime are not among them): each must pass
# the contract suite in tests/contract, through one harness entry.
SHIPPED: frozenset[str] = frozenset(REGISTRY)


def available() -> list[str]:
    return sorted(REGISTRY)


def build_connector(name: str, options: Mapping[str, Any]) -> Connector:
    if name not in REGISTRY:
        raise KeyError(f"unknown CRM {name!r}; choose one of {', '.join(available())}")
    module_name, _, attr = REGISTRY[name].partition(":")
    factory: Factory = getattr(import_module(module_name), attr)
    options = dict(options)
    sources = options.pop("usage_sources", None)
    if not sources:
        return _build(name, factory, options)
    # SQL usage sources (connectors/sql): the CRM reads the properties they join on, and its
    # connector is wrapped so every caller's `read_accounts` carries the sources' usage.
    from connectors.sql.enriched import enrich, key_properties
    from connectors.sql.settings import parse_sources

    parsed = parse_sources(sources)
    extra_keys = key_properties(parsed)
    if extra_keys:
        options["account_key_properties"] = sorted({*options.get("account_key_properties", []), *extra_keys})
    return enrich(_build(name, factory, options), parsed)


def cli_groups() -> list[Any]:
    """Each registered CRM's own `oppworker <crm> ...` commands: a CRM folder that has a `cli.py`
    exposing a click `group` (connectors/hubspot/cli.py) gets it mounted, so adding a CRM touches
    its folder and `REGISTRY`, not the worker's command line. A CRM without one adds nothing."""
    groups = []
    for name in available():
        package = REGISTRY[name].partition(":")[0].rpartition(".")[0]
        if not package:
            continue
        try:
            module = import_module(f"{package}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.cli":
                raise  # the CLI module exists but needs something missing: say so
            continue
        if hasattr(module, "group"):
            groups.append(module.group)
    return groups


def _build(name: str, factory: Factory, options: Mapping[str, Any]) -> Connector:
    try:
        return factory(options)
    except ValidationError as exc:  # pydantic would quote the input: a misplaced token, verbatim
        raise ConnectorError(
            plain_validation_error(exc, f"crm.{name} settings"), FailureKind.CONFIG
        ) from None
