"""Pure translation between HubSpot JSON and the domain types: companies, owners and deals. No
I/O, so it is tested on its own. Property values are parsed in `values.py`, tasks mapped in
`task_mapping.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, AccountState, DealFacts, ReadReport, usage_point

# `as` names: re-exported, where the connector, writer, bench and tests use them as `mapping.<name>`
from connectors.hubspot.associations import DEAL_TO_COMPANY_PRIMARY, association
from connectors.hubspot.associations import TASK_TO_COMPANY as TASK_TO_COMPANY
from connectors.hubspot.associations import TASK_TO_DEAL as TASK_TO_DEAL
from connectors.hubspot.task_mapping import marker_key as marker_key
from connectors.hubspot.task_mapping import task_create_input as task_create_input
from connectors.hubspot.task_mapping import task_properties as task_properties
from connectors.hubspot.values import finite_number, iso_midnight, parse_date, parse_datetime
from connectors.hubspot.values import to_epoch_ms as to_epoch_ms
from domain import (
    Account,
    Contribution,
    ExistingOpportunity,
    Opportunity,
    OpportunityStatus,
    Owner,
    UsagePoint,
)

KEY_PROPERTY = "oppworker_key"

# Our custom deal properties (created by `oppworker hubspot setup`).
DEAL_PROPERTIES = [
    KEY_PROPERTY,
    "oppworker_account_id",
    "oppworker_playbook",
    "oppworker_offer",
    "oppworker_kind",
    "oppworker_score",
]
DEAL_READ_PROPERTIES = [
    *DEAL_PROPERTIES,
    "dealstage",
    "hs_is_closed",
    "hs_is_closed_won",
    "createdate",
    "closedate",
    "amount",
    "closed_lost_reason",
]


# -- companies -> accounts ------------------------------------------------------------------------
_DATE_FIELDS = {"customer_since", "contract_end_date"}


def company_to_record(
    company: Mapping[str, Any],
    field_map: Mapping[str, str],
    usage_map: Mapping[str, str],
    today: date,
    report: ReadReport,
) -> AccountRecord | None:
    """One company as an AccountRecord, or None (counted in `report`) when it cannot be an account.

    A bad value in one field defaults that field (counted, logged) rather than losing the account;
    only a company without an id is skipped.
    """
    company_id = str(company.get("id") or "").strip()
    if not company_id:
        report.skip("company_without_id", None)
        return None
    props = company.get("properties") or {}
    raw: dict[str, Any] = {"id": company_id}
    for canonical, prop in field_map.items():
        value = props.get(prop)
        if value in (None, ""):
            continue
        if canonical in _DATE_FIELDS:
            parsed = parse_date(value)
            if parsed is None:
                report.default(f"invalid_{canonical}", company_id, f"{prop}={str(value)[:40]!r}")
                continue
            value = parsed
        raw[canonical] = value
    account = _validated_account(raw, company_id, report)
    if account is None:
        return None
    period_start = today - timedelta(days=30)
    usage: list[UsagePoint] = []
    for metric, prop in usage_map.items():
        value = props.get(prop)
        if value in (None, ""):
            continue
        number = finite_number(value)
        if number is None:
            report.default(f"non_numeric_{metric}", company_id, f"{prop}={str(value)[:40]!r}")
            continue
        point = usage_point(report, company_id, metric, period_start, number)
        if point is not None:
            usage.append(point)
    return AccountRecord(account=account, usage=usage, usage_is_snapshot=True)


def _validated_account(raw: dict[str, Any], company_id: str, report: ReadReport) -> Account | None:
    """Build the Account, dropping (and counting) each field pydantic rejects, one pass per field."""
    for _ in range(len(raw) + 1):
        try:
            return Account(**raw)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
            bad.discard("id")
            if not bad:
                report.skip("invalid_company", company_id, str(exc.errors()[:1]))
                return None
            for name in bad:
                report.default(f"invalid_{name}", company_id, f"{str(raw.get(name))[:40]!r}")
                raw.pop(name, None)
    report.skip("invalid_company", company_id)
    return None


def company_basket(
    company: Mapping[str, Any], products_property: str | None, report: ReadReport
) -> tuple[str, frozenset[str]] | None:
    company_id = str(company.get("id") or "").strip()
    if not company_id:
        report.skip("company_without_id", None)
        return None
    value = (company.get("properties") or {}).get(products_property) if products_property else None
    if not value:
        return company_id, frozenset()
    return company_id, frozenset(p.strip() for p in str(value).replace(",", ";").split(";") if p.strip())


HISTORY_FIELDS = ("plan", "plan_rank", "seats_purchased", "seats_used", "mrr")


def company_history(company: Mapping[str, Any], field_map: Mapping[str, str]) -> list[AccountState]:
    """A company's plan/seats/MRR over time from `propertiesWithHistory` (versions newest first):
    one state per day on which any of them changed, carrying every field's value as of that day,
    oldest first. Unparseable values count as unknown (None) from that version on."""
    company_id = str(company.get("id") or "").strip()
    versions = company.get("propertiesWithHistory") or {}
    changes: list[tuple[datetime, str, Any]] = []
    for canonical in HISTORY_FIELDS:
        prop = field_map.get(canonical)
        for version in (versions.get(prop) or []) if prop else []:
            when = parse_datetime(version.get("timestamp"))
            if when is not None:
                changes.append((when, canonical, _history_value(canonical, version.get("value"))))
    if not company_id or not changes:
        return []
    changes.sort(key=lambda c: c[0])
    current: dict[str, Any] = {}
    by_day: dict[date, dict[str, Any]] = {}
    for when, canonical, value in changes:
        current[canonical] = value
        by_day[when.date()] = dict(current)
    return [
        AccountState(account_id=company_id, valid_from=day, **values)
        for day, values in sorted(by_day.items())
    ]


def _history_value(canonical: str, value: Any) -> Any:
    if value in (None, ""):
        return None
    if canonical == "plan":
        return str(value).strip() or None
    number = finite_number(value)
    if number is None or number < 0:
        return None
    return Decimal(str(value).strip()) if canonical == "mrr" else int(number)


def owner_from_json(data: Mapping[str, Any]) -> Owner | None:
    owner_id = str(data.get("id") or "").strip()
    if not owner_id:
        return None
    name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p) or None
    return Owner(id=owner_id, email=data.get("email") or None, name=name)


# -- deals <-> opportunities ------------------------------------------------------------------------
def deal_properties(opportunity: Opportunity, pipeline: str, stage: str) -> dict[str, str]:
    """Deal properties for a new opportunity. All values are strings (the spec's
    `additionalProperties: string`); `dealname` and `dealstage` are required on create."""
    props = {
        "dealname": opportunity.title[:250],
        "pipeline": pipeline,
        "dealstage": stage,
        "amount": str(opportunity.estimated_amount),
        # The amount's currency. HubSpot accepts only the portal's company currency and the ones
        # added under multi-currency; any other is refused with INVALID_OPTION for this deal alone
        # (https://developers.hubspot.com/changelog/deal-currenct-code-validation).
        "deal_currency_code": opportunity.currency,
        "closedate": iso_midnight(opportunity.close_date),
        "description": explanation_text(opportunity.explanation)[:65_000],
        KEY_PROPERTY: opportunity.key,
        "oppworker_account_id": opportunity.account_id,
        "oppworker_playbook": opportunity.playbook,
        "oppworker_offer": opportunity.offer,
        "oppworker_kind": opportunity.kind.value,
        "oppworker_score": str(opportunity.score),
    }
    if opportunity.owner_id:
        props["hubspot_owner_id"] = opportunity.owner_id
    return props


def deal_create_input(opportunity: Opportunity, pipeline: str, stage: str) -> dict[str, Any]:
    """One batch/create input: the deal, associated inline to its company as the primary company.
    `objectWriteTraceId` asks for a 207 with per-item errors instead of failing the whole batch."""
    return {
        "properties": deal_properties(opportunity, pipeline, stage),
        "associations": [association(opportunity.account_id, DEAL_TO_COMPANY_PRIMARY)],
        "objectWriteTraceId": opportunity.key,
    }


def explanation_text(contributions: Sequence[Contribution]) -> str:
    hits = sorted((c for c in contributions if c.matched), key=lambda c: -c.points)
    return "\n".join(f"+{c.points} {c.reason}" for c in hits)


def deal_to_existing(deal: Mapping[str, Any]) -> ExistingOpportunity | None:
    props = deal.get("properties") or {}
    key = props.get(KEY_PROPERTY)
    account_id = props.get("oppworker_account_id")
    if not key or not account_id:
        return None
    won = str(props.get("hs_is_closed_won") or "").lower() == "true"
    closed = won or str(props.get("hs_is_closed") or "").lower() == "true"
    status = OpportunityStatus.WON if won else OpportunityStatus.LOST if closed else OpportunityStatus.OPEN
    return ExistingOpportunity(
        key=key,
        account_id=account_id,
        playbook=props.get("oppworker_playbook") or "",
        offer=props.get("oppworker_offer") or "",
        status=status,
        created_at=parse_datetime(props.get("createdate") or deal.get("createdAt")),
        closed_at=parse_datetime(props.get("closedate")) if closed else None,
        crm_id=str(deal.get("id")),
    )


def deal_facts(deal: Mapping[str, Any]) -> DealFacts:
    """The outcome loop's facts from a deal read with DEAL_READ_PROPERTIES: the amount it closed
    at (won only), HubSpot's `closed_lost_reason`, and our own kind and score."""
    props = deal.get("properties") or {}
    won = str(props.get("hs_is_closed_won") or "").lower() == "true"
    amount = None
    if won and props.get("amount") not in (None, ""):
        try:
            amount = Decimal(str(props["amount"]))
        except ArithmeticError:
            amount = None
    score = (
        finite_number(props.get("oppworker_score"))
        if props.get("oppworker_score") not in (None, "")
        else None
    )
    return DealFacts(
        amount=amount,
        lost_reason=props.get("closed_lost_reason") or None,
        kind=props.get("oppworker_kind") or None,
        score=int(score) if score is not None else None,
    )
