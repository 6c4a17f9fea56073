"""The daily token budget shared by worker processes through Redis (real Redis)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import redis

from connectors.base import ReadReport
from connectors.pipedrive.limits import BudgetExhausted
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox
from worker.service.pipedrive_budget import RedisTokenBudget, attach_budget


@pytest.fixture
def client(redis_url: str):
    r = redis.Redis.from_url(redis_url)
    prefix = f"test-pd-budget-{uuid.uuid4().hex[:8]}"
    yield r, prefix
    for key in r.scan_iter(f"{prefix}*"):
        r.delete(key)
    r.close()


def test_two_processes_share_one_days_count_and_a_new_day_starts_afresh(client) -> None:
    r, prefix = client
    day = [date(2026, 11, 25)]
    first = RedisTokenBudget(r, prefix, 100, today=lambda: day[0])
    second = RedisTokenBudget(r, prefix, 100, today=lambda: day[0])
    first.charge(60)
    second.charge(30)
    with pytest.raises(BudgetExhausted) as info:
        first.charge(20)
    assert (info.value.spent, info.value.cost, info.value.allowed) == (90, 20, 100)
    assert first.spent == second.spent == 90  # the refused charge was undone
    second.charge(10)
    day[0] = date(2026, 11, 26)
    assert first.spent == 0 and first.remaining == 100


def test_a_connector_with_the_shared_budget_stops_when_the_others_spent_it(
    client, sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    r, prefix = client
    sandbox.generate_accounts(5, seed=3)
    shared = RedisTokenBudget(r, prefix, 35)
    shared.charge(30)  # another worker's spending today
    connector = make_connector()
    assert attach_budget(connector, shared)
    with pytest.raises(BudgetExhausted):
        list(connector.read_accounts(None, ReadReport()))  # the field list costs 10: 30 + 10 > 35
    assert shared.spent == 30 and sandbox.tokens_used == 0
