"""Issue #17, 'Nothing lost between the store and the answer': a webhook event is marked seen only
after its work succeeded, so the sender's retry after a failed store (or a failed enqueue) is
processed, not answered as a replay; a signed body nested 100,000 deep is a 400, not a 500; an
upload the sender aborts is one log line, not a traceback. Real Redis and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from redis import Redis
from starlette.testclient import TestClient

from tests.proof.test_webhook_fuzz import EVENTS_SECRET, SECRET, Recorder, sign_events, sign_hubspot
from worker.service.settings import ServiceSettings
from worker.store.ledger import Ledger
from worker.webhooks import create_app
from worker.webhooks.app import now_ms

pytestmark = pytest.mark.services


class FailingOnce(Ledger):
    """A real ledger whose first snapshot write fails, as a database restart would make it."""

    failures = 1

    def replace_snapshots(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database went away")
        return super().replace_snapshots(*args, **kwargs)


class RescoreFailingOnce(Recorder):
    failures = 1

    def __call__(self, crm: str, ids: list[str], reason: str) -> int:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("broker went away")
        return super().__call__(crm, ids, reason)


def _client(service_env: dict[str, str], ledger: Ledger, recorder: Recorder) -> TestClient:
    cfg = ServiceSettings(hubspot_app_secret=SECRET, events_secret=EVENTS_SECRET)
    app = create_app(
        cfg, rescore=recorder, redis_client=Redis.from_url(service_env["OPPWORKER_REDIS_URL"]), ledger=ledger
    )
    return TestClient(app, raise_server_exceptions=False)


def _events_delivery(body: bytes) -> dict[str, str]:
    timestamp = now_ms()
    return {
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": sign_events(body, timestamp),
        "Content-Type": "application/json",
    }


def test_a_usage_delivery_whose_store_failed_is_processed_when_retried(service_env: dict[str, str]) -> None:
    ledger = FailingOnce(service_env["OPPWORKER_DATABASE_URL"])
    recorder = Recorder()
    client = _client(service_env, ledger, recorder)
    body = json.dumps(
        {
            "events": [
                {"account_id": "acc-1", "metric": "api_calls", "value": 42, "time": "2026-11-28T10:00:00Z"}
            ]
        }
    ).encode()
    headers = _events_delivery(body)

    first = client.post("/webhooks/events", content=body, headers=headers)
    assert first.status_code == 500 and recorder.calls == []
    retry = client.post(
        "/webhooks/events", content=body, headers=headers
    )  # the sender's retry, same signature
    assert retry.status_code == 200 and retry.json() == {"received": 1, "replayed": 0, "rescore": 1}
    assert recorder.calls == [("files", ["acc-1"], "product events")]
    stored = ledger.snapshots("files", ["acc-1"])
    assert stored["acc-1"]["api_calls"][-1][1] == 42
    again = client.post("/webhooks/events", content=body, headers=headers)  # now it is a replay
    assert again.json()["replayed"] == 1 and len(recorder.calls) == 1


def test_a_hubspot_delivery_whose_enqueue_failed_is_processed_when_retried(
    service_env: dict[str, str],
) -> None:
    recorder = RescoreFailingOnce()
    client = _client(service_env, Ledger(service_env["OPPWORKER_DATABASE_URL"]), recorder)
    body = json.dumps(
        [{"eventId": 7001, "subscriptionId": 9, "subscriptionType": "company.propertyChange", "objectId": 55}]
    ).encode()
    timestamp = now_ms()
    headers = {
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": sign_hubspot(body, timestamp),
        "Content-Type": "application/json",
    }

    assert client.post("/webhooks/hubspot", content=body, headers=headers).status_code == 500
    retry = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert retry.status_code == 200 and retry.json() == {"received": 1, "replayed": 0, "rescore": 1}
    assert recorder.calls == [("hubspot", ["55"], "hubspot webhook")]
    assert client.post("/webhooks/hubspot", content=body, headers=headers).json()["replayed"] == 1


def test_a_signed_body_nested_100000_deep_is_a_400(service_env: dict[str, str]) -> None:
    recorder = Recorder()
    client = _client(service_env, Ledger(service_env["OPPWORKER_DATABASE_URL"]), recorder)
    body = b"[" * 100_000 + b"]" * 100_000
    events = client.post("/webhooks/events", content=body, headers=_events_delivery(body))
    assert events.status_code == 400 and "malformed body" in events.json()["error"]
    timestamp = now_ms()
    hubspot = client.post(
        "/webhooks/hubspot",
        content=body,
        headers={
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": sign_hubspot(body, timestamp),
        },
    )
    assert hubspot.status_code == 400 and recorder.calls == []


def test_an_aborted_upload_is_one_log_line(
    service_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    app = create_app(
        ServiceSettings(hubspot_app_secret=SECRET, events_secret=EVENTS_SECRET),
        rescore=Recorder(),
        redis_client=Redis.from_url(service_env["OPPWORKER_REDIS_URL"]),
        ledger=Ledger(service_env["OPPWORKER_DATABASE_URL"]),
    )
    sent: list[dict[str, Any]] = []
    messages = iter(
        [{"type": "http.request", "body": b'{"events": [', "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/events",
        "raw_path": b"/webhooks/events",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "http_version": "1.1",
    }
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert "mid-upload" in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
