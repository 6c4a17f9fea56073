"""Pure translation between Sell JSON and domain types. No HTTP here, so every quirk is unit-testable.

Sell quirks handled (https://developer.zendesk.com/api-reference/sales-crm/resources/custom-fields):
- `custom_fields` on a record is an object keyed by the field's *name*; a Firehose snapshot may instead
  carry `custom_field_values: [{value, custom_field: {data: {name}}}]`, so both are read.
- a `number` custom field comes back as a string ("123.45"), a `list` as `{"id", "name"}`, a
  `multi_select_list` as a list of those, a `date` as "4/27/2016".
- a deal's `value` comes back as an integer or as a string with two decimals
  (https://developer.zendesk.com/api-reference/sales-crm/resources/deals/).
A record that cannot become an Account is skipped; a field that cannot be read is defaulted; both are
counted on the ReadReport with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.account_fields import field_parsers, parsed_value, products_value, validated_account
from connectors.account_reading import mapped_values, usage_points
from connectors.base import AccountRecord, ReadReport
from connectors.field_values import int_id, parse_money
from connectors.zendesk_sell.fields import (
    as_id,
    custom_fields_of,
    field_value,
    parse_date,
    parse_datetime,
    plain,
)
from domain import (
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityStatus,
    Owner,
)
from domain.opportunity import parse_key, task_marker

WON_CATEGORIES = frozenset({"won"})
LOST_CATEGORIES = frozenset({"lost", "unqualified"})


# ---------------------------------------------------------------- contacts -> accounts

_PARSERS = field_parsers(parse_money, parse_date)


# The organisation's page in Sell's web app, for the CSM's task (the reference's contact URL).
SELL_ACCOUNT_URL = "https://app.futuresimple.com/crm/contacts/{id}"


def to_account_record(
    contact: Any,
    field_map: Mapping[str, str],
    usage_map: Mapping[str, str],
    today: date,
    report: ReadReport,
) -> AccountRecord | None:
    """An organisation contact as an AccountRecord with one 30-day UsagePoint per mapped metric.

    Returns None (after `report.skip`) when the record cannot be an account at all: not an object,
    no id, or not an organisation. A single unreadable field is dropped with `report.default`.
    """
    if not isinstance(contact, Mapping):
        report.skip("not_an_object", None, type(contact).__name__)
        return None
    account_id = as_id(contact.get("id"))
    if account_id is None:
        report.skip("missing_id", None)
        return None
    if contact.get("is_organization") is not True:
        report.skip("not_an_organization", account_id)
        return None
    custom = custom_fields_of(contact)

    def read(sell_field: str) -> Any:
        return field_value(contact, sell_field, custom)

    values: dict[str, Any] = {"id": account_id, "crm_url": SELL_ACCOUNT_URL.format(id=account_id)}
    values.update(mapped_values(field_map, read, _convert, account_id, report))
    account = validated_account(values, account_id, report)
    if account is None:
        return None
    usage = usage_points(usage_map, read, account_id, today, report)
    return AccountRecord(account=account, usage=usage, usage_is_snapshot=True)


def _convert(canonical: str, raw: Any) -> Any:
    parser = _PARSERS.get(canonical)
    if parser is None:
        if canonical == "products":
            return products_value(raw)
        if isinstance(raw, list):
            raise ValueError(f"expected one value, got a list of {len(raw)}")
        return raw
    return parsed_value(canonical, raw, parser)


def products_of(contact: Mapping[str, Any], field_map: Mapping[str, str]) -> frozenset[str]:
    raw = field_value(contact, field_map.get("products", "products"), custom_fields_of(contact))
    return frozenset() if raw is None else products_value(raw)


# ---------------------------------------------------------------- users, deals


def to_owner(user: Any) -> Owner | None:
    owner_id = as_id(user.get("id")) if isinstance(user, Mapping) else None
    if owner_id is None:
        return None
    return Owner(id=owner_id, email=user.get("email") or None, name=user.get("name") or None)


def to_existing(deal: Any, key_field: str, stage_categories: Mapping[str, str]) -> ExistingOpportunity | None:
    """A deal this tool wrote (it carries our key field), with status from its stage's category."""
    if not isinstance(deal, Mapping):
        return None
    key = plain(custom_fields_of(deal).get(key_field))
    if not isinstance(key, str) or not key.strip():
        return None
    parsed = parse_key(key.strip())
    if parsed is None:
        return None
    account_id, playbook, offer = parsed
    category = stage_categories.get(str(deal.get("stage_id")), "")
    status = (
        OpportunityStatus.WON
        if category in WON_CATEGORIES
        else OpportunityStatus.LOST
        if category in LOST_CATEGORIES
        else OpportunityStatus.OPEN
    )
    try:
        created_at = parse_datetime(deal.get("created_at"))
        changed_at = parse_datetime(deal.get("last_stage_change_at")) or parse_datetime(
            deal.get("updated_at")
        )
    except ValueError:
        created_at = changed_at = None
    return ExistingOpportunity(
        key=key.strip(),
        account_id=as_id(deal.get("contact_id")) or account_id,
        playbook=playbook,
        offer=offer,
        status=status,
        created_at=created_at,
        closed_at=changed_at if status is not OpportunityStatus.OPEN else None,
        crm_id=as_id(deal.get("id")),
    )


