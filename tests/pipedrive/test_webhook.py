"""The Pipedrive webhook receiver: Basic credentials checked, replays de-duplicated by meta.id."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from worker.webhooks.pipedrive import (
    PipedriveWebhookSettings,
    accept,
    basic_credentials_match,
    parse_event,
    pipedrive_route,
)

PASSWORD = SecretStr("s3cret-pass")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def event(meta_id: str, entity: str = "organization", entity_id: int = 42, **extra: object) -> dict:
    return {
        "meta": {
            "id": meta_id,
            "action": "change",
            "entity": entity,
            "entity_id": entity_id,
            "attempt": 1,
            "company_id": 1,
            "webhook_id": 7,
            "version": "2.0",
        },
        "data": {"id": entity_id},
        "previous": {},
        **extra,
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("hook", "s3cret-pass"), True),
        (basic("hook", "s3cret-pasS"), False),
        (basic("Hook", "s3cret-pass"), False),
        (basic("hook", ""), False),
        ("Basic !!!not-base64", False),
        ("Bearer s3cret-pass", False),
        (None, False),
        ("", False),
    ],
)
def test_basic_credentials_match_only_the_exact_pair(header: str | None, expected: bool) -> None:
    assert basic_credentials_match(header, "hook", PASSWORD) is expected


def test_deal_events_rescore_the_deal_organization_even_on_delete() -> None:
    seen: set[str] = set()

    def first_time(source: str, event_id: str) -> bool:
        fresh = (source, event_id) not in seen
        seen.add((source, event_id))  # type: ignore[arg-type]
        return fresh

    change = parse_event(json.dumps(event("a", "deal", 5, data={"id": 5, "org_id": 42})).encode())
    deleted = parse_event(json.dumps(event("b", "deal", 5, data=None, previous={"org_id": 43})).encode())
    person = parse_event(json.dumps(event("c", "person", 9)).encode())
    assert accept(change, first_time).organizations == ["42"]
    assert accept(deleted, first_time).organizations == ["43"]
    assert accept(person, first_time).organizations == []
    assert accept(change, first_time).replayed is True


@pytest.fixture
def client() -> tuple[TestClient, list[tuple[str, list[str]]]]:
    seen: set[str] = set()
    queued: list[tuple[str, list[str]]] = []

    def first_time(source: str, event_id: str) -> bool:
        key = f"{source}:{event_id}"
        fresh = key not in seen
        seen.add(key)
        return fresh

    def rescore(crm: str, ids: list[str], reason: str) -> int:
        queued.append((crm, ids))
        return len(ids)

    route = pipedrive_route(
        first_time=first_time,
        rescore=rescore,
        settings=PipedriveWebhookSettings(user="hook", password=PASSWORD, max_body_bytes=2000),
    )
    return TestClient(Starlette(routes=[route])), queued


def test_receiver_accepts_once_and_answers_replays_without_requeueing(client) -> None:
    http, queued = client
    body = event("6f1c-uuid")
    first = http.post(
        "/webhooks/pipedrive", json=body, headers={"Authorization": basic("hook", "s3cret-pass")}
    )
    again = http.post(
        "/webhooks/pipedrive",
        json={**body, "meta": {**body["meta"], "attempt": 2}},
        headers={"Authorization": basic("hook", "s3cret-pass")},
    )
    assert first.status_code == 200 and first.json() == {"replayed": False, "rescore": 1}
    assert again.status_code == 200 and again.json() == {"replayed": True, "rescore": 0}
    assert queued == [("pipedrive", ["42"])]


def test_receiver_refuses_wrong_credentials_bad_bodies_and_big_bodies(client) -> None:
    http, queued = client
    wrong = http.post(
        "/webhooks/pipedrive", json=event("x"), headers={"Authorization": basic("hook", "nope")}
    )
    missing = http.post("/webhooks/pipedrive", json=event("y"))
    auth = {"Authorization": basic("hook", "s3cret-pass")}
    malformed = http.post("/webhooks/pipedrive", content=b"{not json", headers=auth)
    no_meta = http.post("/webhooks/pipedrive", json={"data": {}}, headers=auth)
    big = http.post("/webhooks/pipedrive", json={**event("z"), "pad": "x" * 3000}, headers=auth)
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert "s3cret" not in wrong.text
    assert malformed.status_code == 400 and "not JSON" in malformed.json()["error"]
    assert no_meta.status_code == 400 and "meta" in no_meta.json()["error"]
    assert big.status_code == 413
    assert queued == []


def test_receiver_is_off_until_credentials_are_configured() -> None:
    route = pipedrive_route(
        first_time=lambda s, e: True,
        rescore=lambda c, i, r: 0,
        settings=PipedriveWebhookSettings(user=None, password=None),
    )
    response = TestClient(Starlette(routes=[route])).post("/webhooks/pipedrive", json=event("a"))
    assert response.status_code == 503
