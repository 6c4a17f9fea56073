"""`oppworker zendesk-sell setup`: check the token and the custom fields the connector needs.

Sell custom fields cannot be created through the API
(https://developer.zendesk.com/api-reference/sales-crm/resources/custom-fields/), so this only checks,
and prints what an admin must create: the deal field holding the opportunity key (text, marked
Filterable, because deal upserts filter on it) and one contact field per mapped account field and
usage metric, enabled for companies. It also says whether Firehose works for incremental runs.
Read-only: it makes no write call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.setup_progress import OnCheck, counted
from connectors.zendesk_sell.client import SellClient
from connectors.zendesk_sell.fields import CUSTOM_PREFIX
from connectors.zendesk_sell.settings import CONTACT_ATTRIBUTES, ZendeskSellSettings
from domain import ConnectorError, FailureKind

# The Sell field type an admin should pick for each canonical field (type names from the
# custom-fields reference); anything else, including usage metrics, is a Number.
SUGGESTED_TYPES = {
    "plan": "Text (or Dropdown)",
    "products": "Multi-select list (one choice per product code)",
    "currency": "Text (ISO code, e.g. USD)",
    "customer_since": "Date",
    "contract_end_date": "Date",
    "journey_stage": "Dropdown (onboarding, adopting, value_realised, renewal_window, at_risk)",
}
ADMIN_PATH = "Sell > Settings > Customize > {where} > Custom fields (admin only)"
# zendesk-sell-api.md "Retirement": announced 2025-09-09 (support.zendesk.com/hc/en-us/articles/9591462550042).
RETIREMENT_NOTICE = (
    "Zendesk Sell retires on 2027-08-31 and its data is deleted then (or when the subscription ends, if "
    "sooner). Zendesk names Pipedrive as its migration partner; this tool runs on Pipedrive too "
    "(`oppworker pipedrive setup`). Import the Sell export with the Sell ids and opportunity keys carried, then "
    "`oppworker migrate --from zendesk-sell --to pipedrive --dry-run` carries open offers, cooldowns, holdouts "
    "and outcome history across so no offer is made twice (docs/pipedrive.md, 'Moving from Zendesk Sell')."
)


@dataclass
class SetupReport:
    user: str | None = None
    found: list[str] = field(default_factory=list)
    to_create: list[str] = field(default_factory=list)  # instructions for an admin
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.to_create


def contact_fields_needed(settings: ZendeskSellSettings) -> dict[str, str]:
    """custom field name -> what it holds, for every mapping entry that names a custom field."""
    needed: dict[str, str] = {}
    for canonical, sell_field in settings.field_map().items():
        if canonical == "products" and settings.products_source == "orders":
            continue  # read from purchase history instead
        if sell_field.startswith(CUSTOM_PREFIX):
            needed[sell_field[len(CUSTOM_PREFIX) :]] = canonical
        elif sell_field not in CONTACT_ATTRIBUTES:
            needed[sell_field] = canonical
    for metric, sell_field in settings.usage_map().items():
        name = sell_field[len(CUSTOM_PREFIX) :] if sell_field.startswith(CUSTOM_PREFIX) else sell_field
        needed[name] = f"usage:{metric}"
    return needed


def _definitions(client: SellClient, resource: str) -> dict[str, Mapping[str, Any]]:
    envelope = client.get(f"/v2/{resource}/custom_fields", endpoint=f"/v2/{resource}/custom_fields") or {}
    out: dict[str, Mapping[str, Any]] = {}
    for item in envelope.get("items") or []:
        data = item.get("data") if isinstance(item, Mapping) else None
        if isinstance(data, Mapping) and data.get("name"):
            out[str(data["name"])] = data
    return out


def run_setup(
    client: SellClient, settings: ZendeskSellSettings, on_check: OnCheck | None = None
) -> SetupReport:
    """Every check, read-only; `on_check` hears of each as it starts (connectors/setup_progress.py)."""
    total = 3 + (settings.deal_stage_id is not None) + (settings.incremental == "firehose")
    with counted(on_check, total) as start:
        return _run_checks(client, settings, start)


def _run_checks(
    client: SellClient, settings: ZendeskSellSettings, start: Callable[[str], None]
) -> SetupReport:
    report = SetupReport()
    start("access token")
    try:
        me = (client.get("/v2/users/self") or {}).get("data") or {}
    except ConnectorError as exc:
        if exc.kind is FailureKind.AUTH:
            report.problems.append(
                f"the access token was refused ({exc}). Create a personal access token in Sell > Settings > "
                "Integrations > OAuth > Access Tokens and set ZENDESK_SELL_ACCESS_TOKEN."
            )
            return report
        raise
    report.user = f"{me.get('name')} <{me.get('email')}> (role {me.get('role', '?')})"

    key_field = settings.opportunity_key_field
    start(f"deal custom field {key_field!r}")
    deal_fields = _definitions(client, "deal")
    if key_field in deal_fields:
        report.found.append(f"deal custom field {key_field!r}")
        try:
            client.get("/v2/deals", {f"custom_fields[{key_field}]": "oppworker-setup-probe", "per_page": 1})
        except ConnectorError as exc:
            if exc.kind is not FailureKind.PERMANENT:
                raise
            report.to_create.append(
                f"mark the deal custom field {key_field!r} as Filterable "
                f"({ADMIN_PATH.format(where='Deals')}): deal upserts filter on it ({exc})"
            )
    else:
        report.to_create.append(
            f"create a deal custom field named {key_field!r}, type Text, marked Filterable "
            f"({ADMIN_PATH.format(where='Deals')}): it holds the opportunity key that makes writes idempotent"
        )

    start("contact custom fields")
    contact_fields = _definitions(client, "contact")
    for name, holds in sorted(contact_fields_needed(settings).items()):
        definition = contact_fields.get(name)
        if definition is None:
            canonical = holds.removeprefix("usage:")
            kind = "Number" if holds.startswith("usage:") else SUGGESTED_TYPES.get(canonical, "Number")
            what = (
                f"usage metric {canonical} (value for the last 30 days)"
                if holds.startswith("usage:")
                else holds
            )
            report.to_create.append(
                f"create a contact custom field named {name!r}, type {kind}, shown for companies "
                f"({ADMIN_PATH.format(where='Contacts')}): it holds {what}; or map {holds} to an existing field"
            )
            continue
        report.found.append(f"contact custom field {name!r}")
        for_company = definition.get("for_company", definition.get("for_organisation"))
        if for_company is False:
            report.warnings.append(f"contact custom field {name!r} is not enabled for companies")

    if settings.deal_stage_id is not None:
        start(f"deal stage {settings.deal_stage_id}")
        stage_ids = {str(s.get("id")) for s in client.collection("/v2/stages")}
        if str(settings.deal_stage_id) not in stage_ids:
            report.problems.append(f"deal_stage_id {settings.deal_stage_id} is not a stage of this account")

    if settings.incremental == "firehose":
        start("Firehose access")
        try:
            client.get("/v3/contacts/stream", {"position": "top", "limit": 1}, endpoint="/v3/contacts/stream")
            report.found.append("Firehose access (incremental runs read only changes)")
        except ConnectorError as exc:
            if exc.kind is FailureKind.TRANSIENT:
                raise
            report.warnings.append(
                f"Firehose is not available to this token ({exc}); incremental runs will scan every account. "
                "Firehose needs a Growth plan or higher and an admin token; or set `incremental: full`."
            )
    return report
