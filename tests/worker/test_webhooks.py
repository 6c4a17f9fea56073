"""The webhook receiver over HTTP (Starlette's TestClient), with the real Redis for de-duplication
and a real PostgreSQL ledger for product events. Re-score requests are recorded, not run: what is
asserted is what the receiver asks for (the worker side is covered by test_pass_graph.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from redis import Redis
from starlette.testclient import TestClient

from worker.service.settings import ServiceSettings
from worker.store.ledger import Ledger
from worker.webhooks import create_app

pytestmark = pytest.mark.services

SECRET = "hubspot-app-secret-for-tests"
EVENTS_SECRET = "product-events-secret"
URL = "http://testserver/webhooks/hubspot"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], str]] = []

    def __call__(self, crm: str, ids: list[str], reason: str) -> int:
        self.calls.append((crm, ids, reason))
        return len(ids)


@pytest.fixture
def setup(service_env: dict[str, str]) -> Any:
    cfg = ServiceSettings(hubspot_app_secret=SECRET, events_secret=EVENTS_SECRET, webhook_max_body_bytes=5000)
    recorder = Recorder()
    redis = Redis.from_url(service_env["OPPWORKER_REDIS_URL"])
    ledger = Ledger(service_env["OPPWORKER_DATABASE_URL"])
    client = TestClient(create_app(cfg, rescore=recorder, redis_client=redis, ledger=ledger))
    return client, recorder, ledger


def hubspot_signature(method: str, uri: str, body: bytes, timestamp: str, secret: str = SECRET) -> str:
    """Computed the documented way, independently of worker.webhooks.signatures:
    base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    message = f"{method}{uri}{body.decode()}{timestamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_post(
    client: TestClient, events: Any, *, age_seconds: float = 0, secret: str = SECRET, raw: bytes | None = None
):
    body = raw if raw is not None else json.dumps(events).encode()
    timestamp = str(int((time.time() - age_seconds) * 1000))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": hubspot_signature("POST", URL, body, timestamp, secret),
    }
    return client.post("/webhooks/hubspot", content=body, headers=headers)


def event(event_id: int, object_id: int, kind: str = "company.propertyChange") -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 25,
        "portalId": 33,
        "occurredAt": 1462216307945,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "propertyName": "usage_seats",
        "propertyValue": "42",
    }


def test_valid_hubspot_batch_enqueues_rescore_of_named_companies(setup: Any) -> None:
    client, recorder, _ = setup
    answer = hubspot_post(
        client, [event(1, 101), event(2, 102), event(3, 101), event(4, 900, "deal.creation")]
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 4, "replayed": 0, "rescore": 2}
    assert recorder.calls == [("hubspot", ["101", "102"], "hubspot webhook")]


def test_replayed_hubspot_events_are_not_enqueued_twice(setup: Any) -> None:
    client, recorder, _ = setup
    assert hubspot_post(client, [event(10, 201)]).status_code == 200
    again = hubspot_post(client, [event(10, 201)])
    assert again.status_code == 200
    assert again.json()["replayed"] == 1
    assert recorder.calls == [("hubspot", ["201"], "hubspot webhook")]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"secret": "wrong-secret"}, 401), ({"age_seconds": 301}, 401)],
    ids=["bad-signature", "stale-timestamp"],
)
def test_bad_signature_or_stale_timestamp_is_401_and_enqueues_nothing(
    setup: Any, kwargs: dict[str, Any], status: int
) -> None:
    client, recorder, _ = setup
    answer = hubspot_post(client, [event(20, 301)], **kwargs)
    assert answer.status_code == status
    assert "error" in answer.json()
    assert recorder.calls == []


def test_missing_signature_is_401(setup: Any) -> None:
    client, recorder, _ = setup
    answer = client.post(
        "/webhooks/hubspot",
        content=b"[]",
        headers={"X-HubSpot-Request-Timestamp": str(int(time.time() * 1000))},
    )
    assert answer.status_code == 401
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"{not json", "malformed"), (b'{"eventId": 1}', "array"), (b'[{"eventId": 1}]', "objectId")],
    ids=["not-json", "not-an-array", "missing-field"],
)
def test_malformed_body_is_400_with_a_reason(setup: Any, raw: bytes, reason: str) -> None:
    client, recorder, _ = setup
    answer = hubspot_post(client, None, raw=raw)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert recorder.calls == []


