"""The routes of the Pipedrive sandbox (`tests/sandboxes/pipedrive.py` holds state, limits, seeding).
Shapes per /work/shared/reference/pipedrive-api.md section 3; each handler says where it departs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.sandboxes.pipedrive import decode_cursor, encode_cursor, fail, ok
from tests.sandboxes.server import Request, Response

if TYPE_CHECKING:
    from tests.sandboxes.pipedrive import PipedriveSandbox

Handler = Callable[["PipedriveSandbox", Request], Response]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
FIELD_TYPES = {
    "varchar",
    "varchar_auto",
    "text",
    "double",
    "monetary",
    "date",
    "enum",
    "set",
    "phone",
    "address",
    "user",
    "org",
    "people",
    "time",
    "timerange",
    "daterange",
}


def on(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def route(sb: PipedriveSandbox, request: Request) -> Response:
    for method, pattern, handler in ROUTES:
        if method == request.method and (match := pattern.match(request.path)):
            request.match = match
            with sb.lock:
                return handler(sb, request)
    return fail(404, "Not found", f"Unknown method {request.method} {request.path}")


def page(request: Request, items: list[dict[str, Any]]) -> Response:
    """v2 cursor paging: `limit` default 100, max 500; `next_cursor` null on the last page."""
    limit = int(request.arg("limit") or 100)
    if not 1 <= limit <= 500:
        return fail(400, "Validation failed: limit: Must be between 1 and 500", "limit")
    offset = decode_cursor(request.arg("cursor")) if request.arg("cursor") else 0
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    return ok(chunk, encode_cursor(offset + limit) if more else None, listing=True)


def body_of(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object")
    return body


def select_custom(record: dict[str, Any], request: Request) -> dict[str, Any]:
    """`custom_fields=<keys>` returns only those custom fields (at most 15)."""
    wanted = request.arg("custom_fields")
    if not wanted:
        return dict(record)
    keys = wanted.split(",")
    return {**record, "custom_fields": {k: v for k, v in record["custom_fields"].items() if k in keys}}


# ---------------------------------------------------------------- users, fields, types, webhooks


@on("GET", "/v1/users/me")
def me(sb: PipedriveSandbox, request: Request) -> Response:
    user = sb.users[sb.me_id] if sb.me_id else {"id": 0, "name": "?", "email": "?"}
    return ok({**user, "company_domain": "sandbox", "company_name": "Sandbox Ltd"})


@on("GET", "/v1/users")
def users(sb: PipedriveSandbox, request: Request) -> Response:
    return ok(sorted(sb.users.values(), key=lambda u: u["id"]))


@on("GET", "/v1/activityTypes")
def activity_types(sb: PipedriveSandbox, request: Request) -> Response:
    return ok(sb.activity_types)


@on("GET", "/api/v2/(organization|deal)Fields")
def list_fields(sb: PipedriveSandbox, request: Request) -> Response:
    return page(request, sb.fields[request.match.group(1)])


@on("POST", "/api/v2/(organization|deal)Fields")
def create_field(sb: PipedriveSandbox, request: Request) -> Response:
    body = body_of(request)
    if sum(len(v) for v in sb.fields.values()) >= sb.field_cap:
        return fail(
            403,
            "You have reached the limit of custom fields for your plan",
            "Upgrade your plan",
            code="feature_capping_custom_fields_limit",
        )
    if not body.get("field_name") or body.get("field_type") not in FIELD_TYPES:
        return fail(400, "Validation failed: field_name and a valid field_type are required")
    entity = request.match.group(1)
    code = sb.define_field(
        entity,
        str(body["field_name"]),
        str(body["field_type"]),
        [o["label"] for o in body.get("options") or []] or None,
    )
    sb.writes.append(("POST", request.path, body))
    return ok(next(f for f in sb.fields[entity] if f["field_code"] == code))


@on("POST", "/v1/webhooks")
def create_webhook(sb: PipedriveSandbox, request: Request) -> Response:
    body = body_of(request)
    if len(sb.webhooks) >= 40:
        return fail(422, "Webhooks limit reached", "A user can have at most 40 webhooks")
    missing = [k for k in ("subscription_url", "event_action", "event_object") if not body.get(k)]
    if missing:
        return fail(400, f"Validation failed: {', '.join(missing)} required")
    hook = {
        "id": sb._new_id(),
        **{k: v for k, v in body.items() if k != "http_auth_password"},
        "version": body.get("version", "2.0"),
        "is_active": 1,
    }
    sb.webhooks.append({**hook, "http_auth_password": body.get("http_auth_password")})
    sb.writes.append(("POST", request.path, {k: v for k, v in body.items() if k != "http_auth_password"}))
    return Response(201, {"status": "ok", "success": True, "data": hook})


# ---------------------------------------------------------------- organizations


@on("GET", "/api/v2/organizations")
def organizations(sb: PipedriveSandbox, request: Request) -> Response:
    items = [o for o in sb.orgs.values() if not o.get("is_deleted")]
    since = request.arg("updated_since")
    if since:
        floor = datetime.fromisoformat(since)
        items = [o for o in items if datetime.fromisoformat(str(o.get("update_time"))) >= floor]
    sort_by = request.arg("sort_by") or "id"
    if sort_by not in ("id", "update_time", "add_time"):
        return fail(400, "Validation failed: sort_by: Must be one of id, update_time, add_time")
    items.sort(
        key=lambda o: (str(o.get(sort_by)) if sort_by != "id" else 0, o.get("id") or 0),
        reverse=request.arg("sort_direction") == "desc",
    )
    return page(request, [select_custom(o, request) for o in items])


@on("GET", "/api/v2/persons")
def persons(sb: PipedriveSandbox, request: Request) -> Response:
    """`GET /api/v2/persons` (https://developers.pipedrive.com/docs/api/v1/Persons#getPersons, v2):
    filters `ids` (<= 100), `owner_id`, `org_id`, `updated_since`; `sort_by` id|update_time|add_time
    with `sort_direction`; cursor paging like every v2 list."""
    items = [p for p in sb.persons.values() if not p.get("is_deleted")]
    for name in ("org_id", "owner_id"):
        value = request.arg(name)
        if value:
            items = [p for p in items if str(p.get(name)) == value]
    ids = request.arg("ids")
    if ids:
        wanted = ids.split(",")
        if len(wanted) > 100:
            return fail(400, "Validation failed: ids: Must contain at most 100 items", "ids")
        items = [p for p in items if str(p["id"]) in wanted]
    since = request.arg("updated_since")
    if since:
        floor = datetime.fromisoformat(since)
        items = [p for p in items if datetime.fromisoformat(str(p.get("update_time"))) >= floor]
    sort_by = request.arg("sort_by") or "id"
    if sort_by not in ("id", "update_time", "add_time"):
        return fail(400, "Validation failed: sort_by: Must be one of id, update_time, add_time")
    items.sort(
        key=lambda p: (str(p.get(sort_by)) if sort_by != "id" else 0, p.get("id") or 0),
        reverse=request.arg("sort_direction") == "desc",
    )
    return page(request, [dict(p) for p in items])


# ---------------------------------------------------------------- deals


def deal_list(sb: PipedriveSandbox, request: Request, archived: bool) -> Response:
    items = [d for d in sb.deals.values() if (d["id"] in sb.archived) == archived and not d["is_deleted"]]
    status = request.arg("status")
    if status:
        items = [d for d in items if d["status"] in status.split(",")]
    if request.arg("org_id"):
        items = [d for d in items if str(d["org_id"]) == request.arg("org_id")]
    items.sort(key=lambda d: d["id"])
    return page(request, [select_custom(d, request) for d in items])


@on("GET", "/api/v2/deals")
def deals(sb: PipedriveSandbox, request: Request) -> Response:
    return deal_list(sb, request, archived=False)


@on("GET", "/api/v2/deals/archived")
def archived_deals(sb: PipedriveSandbox, request: Request) -> Response:
    return deal_list(sb, request, archived=True)


@on("GET", "/api/v2/deals/(\\d+)")
def one_deal(sb: PipedriveSandbox, request: Request) -> Response:
    deal = sb.deals.get(int(request.match.group(1)))
    return ok(deal) if deal else fail(404, "Deal not found", "Entity was not found")


@on("POST", "/api/v2/deals")
def create_deal(sb: PipedriveSandbox, request: Request) -> Response:
    body = body_of(request)
    if not isinstance(body.get("title"), str) or not body["title"].strip():
        return fail(400, "Validation failed: title: Required", "title")
    if body.get("org_id") is not None and (
        not isinstance(body["org_id"], int) or body["org_id"] not in sb.orgs
    ):
        return fail(400, "Validation failed: org_id: Organization not found", "org_id")
    if body.get("value") is not None and not isinstance(body["value"], (int, float)):
        return fail(400, "Validation failed: value: Must be a number", "value")  # v2 types are strict
    if body.get("currency") is not None and body["currency"] not in sb.currencies:
        return fail(400, f"Validation failed: currency: unknown currency code {str(body['currency'])[:20]!r}")
    codes = {f["field_code"] for f in sb.fields["deal"]}
    unknown = [k for k in body.get("custom_fields") or {} if k not in codes]
    if unknown:
        return fail(400, f"Validation failed: custom_fields: unknown field {unknown[0]}")
    sb.writes.append(("POST", request.path, body))
    return ok(sb._store_deal(body))


@on("GET", "/api/v2/deals/search")
def search_deals(sb: PipedriveSandbox, request: Request) -> Response:
    term = (request.arg("term") or "").strip()
    exact = request.arg("exact_match") == "true"
    if len(term) < (1 if exact else 2):
        return fail(400, "Validation failed: term: Must be at least 2 characters long")
    fields = (request.arg("fields") or "custom_fields,notes,title").split(",")
    hits = []
    for deal in sorted(sb.deals.values(), key=lambda d: d["id"]):
        if deal["id"] in sb.archived or deal["is_deleted"]:
            continue
        values = []
        if "custom_fields" in fields:
            values += [str(v) for v in deal["custom_fields"].values() if isinstance(v, (str, int, float))]
        if "title" in fields:
            values.append(deal["title"])
        matched = [v for v in values if (v.lower() == term.lower() if exact else term.lower() in v.lower())]
        if matched:
            hits.append(
                {
                    "result_score": 1.0,
                    "item": {
                        "id": deal["id"],
                        "type": "deal",
                        "title": deal["title"],
                        "value": deal["value"],
                        "currency": deal["currency"],
                        "status": deal["status"],
                        "owner": {"id": deal["owner_id"]},
                        "organization": {"id": deal["org_id"]},
                        "custom_fields": matched,
                        "notes": [],
                    },
                }
            )
    return ok({"items": hits[:100]}, None, listing=True)


@on("GET", "/api/v2/deals/products")
def deal_products(sb: PipedriveSandbox, request: Request) -> Response:
    ids = [int(i) for i in (request.arg("deal_ids") or "").split(",") if i.strip().isdigit()]
    if not ids or len(ids) > 100:
        return fail(400, "Validation failed: deal_ids: between 1 and 100 ids required")
    return page(request, [p for p in sb.deal_products if p["deal_id"] in ids])


# ---------------------------------------------------------------- activities


@on("GET", "/api/v2/activities")
def activities(sb: PipedriveSandbox, request: Request) -> Response:
    items = sorted(sb.activities.values(), key=lambda a: a["id"])
    if request.arg("deal_id"):
        items = [a for a in items if str(a["deal_id"]) == request.arg("deal_id")]
    return page(request, items)


@on("POST", "/api/v2/activities")
def create_activity(sb: PipedriveSandbox, request: Request) -> Response:
    body = body_of(request)
    if body.get("type") not in {t["key_string"] for t in sb.activity_types if t["active_flag"]}:
        return fail(400, "Validation failed: type: unknown activity type", "type")
    if body.get("deal_id") is not None and body["deal_id"] not in sb.deals:
        return fail(400, "Validation failed: deal_id: Deal not found", "deal_id")
    activity = {
        "id": sb._new_id(),
        "subject": body.get("subject") or "",
        "type": body["type"],
        "owner_id": body.get("owner_id") or sb.me_id,
        "deal_id": body.get("deal_id"),
        "org_id": body.get("org_id"),
        "due_date": body.get("due_date"),
        "done": bool(body.get("done")),
        "note": body.get("note"),
        "is_deleted": False,
    }
    sb.activities[activity["id"]] = activity
    sb.writes.append(("POST", request.path, body))
    return ok(activity)


# ---------------------------------------------------------------- notes (v1 only)


@on("GET", "/v1/notes")
def notes(sb: PipedriveSandbox, request: Request) -> Response:
    """v1 list: `org_id`/`deal_id` filters, `updated_since` (RFC 3339, inclusive), `sort` "add_time DESC"
    or ASC, `start` + `limit` (max 500) paging with `additional_data.pagination` [PAG]."""
    items = list(sb.notes.values())
    for name in ("org_id", "deal_id"):
        if request.arg(name):
            items = [n for n in items if str(n[name]) == request.arg(name)]
    if request.arg("updated_since"):
        try:
            since = datetime.fromisoformat(request.arg("updated_since"))
        except ValueError:
            return fail(400, "Validation failed: updated_since: must be RFC 3339", "updated_since")
        items = [n for n in items if datetime.fromisoformat(n["update_time"]).replace(tzinfo=UTC) >= since]
    sort = (request.arg("sort") or "id ASC").split()
    if sort[0] not in ("id", "add_time", "update_time"):
        return fail(400, f"Validation failed: sort: unknown field {sort[0]}", "sort")
    items.sort(key=lambda n: (n[sort[0]], n["id"]), reverse=len(sort) > 1 and sort[1].upper() == "DESC")
    start, limit = int(request.arg("start") or 0), int(request.arg("limit") or 100)
    if not 1 <= limit <= 500:
        return fail(400, "Validation failed: limit: Must be between 1 and 500", "limit")
    chunk, more = items[start : start + limit], start + limit < len(items)
    response = ok(chunk)
    response.body["additional_data"] = {
        "pagination": {
            "start": start,
            "limit": limit,
            "more_items_in_collection": more,
            **({"next_start": start + limit} if more else {}),
        }
    }
    return response
