"""Exactly-once for one conversation per account (issue #15): an account's offers are each their
own deal, the task is written once, for the lead offer, whatever order batches run in and wherever
a writer dies. Real outbox connector, real ledger (SQLite, and PostgreSQL where it runs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from connectors.files.connector import FileConnector
from domain import Contribution, FollowUpTask, JourneyStage, Opportunity, OpportunityKind
from domain.opportunity import task_marker
from playbooks.conversation import LISTING_HEADING, one_conversation
from tests.playbooks.factories import NOW
from worker.pipeline.writeback import WriteBack
from worker.store.ledger import Ledger


def offer(key: str, score: int) -> tuple[Opportunity, FollowUpTask]:
    account, playbook, code = key.split(":")
    opportunity = Opportunity(
        key=key,
        account_id=account,
        account_name="Test Co",
        kind=OpportunityKind.UPSELL,
        playbook=playbook,
        title=f"Test Co: {code} offer",
        offer=code,
        estimated_amount=1200,
        score=score,
        explanation=(Contribution("seats", 0.9, ">=", 0.8, score, f"{code} reason"),),
        owner_id="70001",
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 1),
    )
    task = FollowUpTask(
        opportunity_key=key,
        account_id=account,
        subject=f"{code} for Test Co",
        body=f"Why now: {code}\n\n{task_marker(key)}",
        due_date=date(2026, 11, 5),
        priority="MEDIUM",
        owner_id="70001",
    )
    return opportunity, task


GROUP = one_conversation([offer("a1:p1:seats", 90), offer("a1:p2:plan", 80), offer("a1:p3:support", 70)])


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path) -> Ledger:
    if request.param == "sqlite":
        return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    return Ledger(request.getfixturevalue("postgres_url"))


def write(
    ledger: Ledger, out: Path, pairs: Sequence[tuple[Opportunity, FollowUpTask]], batch: int
) -> WriteBack:
    writer = WriteBack(FileConnector(None, out), ledger, "files", "run-1", NOW, batch_size=batch)
    for pair in pairs:
        writer.add(*pair)
    writer.flush()
    return writer


def test_the_lead_task_lists_the_others_and_theirs_point_at_it():
    (lead, lead_task), *rest = GROUP
    assert lead_task.covers == ("a1:p2:plan", "a1:p3:support") and lead_task.lead_key is None
    assert [t.lead_key for _, t in rest] == [lead.key, lead.key]
    assert lead_task.subject == "seats for Test Co (+2 more offers)"
    assert lead_task.body.index(LISTING_HEADING) < lead_task.body.index("plan offer")
    assert lead_task.body.index("plan offer") < lead_task.body.index("support offer")
    assert lead_task.body.endswith(task_marker(lead.key))
    assert (
        "- plan offer: about USD 1,200.00, score 80. Why: plan reason\n  deal key a1:p2:plan"
        in lead_task.body
    )


@pytest.mark.parametrize("order", ["lead_first", "lead_last"])
def test_batches_in_any_order_write_one_task_and_finish_every_key(ledger, tmp_path, order):
    pairs = GROUP if order == "lead_first" else [*GROUP[1:], GROUP[0]]
    writer = write(ledger, tmp_path, pairs, batch=1)  # every key its own batch, as Celery may split them
    tasks, deals = lines(tmp_path / "outbox" / "tasks.jsonl"), lines(tmp_path / "outbox" / "deals.jsonl")
    assert [t["opportunity_key"] for t in tasks] == ["a1:p1:seats"] and len(deals) == 3
    assert (writer.tally.deals_created, writer.tally.tasks_created) == (3, 1)
    rows = ledger.rows("files", [o.key for o, _ in GROUP])
    assert {r["state"] for r in rows.values()} == {"done"}
    assert {r["task_id"] for r in rows.values()} == {tasks[0]["id"]}
    # a rerun of the same writes finds everything done: nothing more in the CRM
    write(ledger, tmp_path, GROUP, batch=100)
    assert len(lines(tmp_path / "outbox" / "tasks.jsonl")) == 1


class DiesBeforeTasks(FileConnector):
    def write_tasks(self, tasks, deal_ids):
        raise KeyboardInterrupt("killed between deal and task")


def test_a_crash_between_deals_and_the_shared_task_never_makes_a_second_task(ledger, tmp_path):
    writer = WriteBack(DiesBeforeTasks(None, tmp_path), ledger, "files", "run-1", NOW)
    for pair in GROUP:
        writer.add(*pair)
    with pytest.raises(KeyboardInterrupt):
        writer.flush()
    assert ledger.count_unfinished("files") == 3 and ledger.count("files", "deal_written") == 3
    resumed = WriteBack(FileConnector(None, tmp_path), ledger, "files", "run-2", NOW)
    resumed.resume_unfinished()
    assert resumed.tally.resumed == 3 and resumed.tally.tasks_created == 1
    assert ledger.count_unfinished("files") == 0
    assert len(lines(tmp_path / "outbox" / "tasks.jsonl")) == 1


def test_covered_keys_recorded_late_take_the_lead_task_on_resume(ledger, tmp_path):
    """A ledger where the lead's task is recorded but a covered key's is not (a pass that died
    between two steps of an older writer): the resume finds the lead's task, writes none."""
    write(ledger, tmp_path, GROUP[:1], batch=100)  # the lead alone: deal and task
    lead_task_id = ledger.rows("files", ["a1:p1:seats"])["a1:p1:seats"]["task_id"]
    writer = write(ledger, tmp_path, GROUP[1:], batch=100)
    assert writer.tally.tasks_created == 0 and writer.tally.deals_created == 2
    rows = ledger.rows("files", [o.key for o, _ in GROUP])
    assert {r["task_id"] for r in rows.values()} == {lead_task_id} and ledger.count_unfinished("files") == 0
