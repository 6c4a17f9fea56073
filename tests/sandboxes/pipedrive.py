"""A stateful Pipedrive sandbox over real HTTP on loopback, built on `tests.sandboxes.server`.

It behaves as /work/shared/reference/pipedrive-api.md describes Pipedrive (not as our client calls it):
- auth by the `x-api-token` header (or the older `api_token` query parameter) [AUTH]; 401 otherwise;
- v2 envelopes `{"success": true, "data", "additional_data": {"next_cursor"}}`, cursor paging with
  `limit` default 100, max 500 (a larger one is a 400) [PAG]; v1 lists page with `start`/`limit`
  and `additional_data.pagination` [PAG];
- custom fields keyed by random 40-character hashes in `custom_fields`, definitions at
  `/api/v2/{organization,deal}Fields` (`field_name`, `field_code`, `field_type`, `options`); enum
  values are option ids [CF][MIG]; creating fields past the plan's cap answers 403 with a `code`
  [CL-403] (the exact code for custom fields is unverified: `feature_capping_custom_fields_limit`);
- organizations with `updated_since` (on `update_time`, inclusive) and `sort_by`; deals with
  `status`, `/api/v2/deals/archived` holding archived deals that the lists no longer return [ARCH];
  deal search with `exact_match` on custom fields (case-insensitive; archived deals not searched:
  unverified, chosen conservatively); deal products by `deal_ids`; activities by `deal_id`;
- token costs per call (v2: single 1, list 10, write 5, search 20, archived 20; v1 double, users/me 2)
  against a daily budget; a burst limit per rolling 2 s and search 10 per 2 s; `x-ratelimit-limit`,
  `x-ratelimit-remaining`, `x-ratelimit-reset` on every answer [RL];
- errors `{"success": false, "error", "error_info", "data": null, "additional_data": null}` [RESP].
  A 429's body is undocumented: here the burst 429 has `remaining` 0 and the daily one does not.
- webhooks `POST /v1/webhooks` (version, http_auth_user/password); 40 per user, then 422.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.sandboxes.server import Request, Response, SandboxApp, SandboxServer

PLANS = ("Starter", "Team", "Business", "Enterprise")
SEARCH_PATH = re.compile(r"/search$|/itemSearch")
SINGLE = re.compile(r"/\d+$")


def cost_of(method: str, path: str) -> int:
    """Token cost per pipedrive-api.md section 4 (x-token-cost of the specs)."""
    if path.startswith("/api/v2/"):
        if method == "GET":
            if SEARCH_PATH.search(path) or path.endswith("/deals/archived"):
                return 20
            return 1 if SINGLE.search(path) else 10
        return 3 if method == "DELETE" else 5
    if path.endswith("/users/me"):
        return 2
    if method == "GET":
        return 2 if SINGLE.search(path) else 20
    return 6 if method == "DELETE" else 10


def fail(
    status: int, error: str, info: str = "", code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {
        "success": False,
        "error": error,
        "error_info": info or "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }
    if code:
        body["code"] = code
    return Response(status, body, dict(headers or {}))


def ok(data: Any, next_cursor: str | None = None, *, listing: bool = False) -> Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if listing:
        body["additional_data"] = {"next_cursor": next_cursor}
    return Response(200, body)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    after: bool  # the request takes effect, then the answer is lost
    reset: str = "1"  # x-ratelimit-reset of an injected 429
    hits: int = 0


class PipedriveSandbox(SandboxApp):
    """State plus routes. Seed with `add_user`, `define_org_field`, `add_organization`, ...;
    inspect `deals`, `activities`, `tokens_used`."""

    def __init__(
        self,
        token: str = "sandbox-" + "p" * 32,
        *,
        burst_limit: int = 80,
        burst_window: float = 2.0,
        search_limit: int = 10,
        daily_budget: int = 10_000_000,
        field_cap: int = 100,
        deal_fields: tuple[str, ...] = ("Opportunity key",),
    ) -> None:
        self.token = token
        self.burst_limit, self.burst_window, self.search_limit = burst_limit, burst_window, search_limit
        self.daily_budget, self.field_cap = daily_budget, field_cap
        self.server = SandboxServer()
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.users: dict[int, dict[str, Any]] = {}
        self.orgs: dict[int, dict[str, Any]] = {}
        self.persons: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.archived: set[int] = set()
        self.deal_products: list[dict[str, Any]] = []
        self.activities: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.fields: dict[str, list[dict[str, Any]]] = {"organization": [], "deal": []}
        self.activity_types = [
            {"id": 1, "name": "Call", "key_string": "call", "active_flag": True},
            {"id": 2, "name": "Task", "key_string": "task", "active_flag": True},
        ]
        self.me_id: int | None = None
        self.tokens_used = 0
        self.rate_limited = 0
        self.faults: list[Fault] = []
        self.writes: list[tuple[str, str, Any]] = []
        # The codes `GET /v1/currencies` lists (ISO 4217, plus the company's custom ones): a deal's
        # `currency` "accepts a 3-character currency code"; omitted, it is the user's default.
        self.currencies: set[str] = {
            "USD",
            "EUR",
            "GBP",
            "CHF",
            "SEK",
            "NOK",
            "DKK",
            "PLN",
            "CAD",
            "AUD",
            "JPY",
        }
        self.default_currency = "USD"
        self._hits: deque[float] = deque()
        self._search_hits: deque[float] = deque()
        self.clock = time.monotonic
        for name in deal_fields:
            self.define_field("deal", name, "varchar")
        self._register()
        self.server.before.extend([self._check_auth, self._limits, self._faults_before])

    # ---------------------------------------------------------------- seeding
    def _new_id(self) -> int:
        return next(self._ids)

    def define_field(self, entity: str, name: str, field_type: str, options: list[str] | None = None) -> str:
        with self.lock:
            code = secrets.token_hex(20)  # a 40-character hash, different per sandbox (per company)
            definition: dict[str, Any] = {
                "id": self._new_id(),
                "field_name": name,
                "field_code": code,
                "field_type": field_type,
                "is_custom_field": True,
                "options": None,
            }
            if options:
                definition["options"] = [{"id": self._new_id(), "label": label} for label in options]
            self.fields[entity].append(definition)
            return code

    def code(self, entity: str, name: str) -> str:
        return next(f["field_code"] for f in self.fields[entity] if f["field_name"] == name)

    def option_id(self, entity: str, name: str, label: str) -> int:
        field = next(f for f in self.fields[entity] if f["field_name"] == name)
        return next(o["id"] for o in field["options"] if o["label"] == label)

    def add_user(self, name: str, email: str, *, me: bool = False) -> dict[str, Any]:
        with self.lock:
            user = {
                "id": self._new_id(),
                "name": name,
                "email": email,
                "active_flag": True,
                "is_deleted": False,
                "role_id": 1,
                "is_admin": 1,
            }
            self.users[user["id"]] = user
            if me or self.me_id is None:
                self.me_id = user["id"]
            return user

    def add_organization(
        self,
        name: str,
        owner_id: int | None = None,
        fields: dict[str, Any] | None = None,
        when: datetime | None = None,
    ) -> dict[str, Any]:
        """`fields` by field *name*; stored under the field's hash key as Pipedrive does."""
        with self.lock:
            stamp = iso(when or datetime.now(UTC))
            org = {
                "id": self._new_id(),
                "name": name,
                "owner_id": owner_id or self.me_id,
                "add_time": stamp,
                "update_time": stamp,
                "is_deleted": False,
                "visible_to": 3,
                "label_ids": [],
                "address": None,
                "custom_fields": {f["field_code"]: None for f in self.fields["organization"]},
            }
            for field_name, value in (fields or {}).items():
                org["custom_fields"][self.code("organization", field_name)] = value
            self.orgs[org["id"]] = org
            return org

    def add_person(
        self, name: str, org_id: int | None, emails: list[str] | None = None, primary: int = 0
    ) -> dict[str, Any]:
        """A v2 person (https://developers.pipedrive.com/docs/api/v1/Persons#getPersons, v2 tab):
        ids not nested objects, `emails` as [{value, primary, label}], `is_deleted`."""
        with self.lock:
            stamp = iso(datetime.now(UTC))
            first, _, last = name.partition(" ")
            person = {
                "id": self._new_id(),
                "name": name,
                "first_name": first or None,
                "last_name": last or None,
                "owner_id": self.me_id,
                "org_id": org_id,
                "add_time": stamp,
                "update_time": stamp,
                "is_deleted": False,
                "visible_to": 3,
                "label_ids": [],
                "emails": [
                    {"value": e, "primary": i == primary, "label": "work"} for i, e in enumerate(emails or [])
                ],
                "phones": [],
                "custom_fields": {},
            }
            self.persons[person["id"]] = person
            return person

    def add_raw_organization(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.orgs[record.get("id") or self._new_id()] = record

    def update_org(self, org_id: int, fields: dict[str, Any]) -> None:
        with self.lock:
            org = self.orgs[org_id]
            for field_name, value in fields.items():
                org["custom_fields"][self.code("organization", field_name)] = value
            org["update_time"] = iso(datetime.now(UTC))

    def add_note(
        self, org_id: int | None, content: str, when: datetime, *, deal_id: int | None = None
    ) -> dict[str, Any]:
        """A v1 note: HTML `content`, times as "YYYY-MM-DD HH:MM:SS" UTC (pipedrive-api.md "Notes (v1)")."""
        with self.lock:
            stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            note = {
                "id": self._new_id(),
                "org_id": org_id,
                "deal_id": deal_id,
                "person_id": None,
                "lead_id": None,
                "user_id": self.me_id,
                "content": content,
                "add_time": stamp,
                "update_time": stamp,
                "active_flag": True,
            }
            self.notes[note["id"]] = note
            return note

    def add_won_deal(self, org_id: int, products: list[str], archived: bool = False) -> dict[str, Any]:
        with self.lock:
            deal = self._store_deal({"title": "Purchase", "org_id": org_id, "status": "won", "value": 100.0})
            for name in products:
                self.deal_products.append(
                    {
                        "id": self._new_id(),
                        "deal_id": deal["id"],
                        "product_id": hash(name) % 1000,
                        "name": name,
                        "item_price": 100,
                        "quantity": 1,
                        "sum": 100,
                        "currency": "USD",
                        "is_enabled": True,
                    }
                )
            if archived:
                self.archived.add(deal["id"])
            return deal

    def set_deal_status(
        self, deal_id: int, status: str, lost_reason: str | None = None, archive: bool = False
    ) -> None:
        with self.lock:
            deal = self.deals[deal_id]
            deal.update(status=status, update_time=iso(datetime.now(UTC)))
            if status == "lost":
                deal["lost_reason"] = lost_reason
            if archive:
                self.archived.add(deal_id)

    def define_account_fields(self) -> None:
        """The organization fields an admin would create for the canonical fields and usage metrics."""
        for name, kind in (
            ("plan", "enum"),
            ("plan_rank", "double"),
            ("seats_purchased", "double"),
            ("seats_used", "double"),
            ("mrr", "monetary"),
            ("customer_since", "date"),
            ("contract_end_date", "date"),
            ("nps", "double"),
            ("csat", "double"),
            ("open_escalations", "double"),
            ("active_users", "double"),
            ("api_calls", "double"),
            ("words_translated", "double"),
            ("premium_feature_attempts", "double"),
        ):
            if not any(f["field_name"] == name for f in self.fields["organization"]):
                self.define_field("organization", name, kind, list(PLANS) if name == "plan" else None)

    def generate_accounts(self, n: int, seed: int = 7) -> list[int]:
        """`n` organizations with plausible custom fields and 30-day usage, deterministic by seed, with
        distinct `update_time`s two days in the past (as an account that has lived a while)."""
        rng = random.Random(seed)
        plans = PLANS
        products = ("translate", "api", "glossary", "connectors", "analytics")
        self.define_account_fields()
        owners = list(self.users) or [self.add_user("CSM One", "csm1@example.com")["id"]]
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        ids = []
        for i in range(n):
            rank = rng.randrange(len(plans))
            seats = rng.choice([5, 10, 20, 50, 100])
            used = min(seats, max(0, int(seats * rng.uniform(0.3, 1.1))))
            fields = {
                "plan": self.option_id("organization", "plan", plans[rank]),
                "plan_rank": rank,
                "seats_purchased": seats,
                "seats_used": used,
                "mrr": {"value": seats * (20 + 15 * rank), "currency": "USD"},
                "customer_since": f"{rng.choice([2021, 2022, 2023, 2024])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "contract_end_date": f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "nps": rng.randint(-20, 10),
                "csat": round(rng.uniform(3, 5), 1),
                "open_escalations": rng.choice([0, 0, 0, 1]),
                "active_users": used,
                "api_calls": rng.randint(0, 200_000),
                "words_translated": rng.randint(10_000, 900_000),
                "premium_feature_attempts": rng.choice([0, 0, 3, 12, 40]),
            }
            org = self.add_organization(
                f"Org {i:05d}", rng.choice(owners), fields, when=base + timedelta(seconds=i)
            )
            ids.append(org["id"])
            if rng.random() < 0.8:
                self.add_won_deal(
                    org["id"], sorted(rng.sample(products, rng.randint(1, 3))), archived=rng.random() < 0.3
                )
        return ids

    def add_fault(
        self, method: str, pattern: str, status: int, times: int = 1, after: bool = False, reset: str = "1"
    ) -> None:
        self.faults.append(Fault(method.upper(), re.compile(f"^{pattern}$"), status, times, after, reset))

    # ---------------------------------------------------------------- hooks
    def _check_auth(self, request: Request) -> Response | None:
        if request.headers.get("x-api-token") == self.token or request.arg("api_token") == self.token:
            return None
        return fail(401, "Unauthorized", "Invalid API token. Check developers.pipedrive.com")

    def _window(self, hits: deque[float], now: float) -> None:
        while hits and now - hits[0] >= self.burst_window:
            hits.popleft()

    def _limits(self, request: Request) -> Response | None:
        with self.lock:
            now = self.clock()
            self._window(self._hits, now)
            self._window(self._search_hits, now)
            reset = str(max(1, round(self.burst_window - (now - self._hits[0])))) if self._hits else "2"
            if len(self._hits) >= self.burst_limit:
                self.rate_limited += 1
                return fail(
                    429, "Request over limit", "Rate limit exceeded (burst)", headers=self._headers(0, reset)
                )
            if SEARCH_PATH.search(request.path) and len(self._search_hits) >= self.search_limit:
                self.rate_limited += 1
                return fail(
                    429, "Request over limit", "Search rate limit exceeded", headers=self._headers(0, reset)
                )
            cost = cost_of(request.method, request.path)
            self._hits.append(now)
            remaining = str(self.burst_limit - len(self._hits))
            if self.tokens_used + cost > self.daily_budget:
                self.rate_limited += 1
                return fail(
                    429,
                    "Daily token budget exceeded",
                    "Try again after midnight",
                    headers=self._headers(int(remaining), reset),
                )
            self.tokens_used += cost
            if SEARCH_PATH.search(request.path):
                self._search_hits.append(now)
            request.headers["x-sandbox-remaining"] = remaining
            request.headers["x-sandbox-reset"] = reset
        return None

    def _headers(self, remaining: int, reset: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.burst_limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": reset,
        }

    def _faults_before(self, request: Request) -> Response | None:
        for fault in self.faults:
            if (
                fault.hits < fault.times
                and fault.method == request.method
                and fault.pattern.match(request.path)
            ):
                fault.hits += 1
                if fault.after:
                    request.headers["x-sandbox-fault-after"] = str(fault.status)
                    return None
                if fault.status == 429:  # a burst 429: nothing left in the window
                    request.headers["x-sandbox-remaining"], request.headers["x-sandbox-reset"] = (
                        "0",
                        fault.reset,
                    )
                return fail(fault.status, "Sandbox fault", f"injected {fault.status}")
        return None

    def dispatch(self, request: Request) -> Response:
        from tests.sandboxes.pipedrive_routes import route  # the routes live next door (module size)

        response = self.server_dispatch(request, route)
        remaining, reset = request.headers.get("x-sandbox-remaining"), request.headers.get("x-sandbox-reset")
        if remaining is not None and reset is not None:
            response.headers = {**self._headers(int(remaining), reset), **response.headers}
        after = request.headers.get("x-sandbox-fault-after")
        if after:
            return fail(int(after), "Sandbox fault", "injected after the change was made")
        return response

    def server_dispatch(self, request: Request, route: Any) -> Response:
        for hook in self.server.before:
            early = hook(request)
            if early is not None:
                return early
        return route(self, request)

    def _register(self) -> None:
        sandbox = self
        server = self.server

        def dispatch(request: Request) -> Response:
            with server._lock:
                server.requests.append((request.method, request.path))
            try:
                return sandbox.dispatch(request)
            except ValueError as exc:
                return fail(400, "Bad request", str(exc))

        server.dispatch = dispatch  # type: ignore[method-assign]

    # ---------------------------------------------------------------- shared by routes
    def _store_deal(self, body: dict[str, Any]) -> dict[str, Any]:
        now = iso(datetime.now(UTC))
        deal = {
            "id": self._new_id(),
            "title": body["title"],
            "owner_id": body.get("owner_id") or self.me_id,
            "org_id": body.get("org_id"),
            "person_id": None,
            "pipeline_id": body.get("pipeline_id") or 1,
            "stage_id": body.get("stage_id") or 1,
            "value": body.get("value") or 0,
            "currency": body.get("currency") or self.default_currency,
            "status": body.get("status") or "open",
            "expected_close_date": body.get("expected_close_date"),
            "add_time": now,
            "update_time": now,
            "is_deleted": False,
            "lost_reason": None,
            "custom_fields": {f["field_code"]: None for f in self.fields["deal"]},
        }
        deal["custom_fields"].update(body.get("custom_fields") or {})
        self.deals[deal["id"]] = deal
        return deal


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ValueError("Invalid cursor") from None
