"""Deal-stage webhooks (issue #11): the receiver enqueues the deal ids as they are, never calling
HubSpot; a starting pass takes flagged accounts and deals together and resolves deals to companies
(tests/hubspot/test_revisits.py covers the lookup)."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis
from starlette.testclient import TestClient

from tests.worker.test_enqueue import _queued
from tests.worker.test_webhooks import EVENTS_SECRET, SECRET, Recorder, event, hubspot_post
from worker.service.settings import ServiceSettings
from worker.store.ledger import Ledger
from worker.webhooks import create_app

pytestmark = pytest.mark.services


@pytest.fixture
def receiver(service_env: dict[str, str]) -> Any:
    cfg = ServiceSettings(hubspot_app_secret=SECRET, events_secret=EVENTS_SECRET, webhook_max_body_bytes=5000)
    companies, deals = Recorder(), Recorder()
    app = create_app(
        cfg,
        rescore=companies,
        rescore_deals=deals,
        redis_client=Redis.from_url(service_env["OPPWORKER_REDIS_URL"]),
        ledger=Ledger(service_env["OPPWORKER_DATABASE_URL"]),
    )
    return TestClient(app), companies, deals


def stage_change(
    event_id: int, deal_id: int, *, generic: bool = False, prop: str = "dealstage"
) -> dict[str, Any]:
    body = event(event_id, deal_id, "object.propertyChange" if generic else "deal.propertyChange")
    body.update(propertyName=prop, propertyValue="closedwon")
    if generic:  # a 2026.03 project app's crmObjects subscription (connectors/hubspot/project)
        body["objectTypeId"] = "0-3"
    return body


def test_deal_stage_changes_enqueue_their_deals_and_nothing_else_about_deals(receiver: Any) -> None:
    client, companies, deals = receiver
    answer = hubspot_post(
        client,
        [
            stage_change(1, 900),
            stage_change(2, 901, generic=True),
            stage_change(3, 900),
            stage_change(4, 902, prop="amount"),  # not a stage change
            event(5, 903, "deal.creation"),  # our own deals echo back as creations: ignored
            event(6, 101),
        ],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 6, "replayed": 0, "rescore": 3}
    assert companies.calls == [("hubspot", ["101"], "hubspot webhook")]
    assert deals.calls == [("hubspot", ["900", "901"], "hubspot deal stage webhook")]
    again = hubspot_post(client, [stage_change(1, 900)])
    assert again.json()["replayed"] == 1 and len(deals.calls) == 1


def test_flagged_deals_queue_one_pass_and_are_taken_with_the_accounts(service_env: dict[str, str]) -> None:
    from worker.service.rescore import follow_up_rescore, request_deal_rescore, request_rescore, take_flagged

    assert request_deal_rescore("hubspot", ["900", "901"], "deal webhook") == 2
    assert request_rescore("hubspot", ["101"], "webhook") == 1
    assert len(_queued(service_env)) == 1  # debounced together
    flagged = take_flagged("hubspot")
    assert (flagged.accounts, flagged.deals, len(flagged)) == (["101"], ["900", "901"], 3)
    assert len(take_flagged("hubspot")) == 0  # taken once
    request_deal_rescore("hubspot", ["902"], "deal webhook")
    from worker.service.resources import redis_client
    from worker.service.settings import service_settings

    redis_client().delete(service_settings().key("rescore", "hubspot", "queued"))  # the debounce has passed
    assert follow_up_rescore("hubspot") is not None  # a flagged deal alone is worth a follow-up pass
