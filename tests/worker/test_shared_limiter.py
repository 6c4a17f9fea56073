"""The Redis-backed limiter: one budget across processes, on Redis's clock; plugs into ApiClient."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import pytest
from pydantic import SecretStr
from redis import Redis

from connectors.http import ApiClient
from connectors.registry import build_connector
from tests.sandboxes.server import Response, SandboxServer
from worker.service.limiter import ChainedLimiter, RedisSlidingWindowLimiter, attach

pytestmark = pytest.mark.services

MAX_CALLS, WINDOW = 5, 0.25


def _hammer(url: str, key: str, calls: int, queue: Any) -> None:
    limiter = RedisSlidingWindowLimiter(Redis.from_url(url), key, MAX_CALLS, WINDOW)
    grants = []
    for _ in range(calls):
        limiter.acquire()
        grants.append(limiter.last_grant_us)
    queue.put(grants)


def test_several_processes_together_stay_within_one_budget(redis_url: str) -> None:
    key = f"owtest:limit:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_hammer, args=(redis_url, key, 8, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    grants = sorted(g for _ in processes for g in queue.get(timeout=60))
    for process in processes:
        process.join(10)
    Redis.from_url(redis_url).delete(key)
    assert len(grants) == 32
    window_us = int(WINDOW * 1_000_000)
    # In any rolling window (measured on Redis's clock) there are at most MAX_CALLS grants: the
    # (i + MAX_CALLS)-th grant is at least one window after the i-th.
    gaps = [grants[i + MAX_CALLS] - grants[i] for i in range(len(grants) - MAX_CALLS)]
    assert min(gaps) >= window_us
    # and the budget is used, not starved: every process got all its calls
    assert all(process.exitcode == 0 for process in processes)


def test_waits_are_reported_and_budget_is_per_key(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    key = f"owtest:limit:{uuid.uuid4().hex}"
    slept: list[float] = []
    limiter = RedisSlidingWindowLimiter(client, key, 2, 60, sleep=slept.append)
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0
    other = RedisSlidingWindowLimiter(client, key + ":other", 2, 60)
    assert other.acquire() == 0.0  # another CRM's budget is untouched

    # A third call must wait about a minute: the fake sleep records it without waiting, then the
    # window is cleared to let the call through.
    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        client.delete(key)

    limiter._sleep = fake_sleep
    waited = limiter.acquire()
    assert 59 < slept[0] <= 60
    assert waited == slept[0]
    client.delete(key, key + ":other")


def test_plugs_into_api_client_and_into_built_connectors(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    key = f"owtest:limit:{uuid.uuid4().hex}"
    shared = RedisSlidingWindowLimiter(client, key, 100, 10)
    server = SandboxServer()
    server.route("GET", r"/ping")(lambda request: Response(200, {"ok": True}))
    with server:
        api = ApiClient(server.url, SecretStr("t0ken-value"), limiter=shared)
        assert api.request("GET", "/ping") == {"ok": True}
        api.close()
    assert client.zcard(key) == 1  # the call was counted in the shared window

    for crm in ("hubspot", "zendesk-sell"):
        connector = build_connector(crm, {"access_token": "t0ken-value", "base_url": "http://127.0.0.1:9"})
        local = connector.client.api.limiter
        assert attach(connector, shared)
        chained = connector.client.api.limiter
        assert isinstance(chained, ChainedLimiter) and chained.limiters == (local, shared)
        assert attach(connector, shared)  # attaching twice does not stack
        assert connector.client.api.limiter is chained
        connector.close()
    client.delete(key)