def test_oversize_body_is_413(setup: Any) -> None:
    client, recorder, _ = setup
    answer = hubspot_post(client, [event(i, i) for i in range(200)])
    assert answer.status_code == 413
    assert recorder.calls == []


def events_post(
    client: TestClient, payload: Any, *, secret: str = EVENTS_SECRET, timestamp: str | None = None
):
    body = json.dumps(payload).encode()
    timestamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    return client.post(
        "/webhooks/events",
        content=body,
        headers={
            "X-Zendesk-Webhook-Signature": signature,
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        },
    )


def test_product_events_are_stored_as_snapshots_and_rescored(setup: Any) -> None:
    client, recorder, ledger = setup
    payload = {
        "events": [
            {"account_id": "acc-1", "metric": "active_users", "value": 40, "time": "2026-11-20T10:00:00Z"},
            {"account_id": "acc-1", "metric": "active_users", "value": 42, "time": "2026-11-20T18:00:00Z"},
            {"account_id": "acc-1", "metric": "api_calls", "value": 9000, "time": "2026-11-20T18:00:00Z"},
            {"account_id": "acc-2", "metric": "active_users", "value": 7, "time": "2026-11-21T08:00:00Z"},
        ]
    }
    answer = events_post(client, payload)
    assert answer.status_code == 200, answer.text
    assert recorder.calls == [("files", ["acc-1", "acc-2"], "product events")]
    stored = ledger.snapshots("files", ["acc-1", "acc-2"])
    assert [v for _, v in stored["acc-1"]["active_users"]] == [42]  # the day's latest value
    assert [v for _, v in stored["acc-1"]["api_calls"]] == [9000]
    assert [v for _, v in stored["acc-2"]["active_users"]] == [7]
    # the same delivery again: accepted, nothing enqueued twice
    replay = client.post(
        "/webhooks/events", content=answer.request.content, headers=dict(answer.request.headers)
    )
    assert replay.status_code == 200 and replay.json()["replayed"] == 4
    assert len(recorder.calls) == 1


def test_product_events_reject_bad_signature_stale_time_and_bad_shape(setup: Any) -> None:
    client, recorder, _ = setup
    good = {"events": [{"account_id": "a", "metric": "m", "value": 1, "time": "2026-11-20T10:00:00Z"}]}
    assert events_post(client, good, secret="nope").status_code == 401
    assert events_post(client, good, timestamp="2020-01-01T00:00:00Z").status_code == 401
    bad = events_post(client, {"events": [{"account_id": "a", "metric": "m", "value": "lots"}]})
    assert bad.status_code == 400 and "malformed" in bad.json()["error"]
    assert recorder.calls == []


def test_healthz_and_metrics(setup: Any) -> None:
    client, _, _ = setup
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "broker": "ok", "database": "ok"}
    hubspot_post(client, [event(99, 1)])
    metrics = client.get("/metrics").text
    assert "oppworker_webhook_events_total" in metrics
    assert 'source="hubspot"' in metrics


def test_healthz_reports_an_unreachable_database(service_env: dict[str, str]) -> None:
    cfg = ServiceSettings(hubspot_app_secret=SECRET)
    app = create_app(
        cfg,
        rescore=Recorder(),
        redis_client=Redis.from_url(service_env["OPPWORKER_REDIS_URL"]),
        ledger=_UnreachableLedger(),
    )
    answer = TestClient(app).get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["database"].startswith("unreachable")


class _UnreachableLedger:
    """A ledger whose database refuses connections (port 1 on loopback: nothing listens)."""

    def __init__(self) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
        )


def test_uri_with_escapes_is_accepted_as_received_or_decoded(setup: Any) -> None:
    client, recorder, _ = setup
    body = json.dumps([event(500, 77)]).encode()
    timestamp = str(int(time.time() * 1000))
    received = "http://testserver/webhooks/hubspot?source=crm%3Aapp"
    for uri in (received, received.replace("%3A", ":")):  # both documented ways of hashing it
        headers = {
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": hubspot_signature("POST", uri, body, timestamp),
        }
        answer = client.post("/webhooks/hubspot?source=crm%3Aapp", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
    assert len(recorder.calls) == 1  # the second delivery is a replay of event 500
