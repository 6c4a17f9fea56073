"""Pure translation between Pipedrive JSON (API v2) and domain types. No HTTP here.

Pipedrive quirks handled (pipedrive-api.md sections 2-3 [MIG][CF][NODE]):
- custom fields sit in `custom_fields` keyed by a per-company 40-character hash, so fields are found
  by *name* through the field definitions (`FieldCatalog`), never by a hard-coded key;
- an enum value is an option id and a set a list of option ids (labels come from the definition); a
  monetary value is `{value, currency}`; dates are "YYYY-MM-DD", times RFC 3339;
- owners are plain ids (`owner_id`), deal status is `open|won|lost|deleted`, `is_deleted` marks deleted
  records, which are kept 30 days.
A record that cannot become an Account is skipped; a field that cannot be read is defaulted; both are
counted on the ReadReport with a reason.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.account_fields import field_parsers, parsed_value, products_value, validated_account
from connectors.account_reading import mapped_values, usage_points
from connectors.base import AccountRecord, ReadReport
from connectors.pipedrive.fields import (
    FieldCatalog,
    as_id,
    field_value,
    int_id,
    parse_date,
    parse_datetime,
    parse_money,
)
from domain import (
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityStatus,
    Owner,
)
from domain.opportunity import parse_key, task_marker

# ---------------------------------------------------------------- organizations -> accounts

_PARSERS = field_parsers(parse_money, parse_date)


def _convert(canonical: str, raw: Any) -> Any:
    if canonical == "products":
        return products_value(raw)
    if canonical == "owner_id":
        return as_id(raw)
    parser = _PARSERS.get(canonical)
    if parser is None:
        if isinstance(raw, (list, Mapping)):
            raise ValueError(f"expected one value, got {type(raw).__name__}")
        return raw
    return parsed_value(canonical, raw, parser)


def _money_currency(org: Mapping[str, Any], mrr_field: str | None, catalog: FieldCatalog) -> dict[str, Any]:
    """An organization has no currency of its own in Pipedrive, but a monetary field is
    `{value, currency}`: without a mapped `currency` field, the MRR field's currency is the
    account's (pipedrive-api.md section 3 "Fields" [MIG])."""
    if mrr_field is None:
        return {}
    try:
        raw = field_value(org, mrr_field, catalog)
    except KeyError:
        return {}
    if isinstance(raw, Mapping) and raw.get("currency"):
        return {"currency": raw["currency"]}
    return {}


def to_account_record(
    org: Any,
    catalog: FieldCatalog,
    field_map: Mapping[str, str],
    usage_map: Mapping[str, str],
    today: date,
    report: ReadReport,
) -> AccountRecord | None:
    """An organization as an AccountRecord with one 30-day UsagePoint per mapped metric.
    Fields the company has not defined are simply absent (setup reports them)."""
    if not isinstance(org, Mapping):
        report.skip("not_an_object", None, type(org).__name__)
        return None
    account_id = as_id(org.get("id"))
    if account_id is None:
        report.skip("missing_id", None)
        return None
    if org.get("is_deleted") is True:
        report.skip("deleted", account_id)
        return None

    def read(name: str) -> Any:
        return field_value(org, name, catalog)

    values: dict[str, Any] = {"id": account_id}
    values.update(mapped_values(field_map, read, _convert, account_id, report))
    if "currency" not in values:
        values.update(_money_currency(org, field_map.get("mrr"), catalog))
    account = validated_account(values, account_id, report)
    if account is None:
        return None
    usage = usage_points(usage_map, read, account_id, today, report)
    return AccountRecord(account=account, usage=usage, usage_is_snapshot=True)


def to_owner(user: Any) -> Owner | None:
    """A `/v1/users` item; deleted or deactivated users own nothing any more."""
    owner_id = as_id(user.get("id")) if isinstance(user, Mapping) else None
    if owner_id is None or user.get("is_deleted") is True:
        return None
    return Owner(id=owner_id, email=user.get("email") or None, name=user.get("name") or None)


# ---------------------------------------------------------------- deals and activities


