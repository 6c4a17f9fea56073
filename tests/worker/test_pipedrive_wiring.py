"""Pipedrive wired into the service: the app serves /webhooks/pipedrive (Basic credentials, replays
de-duplicated in the shared Redis by `meta.id`), and open_connector shares its daily token budget."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import SecretStr
from redis import Redis
from starlette.testclient import TestClient

from worker.service.settings import ServiceSettings
from worker.webhooks import create_app
from worker.webhooks.pipedrive import PipedriveWebhookSettings


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_service_app_mounts_the_pipedrive_receiver(service_env: dict[str, str]) -> None:
    calls: list[tuple[str, list[str], str]] = []

    def rescore(crm: str, ids: list[str], reason: str) -> int:
        calls.append((crm, ids, reason))
        return len(ids)

    app = create_app(
        ServiceSettings(),
        rescore=rescore,
        redis_client=Redis.from_url(service_env["OPPWORKER_REDIS_URL"]),
        ledger=None,
        pipedrive=PipedriveWebhookSettings(user="hook", password=SecretStr("pd-hook-pass")),
    )
    http = TestClient(app)
    body: dict[str, Any] = {
        "meta": {
            "id": "e-1",
            "action": "change",
            "entity": "deal",
            "entity_id": 5,
            "attempt": 1,
            "version": "2.0",
        },
        "data": {"id": 5, "org_id": 77},
        "previous": {},
    }
    auth = {"Authorization": basic("hook", "pd-hook-pass")}
    first = http.post("/webhooks/pipedrive", json=body, headers=auth)
    retried = http.post(
        "/webhooks/pipedrive", json={**body, "meta": {**body["meta"], "attempt": 2}}, headers=auth
    )
    refused = http.post("/webhooks/pipedrive", json=body, headers={"Authorization": basic("hook", "wrong")})
    assert first.json() == {"replayed": False, "rescore": 1}
    assert retried.json() == {"replayed": True, "rescore": 0}
    assert refused.status_code == 401 and "pd-hook-pass" not in refused.text
    assert calls == [("pipedrive", ["77"], "pipedrive webhook")]


def test_open_connector_gives_pipedrive_one_daily_budget_shared_through_redis(
    service_env: dict[str, str],
) -> None:
    """Two workers opening the same Pipedrive account count one day's tokens in one Redis key."""
    from connectors.capabilities import SharesDailyBudget
    from worker.pipeline.settings import Settings
    from worker.service.connections import open_connector
    from worker.service.pipedrive_budget import RedisTokenBudget

    options = {
        "api_token": "pd-token-for-budget-test",
        "base_url": "http://127.0.0.1:9",
        "plan": "lite",
        "seats": 2,
        "budget_share": 0.5,
    }
    settings = Settings(crm={"pipedrive": options})
    first, second = open_connector(settings, "pipedrive"), open_connector(settings, "pipedrive")
    assert isinstance(first, SharesDailyBudget)
    budgets = [first.client.budget, second.client.budget]
    assert all(isinstance(b, RedisTokenBudget) for b in budgets)
    assert budgets[0].allowed == 30_000 * 1 * 2 // 2
    assert "pd-token-for-budget-test" not in budgets[0].key and budgets[0].key.startswith(
        service_env["OPPWORKER_KEY_PREFIX"]
    )
    budgets[0].charge(25)
    assert budgets[1].spent == 25 and budgets[1].remaining == 30_000 - 25
