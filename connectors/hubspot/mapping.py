"""Pure translation between HubSpot JSON and the domain types. No I/O, so it is tested on its own.

HubSpot returns every property value as a string (or null); dates arrive as ISO dates, ISO
datetimes or epoch milliseconds depending on the property type, so parsing accepts all three.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, AccountState, DealFacts, ReadReport, usage_point
from domain import (
    Account,
    Contribution,
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityStatus,
    Owner,
    UsagePoint,
)
from domain.opportunity import TASK_MARKER  # the last line of every task body we write

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

# HUBSPOT_DEFINED association type ids (https://developers.hubspot.com/docs/api/crm/associations,
# "Association type ID values"); verified against GET /crm/v4/associations/{from}/{to}/labels.
DEAL_TO_COMPANY_PRIMARY = 5
TASK_TO_COMPANY = 192
TASK_TO_DEAL = 216


def parse_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def to_epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def iso_midnight(day: date) -> str:
    """Date properties take midnight UTC (https://developers.hubspot.com/docs/api/crm/properties,
    "Date values")."""
    return datetime.combine(day, time(0), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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
        number = _number(value)
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


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


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
    number = _number(value)
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
        "associations": [_association(opportunity.account_id, DEAL_TO_COMPANY_PRIMARY)],
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
    score = _number(props.get("oppworker_score")) if props.get("oppworker_score") not in (None, "") else None
    return DealFacts(
        amount=amount,
        lost_reason=props.get("closed_lost_reason") or None,
        kind=props.get("oppworker_kind") or None,
        score=int(score) if score is not None else None,
    )


# -- tasks ----------------------------------------------------------------------------------------
def with_marker(body: str, key: str) -> str:
    """The task body always ends with the marker line, whether or not the renderer added it."""
    marker = f"{TASK_MARKER} {key}"
    stripped = body.rstrip()
    if stripped.splitlines() and stripped.splitlines()[-1].strip() == marker:
        return stripped
    return f"{stripped}\n\n{marker}" if stripped else marker


def marker_key(body: str | None) -> str | None:
    """The opportunity key from a task body's last marker line (HubSpot's editor stores task bodies
    as HTML, so tags become line breaks and entities are decoded before looking)."""
    if not body:
        return None
    text = html.unescape(re.sub(r"<[^>]*>", "\n", body))
    for line in reversed([line.strip() for line in text.splitlines() if line.strip()]):
        if line.startswith(TASK_MARKER):
            return line[len(TASK_MARKER) :].strip() or None
    return None


def html_body(text: str) -> str:
    """HubSpot shows `hs_task_body` as rich text (HTML), so the plain body is escaped (a `<script>`
    in an account name or a playbook title stays text, #16) and its line breaks become `<br>`.
    `marker_key` reads it back: tags become line breaks and entities are decoded."""
    return "<br>\n".join(html.escape(line, quote=False) for line in text.split("\n"))


def task_properties(task: FollowUpTask, task_type: str) -> dict[str, str]:
    """Task properties (https://developers.hubspot.com/docs/api/crm/tasks): hs_timestamp (due date,
    required) and the rest."""
    props = {
        "hs_timestamp": iso_midnight(task.due_date),
        "hs_task_subject": task.subject[:250],
        "hs_task_body": html_body(with_marker(task.body, task.opportunity_key)),
        "hs_task_priority": task.priority,
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": task_type,
    }
    if task.owner_id:
        props["hubspot_owner_id"] = task.owner_id
    return props


def task_create_input(task: FollowUpTask, deal_id: str, task_type: str) -> dict[str, Any]:
    """Batch create input with the associations the spec marks required: company and deal."""
    return {
        "properties": task_properties(task, task_type),
        "associations": [_association(task.account_id, TASK_TO_COMPANY), _association(deal_id, TASK_TO_DEAL)],
        "objectWriteTraceId": task.opportunity_key,
    }


def _association(to_id: str, type_id: int) -> dict[str, Any]:
    return {
        "to": {"id": str(to_id)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
