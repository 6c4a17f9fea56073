"""A seeded fault plan for the HubSpot sandbox: the failures a CRM API really produces, at random but
reproducibly, for the fault-injection suite (tests/proof/test_faults.py, bench/faults.py).

Installed as the sandbox's first `before` hook, so a fault happens before auth and rate limiting,
the way a load balancer or a struggling backend fails. Each request to a data route draws one
number from a `random.Random(seed)`; with probability `rate` it gets the next kind of a seeded
shuffle of `kinds` (cycled, so every kind occurs once a pass has seen len(kinds) faults; a `partial`
that falls on a request other than a batch create waits for the next batch create). Kinds, and what
the client sees:
- `429` / `429_retry_after`: HubSpot's rate-limit body, without and with a `Retry-After` header
  (HubSpot does not always send one: https://developers.hubspot.com/docs/api/usage-details);
- `500`, `502`, `503`: a server error, nothing done;
- `slow`: the request takes effect, then the answer is held past the client's read timeout (the
  "timed out, but it happened" case that makes blind retries of creates duplicate records);
- `reset` / `reset_after`: the connection is reset (TCP RST) before or after the request took effect;
- `partial`: a batch create answers 207 with per-item errors for some inputs and creates the others
  (https://developers.hubspot.com/docs/api-reference/error-handling, "Multi-status errors"); only
  on batch creates whose inputs all carry `objectWriteTraceId`, as HubSpot requires for a 207.
Setup routes (properties, token info) are never faulted: the plan is about a pass.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.sandboxes.server import Request, Response

KINDS = ("429", "429_retry_after", "500", "502", "503", "slow", "reset", "reset_after", "partial")
DATA_ROUTES = re.compile(
    r"^/crm/(v(3|4)/(objects|associations|owners)|(objects|associations|owners)/2026-03)"
)
BATCH_CREATE = re.compile(r"^/crm/(v3/objects|objects/2026-03)/[^/]+/batch/create$")


@dataclass
class FaultPlan:
    seed: int = 1
    rate: float = 0.1  # share of data requests that fail
    kinds: tuple[str, ...] = KINDS
    slow_seconds: float = 2.0  # must exceed the client's read timeout
    write_latency: float = 0.0  # added to every batch create (keeps a pass in its write phase longer)
    injected: Counter[str] = field(default_factory=Counter)
    active: bool = True

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._order = list(self.kinds)
        self._random.shuffle(self._order)
        self._next = 0
        self._partial_owed = False

    def install(self, box: Any) -> FaultPlan:
        """Put the plan in front of `box` (a HubSpotSandbox)."""
        self._box = box
        box.server.before.insert(0, self.hook)
        return self

    def _draw(self, request: Request) -> str | None:
        is_create = request.method == "POST" and bool(BATCH_CREATE.match(request.path))
        with self._lock:
            if not self.active:
                return None
            if is_create and self._partial_owed:
                self._partial_owed = False
                return "partial"
            if self._random.random() >= self.rate:
                return None
            kind = self._order[self._next % len(self._order)]
            self._next += 1
            if kind == "partial" and not is_create:
                self._partial_owed = True
                if len(self._order) == 1:
                    return None
                kind = self._order[self._next % len(self._order)]
                self._next += 1
            return kind

    def hook(self, request: Request) -> Response | None:
        if not DATA_ROUTES.match(request.path):
            return None
        if self.write_latency and request.method == "POST" and BATCH_CREATE.match(request.path):
            time.sleep(self.write_latency)
        kind = self._draw(request)
        if kind is None:
            return None
        with self._lock:
            self.injected[kind] += 1
        if kind in ("429", "429_retry_after"):
            headers = {"Retry-After": "1"} if kind == "429_retry_after" else {}
            return Response(
                429,
                {
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "TEN_SECONDLY_ROLLING",
                },
                headers,
            )
        if kind in ("500", "502", "503"):
            return Response(
                int(kind),
                {
                    "status": "error",
                    "message": "internal error",
                    "category": "INTERNAL_ERROR",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if kind == "reset":
            return Response(reset=True)
        if kind == "reset_after":
            self._box._route(request)
            return Response(reset=True)
        if kind == "slow":
            answer = self._box._route(request)
            time.sleep(self.slow_seconds)
            return answer
        return self._partial(request)

    def _partial(self, request: Request) -> Response:
        body = request.json() or {}
        inputs = list(body.get("inputs") or [])
        if len(inputs) < 2 or not all(i.get("objectWriteTraceId") for i in inputs):
            return self._box._route(request)
        with self._lock:
            refused = set(self._random.sample(range(len(inputs)), max(1, len(inputs) // 10)))
        kept = [item for i, item in enumerate(inputs) if i not in refused]
        request.body = json.dumps({**body, "inputs": kept}).encode()
        answer = self._box._route(request)
        if answer.status not in (200, 201, 207):
            return answer
        out = dict(answer.body)
        errors = list(out.get("errors") or [])
        for i in sorted(refused):
            errors.append(
                {
                    "status": "error",
                    "category": "INTERNAL_ERROR",
                    "message": "Could not create the object, try again",
                    "context": {"objectWriteTraceId": [str(inputs[i]["objectWriteTraceId"])]},
                }
            )
        out["errors"], out["numErrors"] = errors, len(errors)
        return Response(207, out)
