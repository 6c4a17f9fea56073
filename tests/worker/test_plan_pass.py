"""The planning step over a real ledger decides exactly what the pure rule decides in memory.

`plan_pass` never holds the candidates: the database ranks each account's best offer and counts
its offers (`CandidateStore.leads`), and promotions are stored a batch of accounts at a time. This
holds it to `plan`, the in-memory rule tests/worker/test_capacity.py pins down, on SQLite and
PostgreSQL: ties in rank value and score broken by key in code-point order (mixed case, digits and
punctuation, where a locale's collation would differ), several offers per account, accounts
without an owner, caps, a fallback owner, one task per offer, and batches that end mid-stream.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain import FollowUpTask, JourneyStage, Opportunity, OpportunityKind
from domain.opportunity import task_marker
from worker.pipeline import capacity
from worker.pipeline.capacity import CapacityPolicy, plan, plan_pass
from worker.pipeline.settings import Settings
from worker.pipeline.writeback import pending_rows
from worker.store.candidates import CandidateStore, WaitingCandidate
from worker.store.ledger import Ledger
from worker.store.schema import PENDING, WAITING, opportunities

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
DRAFTED = date(2026, 11, 20)
CRM = "files"


def offer(key: str, account: str, owner: str | None, score: int) -> tuple[Opportunity, FollowUpTask]:
    playbook, code = key.split(":")[1:3]
    opportunity = Opportunity(
        key=key,
        account_id=account,
        kind=OpportunityKind.UPSELL,
        playbook=playbook,
        title=code,
        offer=code,
        estimated_amount=100,
        score=score,
        explanation=(),
        owner_id=owner,
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 1),
    )
    task = FollowUpTask(
        opportunity_key=key,
        account_id=account,
        subject=code,
        body=f"{code}\n\n{task_marker(key)}",
        due_date=DRAFTED,
        priority="MEDIUM",
        owner_id=owner,
    )
    return opportunity, task


def generated(seed: int) -> list[tuple[WaitingCandidate, tuple[Opportunity, FollowUpTask]]]:
    rng = random.Random(seed)
    out = []
    for n in range(160):
        account = rng.choice(["a", "A", "b", "_", "B", "a-", "a.", "Z"]) + str(n)
        owner = rng.choice(["o1", "o2", "o3", "O1", None])
        for p in range(rng.choice([1, 1, 2, 3])):
            key = f"{account}:p{p}:x{rng.choice(['a', 'B', '_'])}"
            priority, score = float(rng.choice([100, 250, 400])), rng.choice([50, 60])
            # Now and then an offer of the account with another owner (an earlier pass's owner).
            mine = owner if rng.random() > 0.1 else rng.choice(["o2", None])
            out.append(
                (WaitingCandidate(key, account, mine, priority, score), offer(key, account, mine, score))
            )
    return out


def store(ledger: Ledger, items: list[tuple[WaitingCandidate, tuple[Opportunity, FollowUpTask]]]) -> None:
    rows = pending_rows([pair for _, pair in items])
    for row, (candidate, _) in zip(rows, items, strict=True):
        row["owner_id"], row["priority"] = candidate.owner_id, candidate.priority
    accounts = sorted({c.account_id for c, _ in items})
    CandidateStore(ledger.engine).replace_for_accounts(CRM, "run-0", accounts, rows, NOW)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path: Path) -> Ledger:
    if request.param == "sqlite":
        return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    return Ledger(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize(
    ("caps", "fallback", "per_account"),
    [
        ({"tasks_per_owner_per_week": 7, "open_tasks_per_owner": 25}, None, True),
        ({"tasks_per_owner_per_week": 7, "open_tasks_per_owner": 25}, "queue", True),
        ({"tasks_per_owner_per_week": 5, "open_tasks_per_owner": None}, None, False),
        ({"tasks_per_owner_per_week": None, "open_tasks_per_owner": None}, None, True),
    ],
    ids=["capped", "fallback", "task-per-offer", "uncapped"],
)
def test_plan_pass_promotes_what_the_pure_rule_chooses(
    ledger: Ledger, tmp_path: Path, monkeypatch, caps, fallback, per_account
) -> None:
    monkeypatch.setattr(capacity, "PROMOTE_BATCH", 7)  # batches end mid-stream and mid-owner
    items = generated(seed=11)
    store(ledger, items)
    settings = Settings(
        output_dir=tmp_path, fallback_owner_id=fallback, one_task_per_account=per_account, **caps
    )
    policy = CapacityPolicy.from_settings(settings)
    expected = plan([c for c, _ in items], {}, policy, NOW)

    batches: list[int] = []
    got = plan_pass(ledger, CRM, "run-1", settings, NOW, on_batch=lambda: batches.append(1))

    assert (got.planned, got.waiting, got.no_owner, got.per_owner) == (
        expected.planned,
        expected.waiting,
        expected.no_owner,
        expected.per_owner,
    )
    assert got.planned == len(expected.chosen) > 0
    # Progress after every stored batch, for the Celery watchdog (worker/service/watch.py).
    assert len(batches) == math.ceil(sum(p.lead_key is None for p in expected.chosen) / 7)
    if caps["tasks_per_owner_per_week"] is not None:
        assert got.waiting > 0  # the caps bit: the order decided who got the room
    with ledger.engine.connect() as db:
        rows = db.execute(
            select(
                opportunities.c.key,
                opportunities.c.state,
                opportunities.c.owner_id,
                opportunities.c.lead_key,
                opportunities.c.payload,
            )
        ).all()
    promoted = {
        key: (owner, lead, json.loads(payload)["task"]["due_date"])
        for key, state, owner, lead, payload in rows
        if state == PENDING
    }
    assert promoted == {
        p.key: (p.owner_id, p.lead_key, (p.due_date or DRAFTED).isoformat()) for p in expected.chosen
    }
    assert sum(state == WAITING for _, state, *_ in rows) == expected.waiting
