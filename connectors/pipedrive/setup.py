"""`oppworker pipedrive setup`: check the token, create the deal field the connector needs, report
the organization fields it will read, and optionally register webhooks.

Unlike Sell, Pipedrive lets the API create custom fields (`POST /api/v2/dealFields`), so setup makes
the opportunity-key field itself: type `varchar`, because only address, varchar, text, varchar_auto,
double, monetary and phone fields are searchable and the writer searches it before every create
(pipedrive-api.md section 3 "Search"). A plan's custom-field cap answers 403 with a `code` [CL-403];
we say so rather than fail obscurely. Organization fields are only reported: which canonical field
or usage metric each one feeds is the customer's call, and a wrong type would be created for good.
Webhooks (`POST /v1/webhooks`, version 2.0) carry HTTP Basic credentials, since Pipedrive signs
nothing (section 5); one for organizations and one for deals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.fields import FieldCatalog
from connectors.pipedrive.settings import ORGANIZATION_ATTRIBUTES, PipedriveSettings
from connectors.setup_progress import OnCheck, counted
from domain import ConnectorError, FailureKind

WEBHOOK_OBJECTS = ("organization", "deal")


@dataclass
class SetupReport:
    user: str | None = None
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(
        default_factory=list
    )  # organization fields the mapping names but Pipedrive lacks
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    migration: list[str] = field(default_factory=list)  # how to import a Sell export for `oppworker migrate`

    @property
    def ok(self) -> bool:
        return not self.problems


def organization_fields_needed(settings: PipedriveSettings) -> dict[str, str]:
    """organization field name -> what it feeds."""
    needed: dict[str, str] = {}
    for canonical, name in settings.field_map().items():
        if canonical == "products" and settings.products_source == "deals":
            continue  # read from won deals' products instead
        if name not in ORGANIZATION_ATTRIBUTES:
            needed[name] = canonical
    for metric, name in settings.usage_map().items():
        needed[name] = f"usage:{metric}"
    return needed


def _ensure_key_field(client: PipedriveClient, settings: PipedriveSettings, report: SetupReport) -> None:
    name = settings.opportunity_key_field
    existing = FieldCatalog(client.pages("/api/v2/dealFields")).get(name)
    if existing is not None:
        report.found.append(f"deal field {name!r} (key {existing.code}, type {existing.field_type})")
        if existing.field_type not in ("varchar", "text", "varchar_auto"):
            report.problems.append(
                f"deal field {name!r} is of type {existing.field_type}: it must be a text field (varchar) "
                "so deal search can find the key; rename it and run setup again"
            )
        return
    try:
        created = (
            client.post("/api/v2/dealFields", {"field_name": name, "field_type": "varchar"}) or {}
        ).get("data") or {}
    except ConnectorError as exc:
        if exc.status == 403 and exc.kind is FailureKind.PERMANENT:
            report.problems.append(
                f"could not create the deal field {name!r}: the plan's custom-field cap is reached ({exc}). "
                "Pipedrive allows 30/100/300/500 custom fields per company (Lite to Ultimate): delete an unused "
                "field or upgrade, then run setup again"
            )
            return
        if exc.kind is FailureKind.AUTH:
            report.problems.append(
                f"could not create the deal field {name!r}: an admin token is needed ({exc})"
            )
            return
        raise
    report.created.append(f"deal field {name!r} (type varchar, key {created.get('field_code', '?')})")


def migration_steps(settings: PipedriveSettings, has_source_field: bool) -> list[str]:
    """What a Zendesk Sell customer does before importing its export, so `oppworker migrate` can
    carry offers, cooldowns and holdouts across (Sell retires 2027-08-31: zendesk-sell-api.md)."""
    field_step = (
        f"organization field {settings.source_id_field!r} exists: map the Sell export's company id column to it"
        if has_source_field
        else f"create an organization field {settings.source_id_field!r} (type text) and map the Sell export's "
        "company id column to it"
    )
    return [
        "From Zendesk Sell (retires 2027-08-31)? Before importing the Sell export into Pipedrive:",
        f"  1. {field_step};",
        f"  2. map the deals' 'opportunity_key' column to the deal field {settings.opportunity_key_field!r};",
        "  3. import, then run `oppworker migrate --from zendesk-sell --to pipedrive --dry-run`, check the mapping,",
        "     and run it again without --dry-run (docs/pipedrive.md).",
    ]


def run_setup(
    client: PipedriveClient,
    settings: PipedriveSettings,
    *,
    webhook_url: str | None = None,
    webhook_user: str | None = None,
    webhook_password: SecretStr | None = None,
    on_check: OnCheck | None = None,
) -> SetupReport:
    """Every check, then the webhooks asked for; `on_check` hears of each as it starts
    (connectors/setup_progress.py)."""
    total = 4 + (len(WEBHOOK_OBJECTS) if webhook_url else 0)
    with counted(on_check, total) as start:
        return _run_checks(client, settings, start, webhook_url, webhook_user, webhook_password)


def _run_checks(
    client: PipedriveClient,
    settings: PipedriveSettings,
    start: Callable[[str], None],
    webhook_url: str | None,
    webhook_user: str | None,
    webhook_password: SecretStr | None,
) -> SetupReport:
    report = SetupReport()
    start("API token")
    try:
        me = client.data("/v1/users/me") or {}
    except ConnectorError as exc:
        if exc.kind is FailureKind.AUTH:
            report.problems.append(
                f"the API token was refused ({exc}). Copy it from Pipedrive > Personal preferences > API and "
                "set PIPEDRIVE_API_TOKEN"
            )
            return report
        raise
    report.user = f"{me.get('name')} <{me.get('email')}> on {me.get('company_domain', '?')}.pipedrive.com"
    start(f"deal field {settings.opportunity_key_field!r}")
    _ensure_key_field(client, settings, report)

    start("organization fields")
    catalog = FieldCatalog(client.pages("/api/v2/organizationFields"))
    for name, feeds in sorted(organization_fields_needed(settings).items()):
        definition = catalog.get(name)
        if definition is None:
            report.missing.append(
                f"organization field {name!r} (feeds {feeds}): create it, or map {feeds} to an existing field"
            )
        else:
            report.found.append(f"organization field {name!r} (feeds {feeds}, type {definition.field_type})")

    report.migration.extend(migration_steps(settings, catalog.get(settings.source_id_field) is not None))

    start(f"activity type {settings.activity_type!r}")
    types = [t for t in client.pages_v1("/v1/activityTypes") if isinstance(t, Mapping)]
    if not any(
        t.get("key_string") == settings.activity_type and t.get("active_flag") is not False for t in types
    ):
        report.problems.append(
            f"activity type {settings.activity_type!r} is missing or inactive (Company settings > Activities)"
        )

    if webhook_url:
        if not webhook_user or webhook_password is None or not webhook_password.get_secret_value():
            report.problems.append(
                "a webhook needs --webhook-user and PIPEDRIVE_WEBHOOK_PASSWORD (HTTP Basic)"
            )
            return report
        for entity in WEBHOOK_OBJECTS:
            start(f"{entity} webhook")
            body = {
                "subscription_url": webhook_url,
                "event_action": "*",
                "event_object": entity,
                "version": "2.0",
                "name": f"oppworker {entity} changes",
                "http_auth_user": webhook_user,
                "http_auth_password": webhook_password.get_secret_value(),
            }
            try:
                hook = (client.post("/v1/webhooks", body) or {}).get("data") or {}
            except ConnectorError as exc:
                report.problems.append(f"could not register the {entity} webhook: {exc}")
                continue
            report.created.append(f"webhook {hook.get('id')} for {entity} changes -> {webhook_url}")
    return report