def deal_body(
    opportunity: Opportunity,
    *,
    key_field: str,
    tags: list[str],
    stage_id: int | None,
    hot_score: int,
) -> dict[str, Any]:
    """The `data` of `POST /v2/deals/upsert` (writable deal fields:
    https://developer.zendesk.com/api-reference/sales-crm/resources/deals/). Tags are sent whole
    because Sell replaces a deal's tags on update."""
    contact_id = int_id(opportunity.account_id)
    if contact_id is None:
        raise ValueError(f"account id {opportunity.account_id!r} is not a Sell contact id")
    data: dict[str, Any] = {
        "name": opportunity.title,
        "contact_id": contact_id,
        # a two-decimal string: exact money, as Zendesk's generated Ruby client sends it
        # (zendesk/basecrm-ruby lib/basecrm/services/deals_service.rb, `Coercion.to_string(value)`)
        "value": f"{opportunity.estimated_amount.quantize(Decimal('0.01'))}",
        "currency": opportunity.currency,
        "estimated_close_date": opportunity.close_date.isoformat(),
        "hot": opportunity.score >= hot_score,
        "tags": sorted({*tags, f"oppworker-{opportunity.playbook}"}),
        "custom_fields": {key_field: opportunity.key},
    }
    owner = int_id(opportunity.owner_id)
    if owner is not None:
        data["owner_id"] = owner
    if stage_id is not None:
        data["stage_id"] = stage_id
    return data


def task_content(task: FollowUpTask) -> str:
    """Sell tasks have only `content`: subject and priority lead, the body follows, and the last line
    is the marker we read back to find a task we already wrote (tasks have no upsert)."""
    body = task.body.rstrip()
    marker = task_marker(task.opportunity_key)
    if not body.endswith(marker):
        body = f"{body}\n{marker}" if body else marker
    return f"[{task.priority}] {task.subject}\n\n{body}"


def has_marker(content: Any, key: str) -> bool:
    if not isinstance(content, str):
        return False
    marker = task_marker(key)
    return any(line.strip() == marker for line in content.splitlines())


def task_body(task: FollowUpTask, deal_id: str, due_hour_utc: int) -> dict[str, Any]:
    """The `data` of `POST /v2/tasks`, attached to the deal
    (https://developer.zendesk.com/api-reference/sales-crm/resources/tasks/)."""
    data: dict[str, Any] = {
        "content": task_content(task),
        "due_date": f"{task.due_date.isoformat()}T{due_hour_utc:02d}:00:00Z",
        "resource_type": "deal",
        "resource_id": int_id(deal_id) if int_id(deal_id) is not None else deal_id,
        "completed": False,
    }
    owner = int_id(task.owner_id)
    if owner is not None:
        data["owner_id"] = owner
    return data
