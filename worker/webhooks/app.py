"""The webhook receiver: a small Starlette app. It verifies, de-duplicates and enqueues; it never
calls a CRM, so it answers well inside HubSpot's 5-second window.

- `POST /webhooks/hubspot`: HubSpot's batched JSON array of events, signed with v3
  (`X-HubSpot-Signature-v3` over method + full URI + raw body + timestamp, timestamp in ms, at most
  5 minutes old). Each event id is remembered in Redis (SET NX with a TTL longer than HubSpot's
  24 h of retries); only companies from events not seen before trigger a re-score. A deal-stage
  change enqueues the deal id; the pass looks up its company (worker/pipeline/revisits.py).
- `POST /webhooks/events`: product-usage events `{"events": [{"account_id", "metric", "value",
  "time"}]}` (or the bare list), signed Zendesk-style (`X-Zendesk-Webhook-Signature` = base64
  HMAC-SHA256 of timestamp + body, timestamp in `X-Zendesk-Webhook-Signature-Timestamp`). Values
  are stored as usage snapshots in the ledger, then the accounts are re-scored.
- `GET /healthz`: broker and database reachability (503 if either is down). `GET /metrics`.

Answers: bad signature or stale timestamp 401 (nothing enqueued); malformed JSON or wrong shape
400 with the reason; a body over the limit 413; a replay 200 with nothing enqueued twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from worker.service.observability import WEBHOOK_EVENTS, register_secret
from worker.service.settings import ServiceSettings, service_settings
from worker.store.ledger import Ledger
from worker.webhooks.models import HubSpotEvent, UsageEvent
from worker.webhooks.pipedrive import PipedriveWebhookSettings, pipedrive_route
from worker.webhooks.requests import Aborted, TooLarge, bad, first_problem, read_body, timestamp_seconds
from worker.webhooks.signatures import fresh, hubspot_uri_forms, hubspot_v3, matches, zendesk_style

log = logging.getLogger(__name__)


def store_usage(ledger: Ledger, crm: str, events: list[UsageEvent]) -> None:
    """Upsert one snapshot per (account, metric, day); the latest event of a day wins."""
    latest: dict[tuple[str, str, date], UsageEvent] = {}
    for event in sorted(events, key=lambda e: e.time):
        latest[(event.account_id, event.metric, event.time.date())] = event
    ledger.replace_snapshots(crm, [(a, m, day, e.value) for (a, m, day), e in latest.items()])


def create_app(
    cfg: ServiceSettings | None = None,
    *,
    rescore: Callable[[str, list[str], str], int] | None = None,
    rescore_deals: Callable[[str, list[str], str], int] | None = None,
    redis_client: Any = None,
    ledger: Ledger | None = None,
    pipedrive: PipedriveWebhookSettings | None = None,
) -> Starlette:
    """Build the app. Collaborators are injectable for tests; by default they are the worker's.
    `pipedrive` is the Basic credentials Pipedrive webhooks carry (PIPEDRIVE_WEBHOOK_* by default)."""
    cfg = cfg or service_settings()
    pipedrive = pipedrive or PipedriveWebhookSettings()
    for secret in (cfg.hubspot_app_secret, cfg.events_secret, pipedrive.password):
        register_secret(secret.get_secret_value() if secret else None)
    state: dict[str, Any] = {
        "redis": redis_client,
        "ledger": ledger,
        "rescore": rescore,
        "rescore_deals": rescore_deals,
    }

    def get_redis() -> Any:
        if state["redis"] is None:
            from worker.service.resources import redis_client as shared

            state["redis"] = shared()
        return state["redis"]

    def get_ledger() -> Ledger:
        if state["ledger"] is None:
            from worker.service.resources import ledger_for, pass_settings

            state["ledger"] = ledger_for(pass_settings())
        return state["ledger"]

    def do_rescore(crm: str, ids: list[str], reason: str) -> int:
        if state["rescore"] is None:
            from worker.service.rescore import request_rescore

            state["rescore"] = request_rescore
        return state["rescore"](crm, ids, reason)

    # An event is marked seen only AFTER its work (store, enqueue) succeeded: marked first, a failed
    # store would answer the sender's retry as a replay and the event would be lost. Doing the work
    # twice for two copies racing in is harmless (snapshots are upserts, re-scores are flags);
    # `first_time`'s SET NX still lets only one of them count as accepted.
    def seen(source: str, event_id: str) -> bool:
        return bool(get_redis().exists(cfg.key("seen", source, event_id)))

    def do_rescore_deals(crm: str, deal_ids: list[str], reason: str) -> int:
        """Deals are enqueued as deals: their company is looked up by the pass, not here."""
        if state["rescore_deals"] is None:
            from worker.service.rescore import request_deal_rescore

            state["rescore_deals"] = request_deal_rescore
        return state["rescore_deals"](crm, deal_ids, reason)

    def first_time(source: str, event_id: str) -> bool:
        return bool(get_redis().set(cfg.key("seen", source, event_id), 1, nx=True, ex=cfg.dedupe_ttl_seconds))

    async def fresh_body(
        request: Request, source: str, header: str, digits_only: bool
    ) -> tuple[bytes, str] | Response:
        """The body (413 above the size limit) and its timestamp header (401 when missing or older
        than the tolerance): the checks every signed endpoint makes before its signature."""
        try:
            body = await read_body(request, cfg.webhook_max_body_bytes)
        except TooLarge:
            WEBHOOK_EVENTS.labels(source, "too_large").inc()
            return bad(f"body larger than {cfg.webhook_max_body_bytes} bytes", 413)
        except Aborted:
            WEBHOOK_EVENTS.labels(source, "aborted").inc()
            log.info("%s webhook: the sender closed the connection mid-upload", source)
            return bad("upload aborted by the sender")
        timestamp = request.headers.get(header.lower(), "")
        usable = timestamp.isdigit() if digits_only else bool(timestamp)
        seconds = timestamp_seconds(timestamp) if usable else None
        if seconds is None or not fresh(seconds, cfg.webhook_tolerance_seconds):
            WEBHOOK_EVENTS.labels(source, "stale").inc()
            return bad(f"missing or stale {header}", 401)
        return body, timestamp

    async def hubspot(request: Request) -> Response:
        if cfg.hubspot_app_secret is None:
            return bad("HubSpot webhooks are not configured (OPPWORKER_HUBSPOT_APP_SECRET)", 503)
        checked = await fresh_body(request, "hubspot", "X-HubSpot-Request-Timestamp", digits_only=True)
        if isinstance(checked, Response):
            return checked
        body, timestamp = checked
        uri = str(request.url)
        if cfg.public_base_url:
            uri = (
                cfg.public_base_url.rstrip("/")
                + request.url.path
                + (f"?{request.url.query}" if request.url.query else "")
            )
        given = request.headers.get("x-hubspot-signature-v3")
        secret = cfg.hubspot_app_secret.get_secret_value()
        if not any(
            matches(hubspot_v3(secret, request.method, form, body, timestamp), given)
            for form in hubspot_uri_forms(uri)
        ):
            WEBHOOK_EVENTS.labels("hubspot", "bad_signature").inc()
            return bad("invalid X-HubSpot-Signature-v3", 401)
        try:
            raw = json.loads(body)
            if not isinstance(raw, list):
                raise ValueError("expected a JSON array of events")
            events = [HubSpotEvent.model_validate(item) for item in raw]
        except (ValueError, ValidationError, RecursionError) as exc:  # a 100,000-deep body is malformed too
            WEBHOOK_EVENTS.labels("hubspot", "malformed").inc()
            return bad(f"malformed body: {first_problem(exc)}")
        replayed, queued = await run_in_threadpool(accept_hubspot, events)  # Redis I/O off the event loop
        return JSONResponse({"received": len(events), "replayed": replayed, "rescore": queued})

    def accept_hubspot(events: list[HubSpotEvent]) -> tuple[int, int]:
        # De-duplicate on eventId + subscriptionId (HubSpot retries a failed delivery up to 10 times).
        ids = [f"{event.eventId}:{event.subscriptionId or ''}" for event in events]
        new = [(event_id, event) for event_id, event in zip(ids, events) if not seen("hubspot", event_id)]
        companies = sorted({str(e.objectId) for _, e in new if e.object_type == "company"})
        deals = sorted(
            {str(e.objectId) for _, e in new if e.object_type != "company" and e.deal_stage_change}
        )
        queued = do_rescore("hubspot", companies, "hubspot webhook") if companies else 0
        if deals:
            queued += do_rescore_deals("hubspot", deals, "hubspot deal stage webhook")
        accepted = sum(first_time("hubspot", event_id) for event_id, _ in new)  # after the enqueue
        replayed = len(events) - accepted
        WEBHOOK_EVENTS.labels("hubspot", "accepted").inc(accepted)
        WEBHOOK_EVENTS.labels("hubspot", "replayed").inc(replayed)
        return replayed, queued

    async def events(request: Request) -> Response:
        if cfg.events_secret is None:
            return bad("product events are not configured (OPPWORKER_EVENTS_SECRET)", 503)
        checked = await fresh_body(
            request, "events", "X-Zendesk-Webhook-Signature-Timestamp", digits_only=False
        )
        if isinstance(checked, Response):
            return checked
        body, timestamp = checked
        expected = zendesk_style(cfg.events_secret.get_secret_value(), body, timestamp)
        if not matches(expected, request.headers.get("x-zendesk-webhook-signature")):
            WEBHOOK_EVENTS.labels("events", "bad_signature").inc()
            return bad("invalid X-Zendesk-Webhook-Signature", 401)
        try:
            raw = json.loads(body)
            items = raw.get("events") if isinstance(raw, dict) else raw
            if not isinstance(items, list):
                raise ValueError('expected {"events": [...]} or a JSON array')
            parsed = [UsageEvent.model_validate(item) for item in items]
        except (ValueError, ValidationError, RecursionError) as exc:  # a 100,000-deep body is malformed too
            WEBHOOK_EVENTS.labels("events", "malformed").inc()
            return bad(f"malformed body: {first_problem(exc)}")
        signature = request.headers.get("x-zendesk-webhook-signature", "")
        replayed, queued = await run_in_threadpool(accept_events, signature, parsed)
        return JSONResponse({"received": len(parsed), "replayed": replayed, "rescore": queued})

    def accept_events(signature: str, parsed: list[UsageEvent]) -> tuple[int, int]:
        # A delivery retried by the sender carries the same signature: that is its identity.
        if seen("events", signature):
            WEBHOOK_EVENTS.labels("events", "replayed").inc(len(parsed))
            return len(parsed), 0
        store_usage(
            get_ledger(), cfg.events_crm, parsed
        )  # a failure here leaves it unseen: the retry stores it
        ids = sorted({e.account_id for e in parsed})
        queued = do_rescore(cfg.events_crm, ids, "product events") if ids else 0
        if not first_time("events", signature):  # a copy racing in did the same upserts: one counts
            WEBHOOK_EVENTS.labels("events", "replayed").inc(len(parsed))
            return len(parsed), queued
        WEBHOOK_EVENTS.labels("events", "accepted").inc(len(parsed))
        return 0, queued

    async def healthz(request: Request) -> Response:
        return await run_in_threadpool(health)

    def health() -> Response:
        checks: dict[str, str] = {}
        try:
            get_redis().ping()
            if cfg.broker != cfg.redis_url:  # RabbitMQ (CELERY_BROKER_URL) besides Redis
                from kombu import Connection

                with Connection(cfg.broker, connect_timeout=2) as connection:
                    connection.ensure_connection(max_retries=1)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        try:
            get_ledger().ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/webhooks/hubspot", hubspot, methods=["POST"]),
            Route("/webhooks/events", events, methods=["POST"]),
            pipedrive_route(first_time=first_time, rescore=do_rescore, settings=pipedrive),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


def now_ms() -> str:
    return str(int(time.time() * 1000))
