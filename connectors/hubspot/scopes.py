"""Which scopes a token has, found the way that works for every credential a user can create today.

A Service Key (Development > Keys > Service keys), a project app's static token and a legacy private
app token are all sent as Bearer, but only the legacy token is known to the token-info endpoint
(POST /oauth/v2/private-apps/get/access-token-info; hubspot-2026.md section 1). So each capability
the connector needs is *probed* with the smallest call that uses it (a one-record read, or a write
that changes nothing: an empty batch update, a property update with no fields). HubSpot checks scopes before it
validates a body, so a probe that lacks its scope answers 403 MISSING_SCOPES, whose
`errors[].context.requiredGranularScopes` / `requiredScopes` name the scope to add
(https://developers.hubspot.com/docs/api-reference/latest/error-handling; body shape from
hubspot-api-nodejs#268). Any other answer (200, 201, 400, 404) means the scope is there.
The token-info endpoint is asked too, only to say which kind of credential this is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.errors import missing_scopes
from connectors.hubspot.mapping import KEY_PROPERTY
from domain import ConnectorError, FailureKind

LEGACY = "legacy private app token"
NEW_KIND = "Service Key or project app static token (token-info endpoint not available for it)"


@dataclass(frozen=True)
class Probe:
    scope: str  # the scope this capability needs (the spec files' `security` of the endpoint)
    capability: str
    call: Callable[[HubSpotClient], tuple[int, dict[str, Any]]]


def _empty_batch(object_type: str, operation: str) -> Callable[[HubSpotClient], tuple[int, dict[str, Any]]]:
    body: dict[str, Any] = {"inputs": []}
    if operation == "read":
        body |= {"properties": [], "propertiesWithHistory": []}
    return lambda c: c.probe("POST", c.paths.batch(object_type, operation), json=body)


def _first_record(object_type: str) -> Callable[[HubSpotClient], tuple[int, dict[str, Any]]]:
    return lambda c: c.probe("GET", c.paths.objects(object_type), params={"limit": 1})


PROBES: list[Probe] = [
    Probe("crm.objects.companies.read", "read companies", _first_record("companies")),
    Probe("crm.objects.deals.read", "read and search deals", _empty_batch("deals", "read")),
    # Write probes update nothing: an empty batch/update needs the write scope and changes no record.
    Probe("crm.objects.deals.write", "create deals", _empty_batch("deals", "update")),
    # Tasks are guarded by the contacts scopes (spec: CRM/Tasks/Rollouts/424/2026-03/tasks.json).
    Probe("crm.objects.contacts.read", "read follow-up tasks", _empty_batch("tasks", "read")),
    Probe("crm.objects.contacts.write", "create follow-up tasks", _empty_batch("tasks", "update")),
    Probe(
        "crm.objects.owners.read",
        "read owners",
        lambda c: c.probe("GET", c.paths.owners(), params={"limit": 1}),
    ),
    Probe(
        "crm.schemas.deals.read",
        "read deal properties",
        lambda c: c.probe("GET", c.paths.properties("deals", KEY_PROPERTY)),
    ),
    # An update with no fields (PropertyUpdate requires none): 404 when the property does not exist
    # yet, 200 and nothing changed when it does; either way past the scope check.
    Probe(
        "crm.schemas.deals.write",
        "create deal properties",
        lambda c: c.probe("PATCH", c.paths.properties("deals", KEY_PROPERTY), json={}),
    ),
]
LINE_ITEMS_PROBE = Probe("crm.objects.line_items.read", "read line items", _first_record("line_items"))

# Every scope the connector's calls need, in the order `oppworker hubspot setup` lists them; the
# shipped project app (connectors/hubspot/project) requires exactly these (a test checks it).
REQUIRED_SCOPES = [p.scope for p in PROBES]


@dataclass
class ScopeCheck:
    credential: str
    missing: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)


def probes_for(client: HubSpotClient) -> list[Probe]:
    extra = [LINE_ITEMS_PROBE] if client.settings.products_source == "line_items" else []
    return PROBES + extra


def credential_kind(client: HubSpotClient) -> str:
    try:
        client.token_scopes()
    except ConnectorError:
        return NEW_KIND
    return LEGACY


def check_scopes(client: HubSpotClient) -> ScopeCheck:
    check = ScopeCheck(credential=credential_kind(client))
    for probe in probes_for(client):
        status, body = probe.call(client)
        if status == 401:
            raise ConnectorError(
                "HubSpot refused the token (HTTP 401): check HUBSPOT_ACCESS_TOKEN",
                FailureKind.AUTH,
                status=401,
            )
        if status == 403:
            for scope in missing_scopes(body) or [probe.scope]:
                if scope not in check.missing:
                    check.missing.append(scope)
            continue
        if status == 429 or status >= 500:
            raise ConnectorError(
                f"HubSpot answered HTTP {status} while checking scopes; run setup again",
                FailureKind.TRANSIENT,
                status=status,
            )
        check.granted.append(probe.scope)
    return check
