"""A stateful Zendesk Sell sandbox over real HTTP on loopback, built on `tests.sandboxes.server`.

It implements what the connector calls, as Sell's documentation describes it (not as our client
happens to call it), so the connector's tests exercise the real wire format:
- envelopes: `{"data", "meta"}` for one record, `{"items": [{"data", "meta"}], "meta": {"type",
  "count", "links"}}` for collections; writes take `{"data": {...}}`
  (https://developer.zendesk.com/api-reference/sales-crm/requests/)
- paging with `page` (from 1) and `per_page` (default 25, max 100), `meta.links.next_page` only when
  a further page exists; `sort_by=<field>[:asc|:desc]`
- `POST /v2/deals/upsert?<filters>`: create, or update the one deal matching every filter; custom
  field filters `custom_fields[<name>]=<value>` only on fields marked filterable
- tasks filtered by `resource_type`/`resource_id`; custom field definitions per resource
- Firehose `GET /v3/contacts/stream?position=&limit=` with opaque positions, `meta.top`, optional
  empty pages before top (its FAQ), and 410 for a position older than retention
  (https://developer.zendesk.com/api-reference/sales-crm/firehose/overview)
- the 36,000/hour limit (configurable, counted in a rolling window) answered with 429 and Sell's error
  body and no Retry-After (https://developer.zendesk.com/api-reference/sales-crm/rate-limits)
- errors `{"errors": [{"error": {"code", "message", "details", "field"}}], "meta": {"http_status",
  "logref"}}`, 401 for a wrong token, 403 `insufficient_scope` for a read-only token, 422 validation
- a fault hook (`add_fault`) that fails a matching request before or *after* it took effect.
Unverified details are chosen conservatively and marked "unverified" below.
"""

from __future__ import annotations

import base64
import itertools
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from tests.sandboxes.server import Request, Response, SandboxApp, SandboxServer

STATUS_TEXT = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    410: "410 Gone",
    422: "422 Unprocessable Entity",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}

DEFAULT_STAGES = [
    {"id": 1, "name": "Incoming", "category": "incoming", "position": 1, "likelihood": 10},
    {"id": 2, "name": "Qualified", "category": "qualified", "position": 2, "likelihood": 40},
    {"id": 3, "name": "Won", "category": "won", "position": 3, "likelihood": 100},
    {"id": 4, "name": "Lost", "category": "lost", "position": 4, "likelihood": 0},
    {"id": 5, "name": "Unqualified", "category": "unqualified", "position": 5, "likelihood": 0},
]


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    logref = uuid.uuid4().hex
    return Response(
        status,
        {
            "errors": [{"error": error}],
            "meta": {"http_status": STATUS_TEXT.get(status, str(status)), "logref": logref},
        },
        {"X-Request-Id": logref, **(headers or {})},
    )


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    after: bool  # True: the request takes effect, then the answer is lost (like a timeout after commit)
    delay: float = 0.0
    hits: int = 0


@dataclass
class Event:
    sequence: int
    resource: str
    event_type: str
    data: dict[str, Any]
    previous: dict[str, Any]
    time: str


