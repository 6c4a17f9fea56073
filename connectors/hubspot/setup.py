"""`oppworker hubspot setup`: create the custom deal properties we need, idempotently; check scopes.

Properties API: https://developers.hubspot.com/docs/api/crm/properties (POST /crm/v3/properties/{type};
`hasUniqueValue` "can't be changed once set", so we create the key property unique from the start).
Scopes: probed per capability for every kind of credential (connectors/hubspot/scopes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import KEY_PROPERTY
from connectors.hubspot.scopes import REQUIRED_SCOPES, ScopeCheck
from connectors.hubspot.scopes import check_scopes as probe_scopes
from connectors.setup_progress import OnCheck, counted
from domain import ConnectorError, FailureKind

GROUP = "dealinformation"

DEAL_PROPERTY_DEFINITIONS: list[dict[str, Any]] = [
    {
        "name": KEY_PROPERTY,
        "label": "Opportunity key (oppworker)",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP,
        "hasUniqueValue": True,
        "description": "Idempotency key of the opportunity-worker opportunity this deal was created for.",
    },
    {
        "name": "oppworker_account_id",
        "label": "Account id (oppworker)",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP,
        "description": "HubSpot company id the opportunity was found on.",
    },
    {
        "name": "oppworker_playbook",
        "label": "Playbook (oppworker)",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP,
        "description": "Playbook that found this opportunity.",
    },
    {
        "name": "oppworker_offer",
        "label": "Offer (oppworker)",
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP,
        "description": "Product or plan offered.",
    },
    {
        "name": "oppworker_kind",
        "label": "Opportunity kind (oppworker)",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": GROUP,
        "options": [
            {"label": "Upsell", "value": "upsell", "displayOrder": 0},
            {"label": "Cross-sell", "value": "cross_sell", "displayOrder": 1},
        ],
    },
    {
        "name": "oppworker_score",
        "label": "Opportunity score (oppworker)",
        "type": "number",
        "fieldType": "number",
        "groupName": GROUP,
        "description": "Score 0-100 when the deal was created.",
    },
]


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    credential: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.missing_scopes


def required_scopes(client: HubSpotClient) -> list[str]:
    extra = ["crm.objects.line_items.read"] if client.settings.products_source == "line_items" else []
    return REQUIRED_SCOPES + extra


def check_scopes(client: HubSpotClient) -> list[str]:
    """Scopes the token lacks, by probing (works for Service Keys and static tokens too)."""
    return probe_scopes(client).missing


def run_setup(client: HubSpotClient, on_check: OnCheck | None = None) -> SetupReport:
    """Check scopes, then make sure every deal property exists (creating what is missing). A key
    property that exists but is not unique is a problem we report, not something we can fix.
    `on_check` hears of each check as it starts (connectors/setup_progress.py)."""
    with counted(on_check, 1 + len(DEAL_PROPERTY_DEFINITIONS)) as start:
        return _run_checks(client, start)


def _run_checks(client: HubSpotClient, start: Callable[[str], None]) -> SetupReport:
    report = SetupReport()
    start("token scopes")
    scopes: ScopeCheck = probe_scopes(client)
    report.missing_scopes, report.credential = scopes.missing, scopes.credential
    if any(s.startswith("crm.schemas.deals") for s in report.missing_scopes):
        report.problems.append("cannot check or create deal properties without the crm.schemas.deals scopes")
        return report
    for definition in DEAL_PROPERTY_DEFINITIONS:
        name = definition["name"]
        start(f"deal property {name}")
        existing = client.get_property("deals", name)
        if existing is None:
            try:
                client.create_property("deals", definition)
                report.created.append(name)
            except ConnectorError as exc:
                if exc.status == 409:  # created concurrently: fine
                    report.found.append(name)
                else:
                    raise
            continue
        report.found.append(name)
        if definition.get("hasUniqueValue") and not existing.get("hasUniqueValue"):
            report.problems.append(
                f"deal property {name} exists but does not require unique values; exactly-once writes "
                "need it unique (HubSpot cannot change this: archive it and rerun setup)"
            )
    return report


def require_scopes(client: HubSpotClient) -> None:
    missing = check_scopes(client)
    if missing:
        raise ConnectorError(f"the HubSpot token lacks scope(s): {', '.join(missing)}", FailureKind.AUTH)
