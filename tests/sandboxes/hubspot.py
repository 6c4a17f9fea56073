"""A stateful HubSpot sandbox: the CRM endpoints the connector uses, as HubSpot documents them, on both
path families: v3/v4 (`/crm/v3/objects/...`, `/crm/v4/associations/...`) and the date-versioned 2026-03
paths (`/crm/objects/2026-03/...`, `/crm/associations/2026-03/...`, `/crm/properties/2026-03/...`,
`/crm/owners/2026-03`; deals also as `0-3`), per HubSpot's OpenAPI files
(github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/*/Rollouts/*/2026-03/).

Served over real HTTP on loopback by `tests.sandboxes.server`. It keeps companies, deals, tasks,
owners, property definitions and associations in memory and enforces what the docs say:
- list paging with an opaque `after` cursor, limit <= 100
  (https://developers.hubspot.com/docs/api/crm/understanding-the-crm);
- search: limit <= 200, filterGroups 5 x 6 (18 filters in all), a 10,000-result cap answered with an
  HTTP 400 when paging past it (https://developers.hubspot.com/docs/api/crm/search);
- batch read/create/upsert: <= 100 inputs; `idProperty` reads/upserts need a property with
  `hasUniqueValue`; upsert answers `new: true|false`; create requires `associations` (the spec);
  unique values are enforced; a batch with an invalid input fails whole (400) unless every input
  carries an `objectWriteTraceId`, in which case it answers 207 with per-item errors
  (https://developers.hubspot.com/docs/api-reference/error-handling, "Multi-status errors");
- writes to properties that do not exist are refused (PROPERTY_DOESNT_EXIST);
- associations v4 batch read/create, owners, properties read/create, the private-app token info;
- the rolling burst limit (default 100 per 10 s) and the secondly search limit, with HubSpot's 429
  body (`policyName` TEN_SECONDLY_ROLLING / SECONDLY / DAILY); Retry-After only when configured,
  since HubSpot does not always send it;
- errors in HubSpot's shape: status, message, category, correlationId, errors[].
- unique values without trace ids: a batch create holding one existing key fails whole with HTTP 409
  CONFLICT naming only the first duplicate (hubspot-2026.md section 5: error-handling doc and
  hubspot-api-python#51); with a trace id on every input it answers 207 per input;
- ten-secondly exemptions as the spec files mark them (`x-hubspot-rate-limit-exemptions`): every
  POST .../search and every association batch call is left out of the burst count; search keeps its
  per-second limit; the daily count includes everything, and counted (non-search) responses carry
  `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` when a daily limit is set;
- the credential kind (`credential`): only a legacy private app token is known to the token-info
  endpoint; a Service Key or a project app's static token is refused there (what HubSpot answers is
  unverified: modelled as 401), while the CRM endpoints treat all three the same (Bearer, scopes);
Where the docs give no exact text (the unique-value conflict message) the text is modelled on what
HubSpot is reported to return; clients must not depend on it, and ours does not.

`fault(...)` injects failures for tests: an error instead of the call, or (`after=True`) an error
after the call took effect, the "timed out but happened" case.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.sandboxes.server import Request, Response, SandboxApp, SandboxServer

OBJECT_TYPES = {
    "0-2": "companies",
    "companies": "companies",
    "0-3": "deals",
    "deals": "deals",
    "0-27": "tasks",
    "tasks": "tasks",
    "0-1": "contacts",
    "contacts": "contacts",
    "line_items": "line_items",
    "0-8": "line_items",
    "0-46": "notes",
    "notes": "notes",
    "0-49": "emails",
    "emails": "emails",
    "0-48": "calls",
    "calls": "calls",
}
SINGULAR = {
    "companies": "COMPANY",
    "deals": "DEAL",
    "tasks": "TASK",
    "contacts": "CONTACT",
    "line_items": "LINE_ITEM",
    "notes": "NOTE",
    "emails": "EMAIL",
    "calls": "CALL",
}

# HubSpot-defined properties the sandbox knows per object (a subset of the real schema).
BUILTIN_PROPERTIES: dict[str, dict[str, str]] = {
    "companies": {
        "name": "string",
        "domain": "string",
        "hubspot_owner_id": "enumeration",
        "createdate": "datetime",
        "hs_lastmodifieddate": "datetime",
        "hs_object_id": "number",
    },
    "deals": {
        "dealname": "string",
        "dealstage": "enumeration",
        "pipeline": "enumeration",
        "amount": "number",
        "closedate": "datetime",
        "description": "string",
        "hubspot_owner_id": "enumeration",
        "closed_lost_reason": "string",
        "deal_currency_code": "enumeration",
        "hs_is_closed": "bool",
        "hs_is_closed_won": "bool",
        "createdate": "datetime",
        "hs_lastmodifieddate": "datetime",
        "hs_object_id": "number",
    },
    "tasks": {
        "hs_timestamp": "datetime",
        "hs_task_subject": "string",
        "hs_task_body": "string",
        "hs_task_status": "enumeration",
        "hs_task_priority": "enumeration",
        "hs_task_type": "enumeration",
        "hubspot_owner_id": "enumeration",
        "hs_createdate": "datetime",
        "hs_lastmodifieddate": "datetime",
        "hs_object_id": "number",
    },
    "contacts": {
        "email": "string",
        "firstname": "string",
        "lastname": "string",
        "hs_object_id": "number",
        "hs_lastmodifieddate": "datetime",
    },
    "line_items": {"name": "string", "hs_sku": "string", "hs_object_id": "number"},
    # Engagements (https://developers.hubspot.com/docs/api/crm/notes, .../emails, .../calls).
    "notes": {
        "hs_timestamp": "datetime",
        "hs_note_body": "string",
        "hubspot_owner_id": "enumeration",
        "hs_object_id": "number",
        "hs_lastmodifieddate": "datetime",
    },
    "emails": {
        "hs_timestamp": "datetime",
        "hs_email_subject": "string",
        "hs_email_text": "string",
        "hs_email_html": "string",
        "hs_email_direction": "enumeration",
        "hs_object_id": "number",
        "hs_lastmodifieddate": "datetime",
    },
    "calls": {
        "hs_timestamp": "datetime",
        "hs_call_title": "string",
        "hs_call_body": "string",
        "hs_object_id": "number",
        "hs_lastmodifieddate": "datetime",
    },
}
DEFAULT_READ = {
    "companies": ["name", "domain"],
    "deals": ["dealname", "amount", "dealstage", "pipeline", "closedate"],
    "tasks": ["hs_task_subject", "hs_timestamp"],
    "contacts": ["email"],
    "line_items": ["name"],
    "notes": ["hs_timestamp"],
    "emails": ["hs_timestamp"],
    "calls": ["hs_timestamp"],
}
REQUIRED_ON_CREATE = {"deals": ["dealname", "dealstage"], "tasks": ["hs_timestamp"]}
DATETIME_PROPS = {"createdate", "hs_lastmodifieddate", "closedate", "hs_timestamp", "hs_createdate"}
# HUBSPOT_DEFINED association type ids (from -> to) and their reverse ids.
ASSOCIATION_TYPES = {
    ("deals", "companies"): {5, 341},
    ("companies", "deals"): {6, 342},
    ("tasks", "companies"): {192},
    ("companies", "tasks"): {191},
    ("tasks", "deals"): {216},
    ("deals", "tasks"): {215},
    ("line_items", "deals"): {20},
    ("deals", "line_items"): {19},
    # engagement <-> company (https://developers.hubspot.com/docs/api/crm/associations,
    # "Company to object": note 190/189, email 186/185, call 182/181)
    ("notes", "companies"): {190},
    ("companies", "notes"): {189},
    ("emails", "companies"): {186},
    ("companies", "emails"): {185},
    ("calls", "companies"): {182},
    ("companies", "calls"): {181},
    # contact <-> company: 1/2 "Primary" (the contact's primary company), 279/280 unlabeled
    # (https://developers.hubspot.com/docs/api/crm/associations, "Association type id values")
    ("contacts", "companies"): {1, 279},
    ("companies", "contacts"): {2, 280},
}
# Labels the v4 batch read shows for HUBSPOT_DEFINED types ("Retrieve associated records" example in
# https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide: typeId 1 "Primary",
# 279 null); unlabeled types answer null.
ASSOCIATION_LABELS = {1: "Primary", 2: "Primary"}
REVERSE_TYPE = {
    5: 6,
    6: 5,
    341: 342,
    342: 341,
    192: 191,
    191: 192,
    216: 215,
    215: 216,
    19: 20,
    20: 19,
    190: 189,
    189: 190,
    186: 185,
    185: 186,
    182: 181,
    181: 182,
    1: 2,
    2: 1,
    279: 280,
    280: 279,
}

# Scopes each route family needs (the API reference pages' "Scope requirements"; tasks need the
# contacts scopes per https://developers.hubspot.com/docs/api/crm/tasks).
READ_SCOPE = {
    "companies": "crm.objects.companies.read",
    "deals": "crm.objects.deals.read",
    "tasks": "crm.objects.contacts.read",
    "contacts": "crm.objects.contacts.read",
    "line_items": "crm.objects.line_items.read",
    # engagements: the 2026-03 spec files (CRM/{Notes,Emails,Calls}/Rollouts/424/2026-03)
    "notes": "crm.objects.contacts.read",
    "emails": "crm.objects.contacts.read",
    "calls": "crm.objects.contacts.read",
}
WRITE_SCOPE = {
    "companies": "crm.objects.companies.write",
    "deals": "crm.objects.deals.write",
    "tasks": "crm.objects.contacts.write",
    "contacts": "crm.objects.contacts.write",
    "line_items": "crm.objects.line_items.write",
    "notes": "crm.objects.contacts.write",
    "emails": "crm.objects.contacts.write",
    "calls": "crm.objects.contacts.write",
}
ALL_SCOPES = frozenset(
    {
        *READ_SCOPE.values(),
        *WRITE_SCOPE.values(),
        "crm.objects.owners.read",
        "crm.schemas.deals.read",
        "crm.schemas.deals.write",
        "crm.schemas.companies.read",
        "crm.schemas.companies.write",
    }
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_ms(value: Any) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


# Paths HubSpot leaves out of the ten-secondly count (`x-hubspot-rate-limit-exemptions: ["ten-secondly"]`
# on every search and association batch operation in the v3/v4 and 2026-03 spec files).
EXEMPT_FROM_BURST = re.compile(
    r"^/crm/(?:v3/objects|objects/2026-03)/[^/]+/search$"
    r"|^/crm/(?:v4/associations|associations/2026-03)/[^/]+/[^/]+/batch/"
)
OBJECTS = r"/crm/(?:v3/objects|objects/2026-03)"
ASSOCIATIONS = r"/crm/(?:v4/associations|associations/2026-03)"
PROPERTIES = r"/crm/(?:v3/properties|properties/2026-03)"
OWNERS = r"/crm/(?:v3/owners|owners/2026-03)"


def error(
    status: int,
    message: str,
    category: str,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    if errors:
        body["errors"] = errors
    return Response(status, body, headers or {})


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int
    after: bool
    reset: bool = False


@dataclass
class Record:
    id: int
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    history: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)  # oldest first

    def __post_init__(self) -> None:
        for name, value in self.properties.items():
            self.history.setdefault(name, []).append((self.created_ms, value))

    def set(self, changes: Mapping[str, str | None], at_ms: int) -> None:
        for name, value in changes.items():
            self.properties[name] = value
            self.history.setdefault(name, []).append((at_ms, value))

    def as_json(
        self, object_type: str, wanted: Iterable[str] | None, with_history: Iterable[str] = ()
    ) -> dict[str, Any]:
        props = self.rendered()
        names = list(wanted) if wanted is not None else DEFAULT_READ.get(object_type, [])
        names = list(
            dict.fromkeys(
                [
                    *names,
                    "hs_object_id",
                    "hs_lastmodifieddate",
                    "createdate" if object_type != "tasks" else "hs_createdate",
                ]
            )
        )
        out: dict[str, Any] = {
            "id": str(self.id),
            "properties": {n: props.get(n) for n in names},
            "createdAt": iso(self.created_ms),
            "updatedAt": iso(self.updated_ms),
            "archived": False,
        }
        history = list(with_history)
        if history:  # newest first, as HubSpot returns versions
            out["propertiesWithHistory"] = {
                n: [
                    {"value": v, "timestamp": iso(ms), "sourceType": "API", "sourceId": None}
                    for ms, v in reversed(self.history.get(n, []))
                ]
                for n in history
            }
        return out

    def rendered(self) -> dict[str, str | None]:
        props: dict[str, str | None] = dict(self.properties)
        props["hs_object_id"] = str(self.id)
        props["hs_lastmodifieddate"] = iso(self.updated_ms)
        props["createdate"] = props["hs_createdate"] = iso(self.created_ms)
        return props


@dataclass
class HubSpotSandbox(SandboxApp):
    token: str = "sandbox-token"
    scopes: frozenset[str] = ALL_SCOPES
    burst_limit: int = 100
    burst_window: float = 10.0
    search_limit: int = 5
    search_window: float = 1.0
    daily_limit: int | None = None
    result_cap: int = 10_000
    retry_after: str | None = None  # Retry-After header value on 429s; HubSpot often sends none
    credential: str = "legacy_private_app"  # or "service_key", "static_app": see the module docstring
    # False: refuse a batch with a duplicate unique value whole even when every input has a trace id
    # (whether HubSpot honours trace ids for a deal's custom unique property is unverified).
    honours_trace_ids: bool = True
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    # The portal's company currency and those added under multi-currency: the only codes a deal's
    # `deal_currency_code` may take since 2023-07-31, others answer INVALID_OPTION
    # (https://developers.hubspot.com/changelog/deal-currenct-code-validation).
    currencies: frozenset[str] = frozenset({"USD", "EUR", "GBP"})

    def __post_init__(self) -> None:
        self.server = SandboxServer()
        self.lock = threading.RLock()
        self.objects: dict[str, dict[int, Record]] = {t: {} for t in SINGULAR}
        self.properties: dict[str, dict[str, dict[str, Any]]] = {
            t: {
                n: {"name": n, "type": ty, "hasUniqueValue": False, "hubspotDefined": True}
                for n, ty in props.items()
            }
            for t, props in BUILTIN_PROPERTIES.items()
        }
        self.associations: dict[tuple[str, int], dict[tuple[str, int], set[int]]] = {}
        self.owners: list[dict[str, Any]] = []
        self._unique: dict[tuple[str, str], dict[str, int]] = {}  # (type, unique property) -> value -> id
        self.next_id = 1000
        self.faults: list[Fault] = []
        self.calls_by_route: dict[str, int] = {}
        self.rate_limited = 0
        self.rate_limited_by: dict[str, int] = {}  # policyName -> 429s sent
        self.burst_counted = 0  # requests that counted against the ten-secondly budget
        self._burst: deque[float] = deque()
        self._search: deque[float] = deque()
        self._daily = 0
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Request], Response]]] = []
        self._register()
        self.server.before.extend([self._fault_hook, self._auth_hook, self._rate_hook, self._scope_hook])

    # -- seeding and inspection (test helpers, not HTTP) ---------------------------------------
    def define_property(
        self, object_type: str, name: str, type_: str = "string", unique: bool = False
    ) -> None:
        with self.lock:
            self.properties[object_type].setdefault(
                name, {"name": name, "type": type_, "hasUniqueValue": unique, "hubspotDefined": False}
            )
            for record in self.objects[object_type].values():
                self._index(object_type, record)

    def add_owner(self, owner_id: str, email: str, first: str = "", last: str = "") -> None:
        self.owners.append(
            {
                "id": owner_id,
                "email": email,
                "firstName": first,
                "lastName": last,
                "userId": int(owner_id) + 1,
                "type": "PERSON",
                "archived": False,
                "teams": [],
            }
        )

    def add_record(
        self, object_type: str, properties: Mapping[str, Any], modified_ms: int | None = None
    ) -> str:
        """Insert a record directly (seeding); unknown properties are defined as strings."""
        with self.lock:
            for name in properties:
                if name not in self.properties[object_type]:
                    self.define_property(object_type, name)
            now = self.clock_ms() if modified_ms is None else modified_ms
            record = Record(
                self._new_id(), {k: None if v is None else str(v) for k, v in properties.items()}, now, now
            )
            self.objects[object_type][record.id] = record
            self._index(object_type, record)
            return str(record.id)

    def associate(self, from_type: str, from_id: str, to_id: str, type_id: int) -> None:
        """Seed an association (both directions), as HubSpot's UI would make it."""
        with self.lock:
            self._associate(from_type, int(from_id), int(to_id), type_id)

    def touch(self, object_type: str, record_id: str, at_ms: int | None = None, **changes: Any) -> None:
        """An edit in HubSpot: changes properties and bumps hs_lastmodifieddate (to `at_ms` if given)."""
        with self.lock:
            record = self.objects[object_type][int(record_id)]
            record.updated_ms = max(self.clock_ms() if at_ms is None else at_ms, record.updated_ms + 1)
            record.set({k: str(v) for k, v in changes.items()}, record.updated_ms)
            self._index(object_type, record)

    def records(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_json(object_type, list(r.properties)) for r in self.objects[object_type].values()]

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        with self.lock:
            targets = self.associations.get((from_type, int(from_id)), {})
            return [str(i) for (t, i) in targets if t == to_type]

    def fault(
        self,
        method: str,
        path: str,
        status: int = 500,
        body: Any = None,
        *,
        times: int = 1,
        after: bool = False,
        headers: dict[str, str] | None = None,
        reset: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (a HubSpot-shaped body unless
        given); with `after=True`, perform the request first and then fail it; with `reset=True`,
        answer nothing and reset the connection (with `after=True`: the response lost after HubSpot
        carried the request out)."""
        if body is None:
            body = {
                "status": "error",
                "message": "internal error",
                "correlationId": str(uuid.uuid4()),
                "category": "INTERNAL_ERROR",
            }
        self.faults.append(
            Fault(method.upper(), re.compile(path), status, body, headers or {}, times, after, reset)
        )

    # -- hooks -------------------------------------------------------------------------------
    def _fault_hook(self, request: Request) -> Response | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == request.method and fault.path.search(request.path):
                    fault.times -= 1
                    if fault.after:
                        self._route(request)
                    if fault.reset:
                        return Response(reset=True)
                    return Response(fault.status, fault.body, dict(fault.headers))
        return None

    def _auth_hook(self, request: Request) -> Response | None:
        if request.path == "/oauth/v2/private-apps/get/access-token-info":
            return None
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        return None

    def _rate_hook(self, request: Request) -> Response | None:
        now = time.monotonic()
        is_search = request.method == "POST" and request.path.endswith("/search")
        exempt = request.method == "POST" and bool(EXEMPT_FROM_BURST.match(request.path))
        with self.lock:
            if self.daily_limit is not None and self._daily >= self.daily_limit:
                return self._limited("You have reached your daily limit.", "DAILY")
            while self._burst and now - self._burst[0] >= self.burst_window:
                self._burst.popleft()
            if not exempt and len(self._burst) >= self.burst_limit:
                return self._limited(
                    "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING"
                )
            if is_search:
                while self._search and now - self._search[0] >= self.search_window:
                    self._search.popleft()
                if len(self._search) >= self.search_limit:
                    return self._limited("You have reached your secondly limit.", "SECONDLY")
                self._search.append(now)
            if not exempt:
                self._burst.append(now)
                self.burst_counted += 1
            self._daily += 1
        return None

    def _limited(self, message: str, policy: str) -> Response:
        self.rate_limited += 1
        self.rate_limited_by[policy] = self.rate_limited_by.get(policy, 0) + 1
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return Response(
            429,
            {
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "groupName": f"publicapi:private-app-api-calls-{policy.lower()}:1234",
            },
            headers,
        )

    def _scope_hook(self, request: Request) -> Response | None:
        needed = self._scope_for(request)
        if needed and needed not in self.scopes:
            return error(
                403,
                "This app hasn't been granted all required scopes to make this call. Read more about "
                "required scopes here: https://developers.hubspot.com/scopes.",
                "MISSING_SCOPES",
                [
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [needed]},
                    }
                ],
                links={"scopes": "https://developers.hubspot.com/scopes"},
            )
        return None

    def _scope_for(self, request: Request) -> str | None:
        path = request.path
        if re.match(OWNERS, path):
            return "crm.objects.owners.read"
        m = re.match(PROPERTIES + r"/([^/]+)", path)
        if m:
            kind = OBJECT_TYPES.get(m.group(1), m.group(1))
            return f"crm.schemas.{kind}.{'read' if request.method == 'GET' else 'write'}"
        m = re.match(ASSOCIATIONS + r"/([^/]+)/([^/]+)/batch/(\w+)", path)
        if m:
            kind = OBJECT_TYPES.get(m.group(1), m.group(1))
            return (WRITE_SCOPE if m.group(3) != "read" else READ_SCOPE).get(kind)
        m = re.match(OBJECTS + r"/([^/]+)(/.*)?$", path)
        if m:
            kind = OBJECT_TYPES.get(m.group(1), m.group(1))
            rest = m.group(2) or ""
            writes = request.method in ("PATCH", "DELETE") or (
                rest.startswith("/batch/") and not rest.endswith("/read")
            )
            writes = writes or (request.method == "POST" and rest == "")
            return (WRITE_SCOPE if writes else READ_SCOPE).get(kind)
        return None

    # -- routing -----------------------------------------------------------------------------
    def _register(self) -> None:
        obj = OBJECTS + r"/(?P<type>[^/]+)"
        table = [
            ("GET", obj, self._list),
            ("GET", obj + r"/(?P<id>\d+)", self._read_one),
            ("POST", obj, self._create_one),
            ("POST", obj + "/search", self._search_route),
            ("POST", obj + "/batch/read", self._batch_read),
            ("POST", obj + "/batch/create", self._batch_create),
            ("POST", obj + "/batch/upsert", self._batch_upsert),
            ("POST", obj + "/batch/update", self._batch_update),
            ("POST", ASSOCIATIONS + r"/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/read", self._assoc_read),
            ("POST", ASSOCIATIONS + r"/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/create", self._assoc_create),
            ("GET", OWNERS + r"/?", self._owners),
            ("GET", PROPERTIES + r"/(?P<type>[^/]+)", self._properties_list),
            ("GET", PROPERTIES + r"/(?P<type>[^/]+)/(?P<name>[^/]+)", self._property_read),
            ("POST", PROPERTIES + r"/(?P<type>[^/]+)", self._property_create),
            ("PATCH", PROPERTIES + r"/(?P<type>[^/]+)/(?P<name>[^/]+)", self._property_update),
            ("POST", r"/oauth/v2/private-apps/get/access-token-info", self._token_info),
        ]
        for method, pattern, handler in table:
            wrapped = self._counted(pattern, handler)
            self._routes.append((method, re.compile(f"^{pattern}$"), wrapped))
            self.server.route(method, pattern)(wrapped)

    def _counted(self, name: str, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            with self.lock:
                self.calls_by_route[name] = self.calls_by_route.get(name, 0) + 1
                response = handler(request)
                if self.daily_limit is not None and not request.path.endswith("/search"):
                    # Search responses carry no rate-limit headers (usage guidelines).
                    response.headers.setdefault("X-HubSpot-RateLimit-Daily", str(self.daily_limit))
                    response.headers.setdefault(
                        "X-HubSpot-RateLimit-Daily-Remaining", str(max(self.daily_limit - self._daily, 0))
                    )
                return response

        return run

    def _route(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                request.match = match
                return handler(request)
        return error(404, "not found", "OBJECT_NOT_FOUND")

    def _type(self, request: Request, group: str = "type") -> str | None:
        assert request.match is not None
        return OBJECT_TYPES.get(request.match.group(group))

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- objects -----------------------------------------------------------------------------
    def _list(self, request: Request) -> Response:
        kind = self._type(request)
        if kind is None:
            return error(400, "Unable to infer object type", "VALIDATION_ERROR")
        limit = int(request.arg("limit", "10") or 10)
        wanted = [p for p in (request.arg("properties") or "").split(",") if p] or None
        with_history = [p for p in (request.arg("propertiesWithHistory") or "").split(",") if p]
        if with_history and limit > 50:
            return error(400, "The maximum number of inputs for property histories is 50", "VALIDATION_ERROR")
        if limit > 100 or limit < 1:
            return error(400, f"limit must be between 1 and 100, got {limit}", "VALIDATION_ERROR")
        after = request.arg("after")
        start = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
        ids = sorted(i for i in self.objects[kind] if i >= start)
        page = ids[:limit]
        body: dict[str, Any] = {
            "results": [self.objects[kind][i].as_json(kind, wanted, with_history) for i in page]
        }
        if len(ids) > limit:
            token = base64.urlsafe_b64encode(str(ids[limit]).encode()).decode()
            body["paging"] = {"next": {"after": token, "link": f"?after={token}"}}
        return Response(200, body)

    def _read_one(self, request: Request) -> Response:
        """GET /crm/v3/objects/{type}/{id}?properties=a,b: one record
        (https://developers.hubspot.com/docs/api/crm/companies, "Retrieve a company")."""
        kind = self._type(request)
        assert request.match is not None
        record = self.objects[kind].get(int(request.match.group("id"))) if kind else None
        if record is None:
            return error(404, "Object not found", "OBJECT_NOT_FOUND")
        wanted = [p for p in (request.arg("properties") or "").split(",") if p] or None
        return Response(200, record.as_json(kind, wanted))

    def _create_one(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type} with {properties, associations}: one record, the basic create
        endpoint (https://developers.hubspot.com/docs/api/crm/deals, "Create a deal"); the same
        validation as one batch input, answered with the record itself (201)."""
        body = request.json() or {}
        item = {"properties": body.get("properties") or {}, "associations": body.get("associations") or []}
        request.body = json.dumps({"inputs": [item]}).encode()
        response = self._batch_create(request)
        if response.status != 201:
            return response
        return Response(201, response.body["results"][0])

    def _search_route(self, request: Request) -> Response:
        kind = self._type(request)
        if kind is None:
            return error(400, "Unable to infer object type", "VALIDATION_ERROR")
        body = request.json() or {}
        limit = int(body.get("limit") or 10)
        if limit > 200:
            return error(400, "limit must be at most 200", "VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        total_filters = sum(len(g.get("filters") or []) for g in groups)
        if len(groups) > 5 or any(len(g.get("filters") or []) > 6 for g in groups) or total_filters > 18:
            return error(
                400,
                "too many filterGroups or filters (max 5 groups, 6 filters each, 18 total)",
                "VALIDATION_ERROR",
            )
        offset = int(body.get("after") or 0)
        if offset >= self.result_cap:
            return error(
                400,
                f"Paging past {self.result_cap} results is not supported; narrow the query",
                "VALIDATION_ERROR",
            )
        records = [
            r
            for r in self.objects[kind].values()
            if not groups or any(all(self._matches(r, f) for f in g.get("filters") or []) for g in groups)
        ]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": "hs_object_id"}
        records.sort(
            key=lambda r: self._sort_key(r, sort["propertyName"]),
            reverse=sort.get("direction") == "DESCENDING",
        )
        page = records[offset : offset + limit]
        out: dict[str, Any] = {
            "total": len(records),
            "results": [r.as_json(kind, body.get("properties") or None) for r in page],
        }
        if offset + limit < len(records):
            out["paging"] = {"next": {"after": str(offset + limit), "link": None}}
        return Response(200, out)

    def _value(self, record: Record, name: str) -> Any:
        if name == "hs_object_id":
            return record.id
        if name == "hs_lastmodifieddate":
            return record.updated_ms
        if name in ("createdate", "hs_createdate"):
            return record.created_ms
        value = record.properties.get(name)
        if name in DATETIME_PROPS:
            return to_ms(value)
        return value

    def _sort_key(self, record: Record, name: str) -> tuple:
        value = self._value(record, name)
        return (value is None, _numeric(value) if _numeric(value) is not None else str(value))

    def _matches(self, record: Record, flt: Mapping[str, Any]) -> bool:
        name, op = flt.get("propertyName"), flt.get("operator", "EQ")
        value = self._value(record, name)
        if op == "HAS_PROPERTY":
            return value not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if value in (None, ""):
            return False

        def coerce(raw: Any) -> Any:
            if name in DATETIME_PROPS:
                return to_ms(raw)
            number, mine = _numeric(raw), _numeric(value)
            return number if number is not None and mine is not None else str(raw)

        mine = (
            value
            if name in DATETIME_PROPS
            else (_numeric(value) if _numeric(value) is not None else str(value))
        )
        if op == "IN":
            return any(mine == coerce(v) for v in flt.get("values") or [])
        if op == "NOT_IN":
            return all(mine != coerce(v) for v in flt.get("values") or [])
        if op == "BETWEEN":
            return coerce(flt.get("value")) <= mine <= coerce(flt.get("highValue"))
        other = coerce(flt.get("value"))
        try:
            return {
                "EQ": mine == other,
                "NEQ": mine != other,
                "LT": mine < other,
                "LTE": mine <= other,
                "GT": mine > other,
                "GTE": mine >= other,
                "CONTAINS_TOKEN": str(other).lower() in str(mine).lower(),
            }[op]
        except (KeyError, TypeError):
            return False

    def _batch_read(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Too many inputs: at most 100 per batch", "VALIDATION_ERROR")
        id_property = body.get("idProperty")
        if id_property and not self.properties[kind].get(id_property, {}).get("hasUniqueValue"):
            return error(400, f"{id_property} is not a unique property", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            record = self._find(kind, str(item.get("id")), id_property)
            if record is None:
                missing.append(str(item.get("id")))
            else:
                results.append(record.as_json(kind, body.get("properties") or None))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(self.clock_ms()),
            "completedAt": iso(self.clock_ms()),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {SINGULAR[kind]} objects, they may be deleted or not exist. "
                    "Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return Response(207, out)
        return Response(200, out)

    def _find(self, kind: str, ident: str, id_property: str | None) -> Record | None:
        if not id_property:
            return self.objects[kind].get(int(ident)) if ident.isdigit() else None
        if (kind, id_property) in self._unique:
            record_id = self._unique[(kind, id_property)].get(ident)
            return None if record_id is None else self.objects[kind].get(record_id)
        for record in self.objects[kind].values():
            if record.properties.get(id_property) == ident:
                return record
        return None

    def _index(self, kind: str, record: Record) -> None:
        """Keep the unique-value index current after a record's properties were set."""
        for name, value in record.properties.items():
            if value and self.properties[kind].get(name, {}).get("hasUniqueValue"):
                self._unique.setdefault((kind, name), {})[value] = record.id

    def _validate(self, kind: str, props: Mapping[str, Any], pending: Mapping[str, set[str]]) -> str | None:
        """Why these properties cannot be written, or None. `pending` holds unique values already
        taken earlier in the same batch."""
        for name in props:
            if name not in self.properties[kind]:
                return f'Property values were not valid: [{{"isValid":false,"message":"Property \\"{name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"{name}"}}]'
        for name, value in props.items():
            if value in (None, ""):
                continue
            if kind == "deals" and name == "deal_currency_code" and value not in self.currencies:
                return (
                    f'Property values were not valid: [{{"isValid":false,"message":"\\"{value}\\" is not a '
                    f'part of the current effective currency codes for portal 104008696",'
                    f'"error":"INVALID_OPTION","name":"deal_currency_code"}}]'
                )
            if self.properties[kind][name].get("hasUniqueValue"):
                holder = self._find(kind, str(value), name)
                if holder is not None or str(value) in pending.get(name, set()):
                    ident = holder.id if holder else "another input"
                    return (
                        f'Property values were not valid: [{{"isValid":false,"message":"{ident} already has that value.",'
                        f'"error":"VALUE_NOT_UNIQUE","name":"{name}"}}]'
                    )
        return None

    def _batch_create(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Too many inputs: at most 100 per batch", "VALIDATION_ERROR")
        multi_status = bool(inputs) and all(i.get("objectWriteTraceId") for i in inputs)
        traced = {str(i["objectWriteTraceId"]) for i in inputs if i.get("objectWriteTraceId")}
        multi_status = multi_status and len(traced) == len(inputs)  # trace ids must be unique
        conflict = self._first_duplicate(kind, inputs)
        if conflict is not None and not (multi_status and self.honours_trace_ids):
            # Whole batch refused, only the first duplicate named (hubspot-api-python#51 shape).
            return error(409, f"{SINGULAR[kind].title()} already exists. Existing ID: {conflict}", "CONFLICT")
        pending: dict[str, set[str]] = {}
        accepted: list[tuple[dict, list]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            props = {k: (None if v is None else str(v)) for k, v in (item.get("properties") or {}).items()}
            problem = None
            if "associations" not in item:
                problem = "associations is required (send [] when there are none)"
            missing = [p for p in REQUIRED_ON_CREATE.get(kind, []) if not props.get(p)]
            if missing:
                problem = f"Missing required properties: {', '.join(missing)}"
            problem = (
                problem
                or self._validate(kind, props, pending)
                or self._check_associations(kind, item.get("associations") or [])
            )
            if problem:
                if not multi_status:
                    return error(400, problem, "VALIDATION_ERROR")
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": problem,
                        "context": {"objectWriteTraceId": [str(item["objectWriteTraceId"])]},
                    }
                )
                continue
            for name, value in props.items():
                if value and self.properties[kind][name].get("hasUniqueValue"):
                    pending.setdefault(name, set()).add(value)
            accepted.append((props, item.get("associations") or []))
        results = []
        for props, associations in accepted:
            now = self.clock_ms()
            record = Record(self._new_id(), props, now, now)
            self.objects[kind][record.id] = record
            self._index(kind, record)
            for assoc in associations:
                for t in assoc.get("types") or []:
                    self._associate(kind, record.id, int(assoc["to"]["id"]), int(t["associationTypeId"]))
            results.append(record.as_json(kind, list(props)))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(self.clock_ms()),
            "completedAt": iso(self.clock_ms()),
        }
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return Response(207, out)
        return Response(201, out)

    def _first_duplicate(self, kind: str, inputs: list[dict]) -> str | None:
        """The id holding the first unique value an input repeats (or "another input" when two
        inputs of the batch share one), or None."""
        seen: dict[str, set[str]] = {}
        for item in inputs:
            for name, value in (item.get("properties") or {}).items():
                if value in (None, "") or not self.properties[kind].get(name, {}).get("hasUniqueValue"):
                    continue
                holder = self._find(kind, str(value), name)
                if holder is not None:
                    return str(holder.id)
                if str(value) in seen.setdefault(name, set()):
                    return "another input"
                seen[name].add(str(value))
        return None

    def _check_associations(self, kind: str, associations: list[dict]) -> str | None:
        for assoc in associations:
            to_id = str((assoc.get("to") or {}).get("id") or "")
            for t in assoc.get("types") or []:
                type_id = int(t.get("associationTypeId") or 0)
                target = next(
                    (to for (frm, to), ids in ASSOCIATION_TYPES.items() if frm == kind and type_id in ids),
                    None,
                )
                if target is None:
                    return f"association type {type_id} is not valid from {kind}"
                if not to_id.isdigit() or int(to_id) not in self.objects[target]:
                    return f"{SINGULAR[target]}={to_id} is not valid (association target does not exist)"
        return None

    def _associate(self, kind: str, record_id: int, to_id: int, type_id: int) -> None:
        target = next(to for (frm, to), ids in ASSOCIATION_TYPES.items() if frm == kind and type_id in ids)
        self.associations.setdefault((kind, record_id), {}).setdefault((target, to_id), set()).add(type_id)
        back = self.associations.setdefault((target, to_id), {}).setdefault((kind, record_id), set())
        back.add(REVERSE_TYPE.get(type_id, type_id))

    def _batch_update(self, request: Request) -> Response:
        """POST batch/update: inputs {id, properties}, by record id (200; 207 for unknown ids)."""
        kind = self._type(request)
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Too many inputs: at most 100 per batch", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            record = self._find(kind, str(item.get("id")), None)
            props = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            problem = self._validate(kind, props, {}) if record is not None else None
            if problem:
                return error(400, problem, "VALIDATION_ERROR")
            if record is None:
                missing.append(str(item.get("id")))
                continue
            record.updated_ms = self.clock_ms()
            record.set(props, record.updated_ms)
            self._index(kind, record)
            results.append(record.as_json(kind, list(props)))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Object not found",
                    "context": {"ids": missing},
                }
            ]
            return Response(207, out)
        return Response(200, out)

    def _batch_upsert(self, request: Request) -> Response:
        kind = self._type(request)
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Too many inputs: at most 100 per batch", "VALIDATION_ERROR")
        results = []
        for item in inputs:
            id_property = item.get("idProperty") or request.arg("idProperty")
            if not id_property or not self.properties[kind].get(id_property, {}).get("hasUniqueValue"):
                return error(
                    400, f"idProperty {id_property!r} must name a unique property", "VALIDATION_ERROR"
                )
            props = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            props[id_property] = str(item["id"])
            record = self._find(kind, str(item["id"]), id_property)
            unknown = [n for n in props if n not in self.properties[kind]]
            if unknown:
                return error(400, f"Property {unknown[0]!r} does not exist", "VALIDATION_ERROR")
            if record is None:
                now = self.clock_ms()
                record = Record(self._new_id(), props, now, now)
                self.objects[kind][record.id] = record
                new = True
            else:
                record.updated_ms = self.clock_ms()
                record.set(props, record.updated_ms)
                new = False
            self._index(kind, record)
            results.append({**record.as_json(kind, list(props)), "new": new})
        return Response(
            200,
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": iso(self.clock_ms()),
                "completedAt": iso(self.clock_ms()),
            },
        )

    # -- associations v4 ---------------------------------------------------------------------
    def _assoc_read(self, request: Request) -> Response:
        frm, to = self._type(request, "from"), self._type(request, "to")
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 1000:
            return error(400, "Too many inputs: at most 1000 per batch", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            source = int(item["id"])
            targets = [
                (i, ids) for (t, i), ids in self.associations.get((frm, source), {}).items() if t == to
            ]
            if not targets:
                missing.append(str(source))
                continue
            results.append(
                {
                    "from": {"id": str(source)},
                    "to": [
                        {
                            "toObjectId": i,
                            "associationTypes": [
                                {
                                    "category": "HUBSPOT_DEFINED",
                                    "typeId": t,
                                    "label": ASSOCIATION_LABELS.get(t),
                                }
                                for t in sorted(ids)
                            ],
                        }
                        for i, ids in sorted(targets)
                    ],
                }
            )
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            out["numErrors"] = len(missing)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"No {to} is associated with {frm} {m}.",
                    "context": {"fromObjectId": [m]},
                }
                for m in missing
            ]
            return Response(207, out)
        return Response(200, out)

    def _assoc_create(self, request: Request) -> Response:
        frm = self._type(request, "from")
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 100:
            return error(400, "Too many inputs: at most 100 per batch", "VALIDATION_ERROR")
        results = []
        for item in inputs:
            for t in item.get("types") or []:
                self._associate(
                    frm, int(item["from"]["id"]), int(item["to"]["id"]), int(t["associationTypeId"])
                )
            results.append({"fromObjectId": int(item["from"]["id"]), "toObjectId": int(item["to"]["id"])})
        return Response(201, {"status": "COMPLETE", "results": results})

    # -- owners, properties, token -----------------------------------------------------------
    def _owners(self, request: Request) -> Response:
        limit = int(request.arg("limit", "100") or 100)
        if limit > 500:
            return error(400, "limit must be at most 500", "VALIDATION_ERROR")
        start = int(request.arg("after") or 0)
        page = self.owners[start : start + limit]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(self.owners):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return Response(200, body)

    def _properties_list(self, request: Request) -> Response:
        kind = self._type(request)
        return Response(200, {"results": list(self.properties.get(kind or "", {}).values())})

    def _property_read(self, request: Request) -> Response:
        kind = self._type(request)
        assert request.match is not None
        definition = self.properties.get(kind or "", {}).get(request.match.group("name"))
        if definition is None:
            return error(
                404,
                f"Unable to find property {request.match.group('name')} for object type {kind}",
                "OBJECT_NOT_FOUND",
            )
        return Response(200, definition)

    def _property_update(self, request: Request) -> Response:
        """PATCH a property (PropertyUpdate: every field optional; `hasUniqueValue` is not one)."""
        kind = self._type(request)
        assert request.match is not None
        definition = self.properties.get(kind or "", {}).get(request.match.group("name"))
        if definition is None:
            return error(
                404,
                f"Unable to find property {request.match.group('name')} for object type {kind}",
                "OBJECT_NOT_FOUND",
            )
        allowed = {"label", "description", "groupName", "options", "hidden", "displayOrder", "formField"}
        definition.update({k: v for k, v in (request.json() or {}).items() if k in allowed})
        return Response(200, definition)

    def _property_create(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if kind is None or missing:
            return error(400, f"Missing required fields: {', '.join(missing)}", "VALIDATION_ERROR")
        if body["name"] in self.properties[kind]:
            return error(409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
        definition = {**body, "hasUniqueValue": bool(body.get("hasUniqueValue")), "hubspotDefined": False}
        self.properties[kind][body["name"]] = definition
        for record in self.objects[kind].values():
            self._index(kind, record)
        return Response(201, definition)

    def _token_info(self, request: Request) -> Response:
        if self.credential != "legacy_private_app" or (request.json() or {}).get("tokenKey") != self.token:
            return error(401, "The access token is invalid or expired", "INVALID_AUTHENTICATION")
        return Response(200, {"userId": 1, "hubId": 1234, "appId": 42, "scopes": sorted(self.scopes)})


def _numeric(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None