class SellSandbox(SandboxApp):
    """State plus routes. Seed with `add_user`, `add_organization`, ...; inspect `deals`, `tasks`."""

    def __init__(
        self,
        token: str = "sandbox-token-" + "x" * 50,
        *,
        rate_limit: int = 36_000,
        rate_window: float = 3600.0,
        filterable_deal_fields: Iterable[str] = ("opportunity_key",),
        deal_custom_fields: Iterable[str] = ("opportunity_key",),
        contact_custom_fields: Iterable[tuple[str, str]] = (),
        scopes: Iterable[str] = ("read", "write", "profile"),
        firehose: bool = True,
    ) -> None:
        self.token = token
        self.scopes = set(scopes)
        self.firehose = firehose
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.server = SandboxServer()
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self.users: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.loss_reasons = [{"id": 1, "name": "Too expensive"}, {"id": 2, "name": "No budget this year"}]
        self.orders: dict[int, dict[str, Any]] = {}
        self.line_items: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        self.phone_calls: dict[int, dict[str, Any]] = {}  # `calls` is the request log
        self.stages = [dict(s, active=True, pipeline_id=1) for s in DEFAULT_STAGES]
        self.custom_field_defs: dict[str, list[dict[str, Any]]] = {"contact": [], "deal": []}
        self.filterable_deal_fields = set(filterable_deal_fields)
        for name in deal_custom_fields:
            self.define_custom_field("deal", name, "string")
        for name, kind in contact_custom_fields:
            self.define_custom_field("contact", name, kind)
        self.events: list[Event] = []
        self._sequence = 0
        self.retained_from = 1  # events with a lower sequence were dropped (retention)
        self.empty_stream_pages = 0  # answer this many empty, not-top pages before real data (FAQ)
        self.faults: list[Fault] = []
        self._hits: deque[float] = deque()
        self.rate_limited = 0  # 429s answered
        self.user_agents: set[str] = set()
        self.writes: list[tuple[str, str, dict[str, str], Any]] = []  # (method, path, query, body) of writes
        self._register()
        self.server.before.extend([self._check_auth, self._rate_limit, self._faults_before])

    # ---------------------------------------------------------------- seeding and mutation

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _new_id(self) -> int:
        return next(self._ids)

    def define_custom_field(
        self, resource: str, name: str, kind: str, choices: list[str] | None = None
    ) -> None:
        definition: dict[str, Any] = {
            "id": self._new_id(),
            "name": name,
            "type": kind,
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        if resource == "contact":
            definition.update(for_company=True, for_contact=False)
        if choices:
            definition["choices"] = [{"id": i + 1, "name": c} for i, c in enumerate(choices)]
        self.custom_field_defs[resource].append(definition)

    def add_user(self, name: str, email: str, role: str = "user") -> dict[str, Any]:
        with self.lock:
            user = {
                "id": self._new_id(),
                "name": name,
                "email": email,
                "status": "active",
                "role": role,
                "confirmed": True,
                "created_at": self.now(),
                "updated_at": self.now(),
            }
            self.users[user["id"]] = user
            return user

    def add_organization(
        self,
        name: str,
        owner_id: int | None = None,
        custom_fields: dict[str, Any] | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        return self._add_contact(
            True, name=name, owner_id=owner_id, custom_fields=custom_fields or {}, **attributes
        )

    def add_person(self, first_name: str, last_name: str, **attributes: Any) -> dict[str, Any]:
        return self._add_contact(
            False, name=f"{first_name} {last_name}", first_name=first_name, last_name=last_name, **attributes
        )

    def add_raw_contact(self, record: dict[str, Any]) -> None:
        """Store a record as-is (for malformed-record tests); it still lists and streams."""
        with self.lock:
            self.contacts[record.get("id") or self._new_id()] = record
            self._emit("contact", "created", record, {})

    def _add_contact(self, is_org: bool, **attributes: Any) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            owner = attributes.pop("owner_id", None)
            contact = {
                "id": self._new_id(),
                "creator_id": next(iter(self.users), None),
                "owner_id": owner if owner is not None else next(iter(self.users), None),
                "is_organization": is_org,
                "contact_id": None,
                "parent_organization_id": None,
                "name": None,
                "first_name": None,
                "last_name": None,
                "customer_status": "current",
                "prospect_status": "none",
                "tags": [],
                "custom_fields": {},
                "created_at": now,
                "updated_at": now,
                **attributes,
            }
            self.contacts[contact["id"]] = contact
            self._emit("contact", "created", contact, {})
            return contact

    def add_note(
        self, contact_id: int, content: str, created_at: str | None = None, **attributes: Any
    ) -> dict[str, Any]:
        """A note on a contact (https://developer.zendesk.com/api-reference/sales-crm/resources/notes/)."""
        with self.lock:
            when = created_at or self.now()
            note = {
                "id": self._new_id(),
                "creator_id": next(iter(self.users), None),
                "resource_type": "contact",
                "resource_id": contact_id,
                "content": content,
                "is_important": False,
                "tags": [],
                "type": "regular",
                "created_at": when,
                "updated_at": when,
                **attributes,
            }
            self.notes[note["id"]] = note
            return note

    def add_phone_call(
        self, contact_id: int, summary: str | None, made_at: str | None = None, **attributes: Any
    ) -> dict[str, Any]:
        """A logged call with its summary (https://developer.zendesk.com/api-reference/sales-crm/resources/calls/)."""
        with self.lock:
            when = made_at or self.now()
            call = {
                "id": self._new_id(),
                "user_id": next(iter(self.users), None),
                "summary": summary,
                "recording_url": None,
                "outcome_id": None,
                "duration": 300,
                "phone_number": "+44-208-1234567",
                "incoming": False,
                "missed": False,
                "external_id": None,
                "associated_deal_ids": [],
                "resource_type": "contact",
                "resource_id": contact_id,
                "made_at": when,
                "updated_at": when,
                **attributes,
            }
            self.phone_calls[call["id"]] = call
            return call

    def update_contact(
        self, contact_id: int, custom_fields: dict[str, Any] | None = None, **attributes: Any
    ) -> None:
        with self.lock:
            contact = self.contacts[contact_id]
            previous = {k: contact.get(k) for k in attributes}
            contact.update(attributes)
            if custom_fields:
                previous["custom_fields"] = dict(contact.get("custom_fields") or {})
                contact["custom_fields"] = {**(contact.get("custom_fields") or {}), **custom_fields}
            contact["updated_at"] = self.now()
            self._emit("contact", "updated", contact, previous)

    def delete_contact(self, contact_id: int) -> None:
        with self.lock:
            contact = self.contacts.pop(contact_id)
            self._emit("contact", "deleted", contact, {})

    def set_deal_stage(
        self, deal_id: int, stage_id: int, loss_reason_id: int | None = None, value: str | None = None
    ) -> None:
        with self.lock:
            deal = self.deals[deal_id]
            deal.update(stage_id=stage_id, last_stage_change_at=self.now(), updated_at=self.now())
            if loss_reason_id is not None:
                deal["loss_reason_id"] = loss_reason_id
            if value is not None:
                deal["value"] = Decimal(value)

    def add_product(self, name: str, sku: str | None = None, price: str = "100.00") -> dict[str, Any]:
        with self.lock:
            product = {
                "id": self._new_id(),
                "name": name,
                "sku": sku,
                "active": True,
                "cost": price,
                "cost_currency": "USD",
                "prices": [{"amount": price, "currency": "USD"}],
                "created_at": self.now(),
                "updated_at": self.now(),
            }
            self.products[product["id"]] = product
            return product

    def add_deal_with_order(
        self, contact_id: int, product_ids: Iterable[int], stage_id: int = 3
    ) -> dict[str, Any]:
        """A (by default won) deal on the organisation with one order holding a line item per product."""
        with self.lock:
            deal = self._create_deal(
                {"name": "Purchase", "contact_id": contact_id, "value": 0, "stage_id": stage_id}
            )
            order = {
                "id": self._new_id(),
                "deal_id": deal["id"],
                "discount": 0,
                "created_at": self.now(),
                "updated_at": self.now(),
            }
            self.orders[order["id"]] = order
            for product_id in product_ids:
                item = {
                    "id": self._new_id(),
                    "order_id": order["id"],
                    "product_id": product_id,
                    "value": "100.00",
                    "variation": "0",
                    "currency": "USD",
                    "quantity": 1,
                    "price": "100.00",
                    "created_at": self.now(),
                    "updated_at": self.now(),
                }
                self.line_items[item["id"]] = item
            return deal

    def expire_stream(self) -> None:
        """Drop every retained event, as 72 h of retention would: older positions then answer 410."""
        with self.lock:
            self.retained_from = self._sequence + 1

    def add_fault(
        self,
        method: str,
        path_pattern: str,
        status: int = 500,
        *,
        times: int = 1,
        after: bool = False,
        delay: float = 0.0,
    ) -> Fault:
        """Fail the next `times` requests matching method and path regex with `status`, after sleeping
        `delay` seconds (longer than the client's read timeout makes a timeout). With `after=True`
        the request takes effect first and only its answer fails, like a lost response."""
        fault = Fault(method.upper(), re.compile(f"^{path_pattern}$"), status, times, after, delay)
        self.faults.append(fault)
        return fault

    def _emit(self, resource: str, event_type: str, record: dict[str, Any], previous: dict[str, Any]) -> None:
        self._sequence += 1
        self.events.append(
            Event(self._sequence, resource, event_type, _copy(record), _copy(previous), self.now())
        )

    # ---------------------------------------------------------------- hooks

    def _check_auth(self, request: Request) -> Response | None:
        self.user_agents.add(request.headers.get("user-agent", ""))
        if not request.headers.get("user-agent"):
            # third-party (api-evangelist conventions), unverified: requests without a User-Agent fail
            return error_response(400, "invalid_user_agent", "User-Agent header is required")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error_response(401, "unauthorized", "The access token is invalid, expired or revoked")
        if request.method != "GET" and "write" not in self.scopes:
            return error_response(403, "insufficient_scope", "The access token lacks the write scope")
        return None

    def _rate_limit(self, request: Request) -> Response | None:
        with self.lock:
            now = time.monotonic()
            while self._hits and now - self._hits[0] >= self.rate_window:
                self._hits.popleft()
            if len(self._hits) >= self.rate_limit:
                self.rate_limited += 1
                # no Retry-After and no X-RateLimit-* headers: Sell documents none
                return error_response(429, "rate_limit_exceeded", "Rate limit exceeded. Try again later.")
            self._hits.append(now)
        return None

    def _match_fault(self, request: Request, after: bool) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.after == after
                    and fault.hits < fault.times
                    and fault.method == request.method
                    and fault.pattern.match(request.path)
                ):
                    fault.hits += 1
                    return fault
        return None

    def _fault_response(self, fault: Fault) -> Response:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status == 429:
            return error_response(429, "rate_limit_exceeded", "Rate limit exceeded. Try again later.")
        if fault.status >= 500:
            return error_response(fault.status, "server_error", "Something went wrong on our side")
        return error_response(fault.status, "fault", "injected fault")

    def _faults_before(self, request: Request) -> Response | None:
        fault = self._match_fault(request, after=False)
        return self._fault_response(fault) if fault else None

    def _route(self, method: str, pattern: str) -> Callable[[Callable[[Request], Response]], None]:
        def register(handler: Callable[[Request], Response]) -> None:
            def wrapped(request: Request) -> Response:
                with self.lock:
                    if request.method != "GET":
                        try:
                            body = request.json()
                        except ValueError:
                            body = request.body
                        self.writes.append(
                            (request.method, request.path, {k: v[0] for k, v in request.query.items()}, body)
                        )
                    response = handler(request)
                fault = self._match_fault(request, after=True) if response.status < 400 else None
                return self._fault_response(fault) if fault else response

            self.server.route(method, pattern)(wrapped)

        return register

    # ---------------------------------------------------------------- envelopes and paging

    def _one(self, kind: str, record: dict[str, Any], status: int = 200) -> Response:
        return Response(status, {"data": self._render(kind, record), "meta": {"type": kind}})

    def _render(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        out = _copy(record)
        if kind == "deal":
            out["value"] = _render_value(out.get("value"))
        return out

    def _page(
        self, request: Request, kind: str, records: list[dict[str, Any]], default_sort: str = "id"
    ) -> Response:
        try:
            page = int(request.arg("page", "1") or 1)
            per_page = int(request.arg("per_page", "25") or 25)
        except ValueError:
            return error_response(400, "invalid_param", "page and per_page must be integers")
        if page < 1:
            return error_response(400, "invalid_param", "page must be >= 1", field="page")
        if not 1 <= per_page <= 100:
            # documented maximum 100; the exact answer to a larger value is unverified
            return error_response(
                400, "invalid_param", "per_page must be between 1 and 100", field="per_page"
            )
        field, _, direction = (request.arg("sort_by") or default_sort).partition(":")
        records = sorted(records, key=lambda r: _sort_key(r.get(field)), reverse=direction == "desc")
        chunk = records[(page - 1) * per_page : page * per_page]
        query = {k: v[0] for k, v in request.query.items() if k != "page"}

        def link(number: int) -> str:
            return f"{self.url}{request.path}?{urlencode({**query, 'page': number})}"

        links = {"self": link(page), "first_page": link(1)}
        if page > 1:
            links["prev_page"] = link(page - 1)
        if page * per_page < len(records):
            links["next_page"] = link(page + 1)
        items = [
            {"data": self._render(kind, r), "meta": {"type": kind, "version": r.get("_version", 1)}}
            for r in chunk
        ]
        for item in items:
            item["data"].pop("_version", None)
        return Response(
            200, {"items": items, "meta": {"type": "collection", "count": len(items), "links": links}}
        )

    # ---------------------------------------------------------------- routes

    def _register(self) -> None:
        route = self._route

        @route("GET", r"/v2/users")
        def users(request: Request) -> Response:
            return self._page(request, "user", list(self.users.values()))

        @route("GET", r"/v2/users/self")
        def self_user(request: Request) -> Response:
            first = next(iter(self.users.values()), None)
            if first is None:
                return error_response(404, "not_found", "no user")
            return self._one("user", first)

        @route("GET", r"/v2/stages")
        def stages(request: Request) -> Response:
            return self._page(request, "stage", self.stages)

        @route("GET", r"/v2/(contact|deal|lead)/custom_fields")
        def custom_fields(request: Request) -> Response:
            resource = request.match.group(1) if request.match else "contact"
            defs = self.custom_field_defs.get(resource, [])
            return Response(
                200,
                {
                    "items": [{"data": d, "meta": {"type": "custom_field"}} for d in defs],
                    "meta": {"type": "collection", "count": len(defs), "links": {}},
                },
            )

        @route("GET", r"/v2/contacts")
        def contacts(request: Request) -> Response:
            records = list(self.contacts.values())
            flag = request.arg("is_organization")
            if flag is not None:
                records = [r for r in records if r.get("is_organization") is (flag == "true")]
            filtered = self._filter(request, records, ("owner_id", "contact_id", "name", "email"), "contact")
            if isinstance(filtered, Response):
                return filtered
            return self._page(request, "contact", filtered, default_sort="last_name")

        @route("GET", r"/v2/contacts/(\d+)")
        def contact(request: Request) -> Response:
            record = self.contacts.get(int(request.match.group(1)))  # type: ignore[union-attr]
            return (
                self._one("contact", record)
                if record
                else error_response(404, "not_found", "contact not found")
            )

        @route("GET", r"/v2/deals")
        def deals(request: Request) -> Response:
            filtered = self._filter(
                request,
                list(self.deals.values()),
                ("contact_id", "owner_id", "creator_id", "stage_id", "organization_id"),
                "deal",
            )
            if isinstance(filtered, Response):
                return filtered
            return self._page(request, "deal", filtered)

        @route("POST", r"/v2/deals/upsert")
        def upsert_deal(request: Request) -> Response:
            return self._upsert_deal(request)

        @route("POST", r"/v2/deals")
        def create_deal(request: Request) -> Response:
            data = _data(request)
            if isinstance(data, Response):
                return data
            problem = self._validate_deal(data, creating=True)
            return problem or self._one("deal", self._create_deal(data))

        @route("GET", r"/v2/tasks")
        def tasks(request: Request) -> Response:
            # filters and default sort from zendesk/basecrm-ruby services/tasks_service.rb
            filtered = self._filter(
                request,
                list(self.tasks.values()),
                ("resource_type", "resource_id", "owner_id", "creator_id", "completed"),
                "task",
            )
            if isinstance(filtered, Response):
                return filtered
            query = request.arg("q")
            if query:  # full-text search on `content`
                filtered = [t for t in filtered if query.lower() in str(t.get("content", "")).lower()]
            return self._page(request, "task", filtered, default_sort="updated_at")

        @route("GET", r"/v2/notes")
        def notes(request: Request) -> Response:
            # filters and default sort (updated_at:asc) from basecrm-ruby NotesService#where
            filtered = self._filter(
                request, list(self.notes.values()), ("resource_type", "resource_id", "creator_id"), "note"
            )
            if isinstance(filtered, Response):
                return filtered
            query = request.arg("q")
            if query:  # full-text search on `content`
                filtered = [n for n in filtered if query.lower() in str(n.get("content", "")).lower()]
            return self._page(request, "note", filtered, default_sort="updated_at")

        @route("GET", r"/v2/calls")
        def phone_calls(request: Request) -> Response:
            # filters from basecrm-ruby CallsService#where: ids, resource_type, resource_id. The list's
            # order is not in our reference, so the sandbox answers in id order and clients must not
            # rely on it.
            filtered = self._filter(
                request, list(self.phone_calls.values()), ("resource_type", "resource_id"), "call"
            )
            if isinstance(filtered, Response):
                return filtered
            return self._page(request, "call", filtered)

        @route("POST", r"/v2/tasks")
        def create_task(request: Request) -> Response:
            data = _data(request)
            if isinstance(data, Response):
                return data
            problem = self._validate_task(data)
            if problem:
                return problem
            now = self.now()
            task = {
                "id": self._new_id(),
                "creator_id": next(iter(self.users), None),
                "owner_id": data.get("owner_id") or next(iter(self.users), None),
                "resource_type": data.get("resource_type"),
                "resource_id": data.get("resource_id"),
                "content": data["content"],
                "due_date": data.get("due_date"),
                "remind_at": data.get("remind_at"),
                "completed": bool(data.get("completed", False)),
                "completed_at": None,
                "overdue": False,
                "created_at": now,
                "updated_at": now,
            }
            self.tasks[task["id"]] = task
            self._emit("task", "created", task, {})
            return self._one("task", task)

        @route("GET", r"/v2/loss_reasons")
        def loss_reasons(request: Request) -> Response:
            return self._page(request, "loss_reason", self.loss_reasons)

        @route("GET", r"/v2/products")
        def products(request: Request) -> Response:
            return self._page(request, "product", list(self.products.values()))

        @route("GET", r"/v2/orders")
        def orders(request: Request) -> Response:
            filtered = self._filter(request, list(self.orders.values()), ("deal_id",), "order")
            if isinstance(filtered, Response):
                return filtered
            return self._page(request, "order", filtered)

        @route("GET", r"/v2/orders/(\d+)/line_items")
        def line_items(request: Request) -> Response:
            order_id = int(request.match.group(1))  # type: ignore[union-attr]
            if order_id not in self.orders:
                return error_response(404, "not_found", "order not found")
            items = [i for i in self.line_items.values() if i["order_id"] == order_id]
            return self._page(request, "line_item", items)

        @route("GET", r"/v3/(\w+)/stream")
        def stream(request: Request) -> Response:
            return self._stream(request, request.match.group(1))  # type: ignore[union-attr]

    # ---------------------------------------------------------------- behaviour

    def _filter(
        self, request: Request, records: list[dict[str, Any]], plain: Iterable[str], resource: str
    ) -> list[dict[str, Any]] | Response:
        ids = request.arg("ids")
        if ids:
            wanted = {int(i) for i in ids.split(",") if i.strip().isdigit()}
            records = [r for r in records if r.get("id") in wanted]
        for name in plain:
            value = request.arg(name)
            if value is not None:
                records = [r for r in records if str(r.get(name)).lower() == value.lower()]
        for name, values in request.query.items():
            match = re.fullmatch(r"custom_fields\[(.+)\]", name)
            if not match:
                continue
            field = match.group(1)
            if resource == "deal" and field not in self.filterable_deal_fields:
                # filtering needs the field marked "Filterable" (requests docs); exact code unverified
                return error_response(
                    400, "invalid_param", f"custom field {field!r} is not filterable", field=name
                )
            records = [r for r in records if str((r.get("custom_fields") or {}).get(field)) == values[0]]
        return records

    def _upsert_deal(self, request: Request) -> Response:
        data = _data(request)
        if isinstance(data, Response):
            return data
        filters = {k: v[0] for k, v in request.query.items()}
        if not filters:
            return error_response(400, "invalid_param", "upsert needs at least one filter")
        matches = self._filter(
            request, list(self.deals.values()), ("contact_id", "owner_id", "name", "stage_id"), "deal"
        )
        if isinstance(matches, Response):
            return matches
        if len(matches) > 1:  # behaviour with several matches is unverified; refuse rather than guess
            return error_response(422, "incorrect_value", "more than one deal matches the upsert filters")
        if matches:
            deal = matches[0]
            problem = self._validate_deal(data, creating=False)
            if problem:
                return problem
            previous = {k: deal.get(k) for k in data}
            for name, value in data.items():
                if name == "custom_fields":
                    deal["custom_fields"] = {**(deal.get("custom_fields") or {}), **(value or {})}
                elif name == "value":
                    deal["value"] = None if value is None else Decimal(str(value))
                else:
                    deal[name] = value  # tags included: replaced as a whole
            deal["updated_at"] = self.now()
            deal["_version"] = deal.get("_version", 1) + 1
            self._emit("deal", "updated", deal, previous)
            return self._one("deal", deal)
        for name, value in filters.items():  # a created record carries the filter values
            match = re.fullmatch(r"custom_fields\[(.+)\]", name)
            if match:
                data.setdefault("custom_fields", {}).setdefault(match.group(1), value)
            else:
                data.setdefault(name, value)
        problem = self._validate_deal(data, creating=True)
        return problem or self._one("deal", self._create_deal(data))

    def _create_deal(self, data: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        contact = self.contacts.get(int(data["contact_id"]))
        deal = {
            "id": self._new_id(),
            "creator_id": next(iter(self.users), None),
            "owner_id": data.get("owner_id") or next(iter(self.users), None),
            "name": data["name"],
            "value": Decimal(str(data.get("value") or 0)),
            "currency": data.get("currency", "USD"),
            "hot": bool(data.get("hot", False)),
            "stage_id": data.get("stage_id") or self.stages[0]["id"],
            "contact_id": int(data["contact_id"]),
            "organization_id": contact["id"] if contact and contact.get("is_organization") else None,
            "estimated_close_date": data.get("estimated_close_date"),
            "tags": list(data.get("tags") or []),
            "custom_fields": dict(data.get("custom_fields") or {}),
            "last_stage_change_at": now,
            "created_at": now,
            "updated_at": now,
            "_version": 1,
        }
        self.deals[deal["id"]] = deal
        self._emit("deal", "created", deal, {})
        return deal

    def _validate_deal(self, data: dict[str, Any], creating: bool) -> Response | None:
        def bad(code: str, message: str, field: str) -> Response:
            return error_response(
                422, code, message, field=f"/data/{field}", details="Validation failed for the deal"
            )

        if creating and not str(data.get("name") or "").strip():
            return bad("blank", "name can't be blank", "name")
        if creating and data.get("contact_id") is None:
            return bad("missing", "contact_id is required", "contact_id")
        if "contact_id" in data:
            try:
                contact_ok = int(data["contact_id"]) in self.contacts
            except (TypeError, ValueError):
                return bad("invalid_type", "contact_id must be an integer", "contact_id")
            if not contact_ok:
                return bad("incorrect_value", "contact_id does not reference a contact", "contact_id")
        if "value" in data and data["value"] is not None:
            try:
                if Decimal(str(data["value"])) < 0:
                    return bad("incorrect_value", "value must be greater than or equal to 0", "value")
            except InvalidOperation:
                return bad("invalid_type", "value must be a number", "value")
        if data.get("owner_id") is not None and data["owner_id"] not in self.users:
            return bad("incorrect_value", "owner_id does not reference a user", "owner_id")
        if data.get("stage_id") is not None and data["stage_id"] not in {s["id"] for s in self.stages}:
            return bad("incorrect_value", "stage_id does not reference a stage", "stage_id")
        if data.get("estimated_close_date") is not None:
            try:
                datetime.strptime(str(data["estimated_close_date"]), "%Y-%m-%d")
            except ValueError:
                return bad(
                    "invalid_type", "estimated_close_date must be a date (YYYY-MM-DD)", "estimated_close_date"
                )
        if "currency" in data and not re.fullmatch(r"[A-Z]{3}", str(data["currency"])):
            return bad("incorrect_value", "currency must be an ISO 4217 code", "currency")
        if "tags" in data and not isinstance(data["tags"], list):
            return bad("invalid_type", "tags must be an array of strings", "tags")
        return None

    def _validate_task(self, data: dict[str, Any]) -> Response | None:
        def bad(code: str, message: str, field: str) -> Response:
            return error_response(422, code, message, field=f"/data/{field}")

        if not str(data.get("content") or "").strip():
            return bad("blank", "content can't be blank", "content")
        kind, rid = data.get("resource_type"), data.get("resource_id")
        if kind is not None and kind not in ("lead", "contact", "deal"):
            return bad("incorrect_value", "resource_type must be lead, contact or deal", "resource_type")
        if kind == "deal" and rid not in self.deals:
            return bad("incorrect_value", "resource_id does not reference a deal", "resource_id")
        if kind == "contact" and rid not in self.contacts:
            return bad("incorrect_value", "resource_id does not reference a contact", "resource_id")
        if data.get("owner_id") is not None and data["owner_id"] not in self.users:
            return bad("incorrect_value", "owner_id does not reference a user", "owner_id")
        if data.get("due_date") is not None:
            try:
                datetime.fromisoformat(str(data["due_date"]).replace("Z", "+00:00"))
            except ValueError:
                return bad("invalid_type", "due_date must be an ISO 8601 datetime", "due_date")
        return None

    def _stream(self, request: Request, resource_plural: str) -> Response:
        if not self.firehose:
            return error_response(403, "forbidden", "Firehose is not available for this account")
        resource = resource_plural.rstrip("s")
        try:
            limit = int(request.arg("limit", "25") or 25)
        except ValueError:
            return error_response(400, "invalid_param", "limit must be an integer", field="limit")
        if not 1 <= limit <= 100:
            return error_response(400, "invalid_param", "limit must be between 1 and 100", field="limit")
        raw = request.arg("position")
        latest = self._sequence
        if raw in (None, "", "top"):
            after = latest
        elif raw == "tail":
            after = self.retained_from - 1
        else:
            try:
                after = int(base64.urlsafe_b64decode(raw.encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return error_response(400, "invalid_param", "position is not valid", field="position")
            if after < self.retained_from - 1:
                return error_response(410, "gone", "The position is older than the retention period")
        if self.empty_stream_pages > 0 and after < latest:
            self.empty_stream_pages -= 1
            items: list[dict[str, Any]] = []
            new_after = after
        else:
            chosen = [e for e in self.events if e.sequence > after and e.resource == resource][:limit]
            # the position moves past events of other resources too: it is a point in the account's log
            if len(chosen) == limit:
                new_after = chosen[-1].sequence
            else:
                new_after = latest
            items = [
                {
                    "data": self._render(resource, e.data),
                    "meta": {
                        "event_id": uuid.uuid5(uuid.NAMESPACE_OID, str(e.sequence)).hex,
                        "event_type": e.event_type,
                        "event_cause": "api",
                        "event_time": e.time,
                        "sequence": e.sequence,
                        "previous": e.previous,
                        "type": resource,
                    },
                }
                for e in chosen
            ]
            for item in items:
                item["data"].pop("_version", None)
        position = base64.urlsafe_b64encode(f"{resource}:{new_after}".encode()).decode()
        top = new_after >= latest and not (self.empty_stream_pages > 0 and new_after < latest)
        return Response(
            200,
            {
                "items": items,
                "meta": {
                    "position": position,
                    "top": top,
                    "links": {
                        "next": f"{self.url}{request.path}?{urlencode({'position': position, 'limit': limit})}"
                    },
                },
            },
        )

    # ---------------------------------------------------------------- bulk data for benchmarks

    def generate_accounts(
        self,
        n: int,
        seed: int = 7,
        products: tuple[str, ...] = ("translate", "api", "glossary", "connectors", "analytics"),
        plans: tuple[str, ...] = ("Starter", "Team", "Business", "Enterprise"),
    ) -> list[int]:
        """`n` organisations with plausible custom fields and 30-day usage, deterministic by seed."""
        rng = random.Random(seed)
        owners = list(self.users) or [self.add_user("CSM One", "csm1@example.com")["id"]]
        ids = []
        for i in range(n):
            plan_rank = rng.randrange(len(plans))
            seats = rng.choice([5, 10, 20, 50, 100])
            used = min(seats, max(0, int(seats * rng.uniform(0.3, 1.1))))
            owned = sorted(rng.sample(products, rng.randint(1, 3)))
            custom = {
                "plan": plans[plan_rank],
                "plan_rank": str(plan_rank),
                "products": owned,
                "seats_purchased": str(seats),
                "seats_used": str(used),
                "mrr": f"{seats * (20 + 15 * plan_rank):.2f}",
                "currency": "USD",
                "customer_since": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.choice([2021, 2022, 2023, 2024])}",
                "contract_end_date": f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "nps": str(rng.randint(-20, 10)),
                "csat": f"{rng.uniform(3, 5):.1f}",
                "open_escalations": str(rng.choice([0, 0, 0, 1])),
                "active_users": str(used),
                "api_calls": str(rng.randint(0, 200_000)),
                "words_translated": str(rng.randint(10_000, 900_000)),
                "premium_feature_attempts": str(rng.choice([0, 0, 3, 12, 40])),
            }
            ids.append(
                self.add_organization(f"Org {i:05d}", owner_id=rng.choice(owners), custom_fields=custom)["id"]
            )
        return ids


# ---------------------------------------------------------------- helpers


def _data(request: Request) -> dict[str, Any] | Response:
    try:
        body = request.json()
    except ValueError:
        return error_response(400, "invalid_payload", "The request body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return error_response(400, "invalid_payload", "The request body must be an object with a data key")
    return dict(body["data"])


def _render_value(value: Any) -> Any:
    """Sell returns a deal value as an integer, or as a string with two decimals."""
    if value is None:
        return None
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else f"{amount:.2f}"


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float, Decimal)):
        return (1, value)
    return (2, str(value))


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out[key] = dict(value)
        elif isinstance(value, list):
            out[key] = list(value)
        else:
            out[key] = value
    return out