def deal_key(deal: Mapping[str, Any], key_code: str) -> str | None:
    value = (deal.get("custom_fields") or {}).get(key_code)
    return value.strip() if isinstance(value, str) and value.strip() else None


def to_existing(deal: Any, key_code: str) -> ExistingOpportunity | None:
    """A deal this tool wrote (it carries our key field); deleted deals count as gone."""
    if not isinstance(deal, Mapping) or deal.get("is_deleted") is True or deal.get("status") == "deleted":
        return None
    key = deal_key(deal, key_code)
    parsed = parse_key(key) if key else None
    if key is None or parsed is None:
        return None
    account_id, playbook, offer = parsed
    status = {"won": OpportunityStatus.WON, "lost": OpportunityStatus.LOST}.get(
        str(deal.get("status")), OpportunityStatus.OPEN
    )
    try:
        created_at = parse_datetime(deal.get("add_time"))
        closed_at = parse_datetime(
            deal.get("close_time") or deal.get("won_time") or deal.get("lost_time") or deal.get("update_time")
        )
    except ValueError:
        created_at = closed_at = None
    return ExistingOpportunity(
        key=key,
        account_id=as_id(deal.get("org_id")) or account_id,
        playbook=playbook,
        offer=offer,
        status=status,
        created_at=created_at,
        closed_at=closed_at if status is not OpportunityStatus.OPEN else None,
        crm_id=as_id(deal.get("id")),
    )


def deal_body(
    opportunity: Opportunity, *, key_code: str, pipeline_id: int | None, stage_id: int | None
) -> dict[str, Any]:
    """The body of `POST /api/v2/deals` (pipedrive-api.md section 3 "Deals" [NODE]); v2 wants ids as
    integers and JSON numbers for `value` (strict types [MIG])."""
    org_id = int_id(opportunity.account_id)
    if org_id is None:
        raise ValueError(f"account id {opportunity.account_id!r} is not a Pipedrive organization id")
    body: dict[str, Any] = {
        "title": opportunity.title,
        "org_id": org_id,
        "value": float(opportunity.estimated_amount.quantize(Decimal("0.01"))),
        "currency": opportunity.currency,
        "expected_close_date": opportunity.close_date.isoformat(),
        "custom_fields": {key_code: opportunity.key},
    }
    owner = int_id(opportunity.owner_id)
    if owner is not None:
        body["owner_id"] = owner
    if pipeline_id is not None:
        body["pipeline_id"] = pipeline_id
    if stage_id is not None:
        body["stage_id"] = stage_id
    return body


def activity_note(task: FollowUpTask) -> str:
    """The note (HTML, sanitized by Pipedrive): priority, the explanation and talking points, and
    last the marker line we read back to find an activity we already wrote."""
    lines = [f"Priority: {task.priority}", "", *task.body.rstrip().splitlines()]
    marker = task_marker(task.opportunity_key)
    if not lines or lines[-1].strip() != marker:
        lines.append(marker)
    return "<br>".join(html.escape(line, quote=False) for line in lines)


_BREAK = re.compile(r"<br\s*/?>|</p>|</div>|\n", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def has_marker(note: Any, key: str) -> bool:
    if not isinstance(note, str):
        return False
    marker = task_marker(key)
    return any(html.unescape(_TAG.sub("", part)).strip() == marker for part in _BREAK.split(note))


def activity_body(task: FollowUpTask, deal_id: str, org_id: str | None, activity_type: str) -> dict[str, Any]:
    """The body of `POST /api/v2/activities` [NODE]: a `task` for the owner on the deal and org."""
    body: dict[str, Any] = {
        "subject": task.subject,
        "type": activity_type,
        "deal_id": int_id(deal_id) if int_id(deal_id) is not None else deal_id,
        "due_date": task.due_date.isoformat(),
        "done": False,
        "note": activity_note(task),
    }
    org = int_id(org_id)
    if org is not None:
        body["org_id"] = org
    owner = int_id(task.owner_id)
    if owner is not None:
        body["owner_id"] = owner
    return body
