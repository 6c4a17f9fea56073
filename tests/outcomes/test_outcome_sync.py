"""The outcome loop through real passes of the file connector: a team edits its `opportunities`
table (won, lost, task done) or deletes a deal from the outbox (the file connector's CRM), and the
next pass stores exactly those transitions."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.files.connector import FileConnector
from domain import ExistingOpportunity, OpportunityStatus
from tests.uncapped import UNCAPPED
from worker.outcomes.sync import store_for, sync_outcomes
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _deals(settings: Settings) -> list[dict]:
    path = settings.output_dir / "outbox" / "deals.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def _append_rows(folder: Path, rows: list[dict]) -> None:
    path = folder / "opportunities.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        fields = list(csv.DictReader(handle).fieldnames or [])
    fields += [f for f in ("amount", "lost_reason", "task_completed") if f not in fields]
    existing = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(existing + rows)


def test_open_to_won_lost_deleted_and_task_completed(sample_copy, tmp_path):
    settings = Settings(**UNCAPPED, output_dir=tmp_path / "out", data_dir=sample_copy)
    run_pass(settings, now=T0)
    deals = _deals(settings)
    won, lost, deleted, task_done, untouched = deals[0], deals[1], deals[2], deals[3], deals[4]
    run_pass(settings, now=T0 + timedelta(days=1))  # sees every new deal open
    store = store_for(Ledger(settings.ledger_url))
    assert {r["key"]: r["status"] for r in store.outcomes("files")}[won["key"]] == "open"

    closed = (T0 + timedelta(days=9)).isoformat()
    _append_rows(
        sample_copy,
        [
            {
                "key": won["key"],
                "status": "won",
                "closed_at": closed,
                "amount": "1234.50",
                "task_completed": "true",
            },
            {"key": lost["key"], "status": "lost", "closed_at": closed, "lost_reason": "no budget this year"},
            {"key": task_done["key"], "task_completed": "yes"},
        ],
    )
    outbox = settings.output_dir / "outbox" / "deals.jsonl"
    outbox.write_text(
        "".join(line + "\n" for line in outbox.read_text().splitlines() if deleted["key"] not in line)
    )
    later = T0 + timedelta(days=10)
    run_pass(settings, now=later)

    rows = {r["key"]: r for r in store.outcomes("files")}
    assert (rows[won["key"]]["status"], rows[won["key"]]["amount"], rows[won["key"]]["closed_at"]) == (
        "won",
        1234.5,
        T0 + timedelta(days=9),
    )
    assert rows[won["key"]]["task_completed"] and rows[won["key"]]["task_completed_at"] == later
    assert (rows[lost["key"]]["status"], rows[lost["key"]]["lost_reason"]) == ("lost", "no budget this year")
    assert rows[lost["key"]]["amount"] is None
    assert rows[deleted["key"]]["status"] == "deleted"
    assert rows[task_done["key"]]["status"] == "open" and rows[task_done["key"]]["task_completed"]
    assert rows[untouched["key"]]["status"] == "open" and not rows[untouched["key"]]["task_completed"]
    # The ledger's own facts survive: kind, score and stage of the deal as it was scored.
    assert rows[won["key"]]["kind"] == won["kind"] and rows[won["key"]]["score"] == won["score"]
    assert rows[won["key"]]["journey_stage"] == won["journey_stage"]

    def changes(key: str) -> list[tuple]:
        return [(e["field"], e["old"], e["new"], e["seen_at"]) for e in store.events("files", key)]

    first_seen = T0 + timedelta(days=1)
    assert changes(won["key"]) == [
        ("status", None, "open", first_seen),
        ("status", "open", "won", later),
        ("task", "open", "completed", later),
    ]
    assert changes(lost["key"]) == [("status", None, "open", first_seen), ("status", "open", "lost", later)]
    assert changes(deleted["key"]) == [
        ("status", None, "open", first_seen),
        ("status", "open", "deleted", later),
    ]
    assert changes(task_done["key"]) == [
        ("status", None, "open", first_seen),
        ("task", "open", "completed", later),
    ]
    assert changes(untouched["key"]) == [("status", None, "open", first_seen)]
    # A pass that sees no change stores no transition (only first sightings of deals the last pass wrote).
    count = len(store.events("files"))
    run_pass(settings, now=later + timedelta(days=1))
    fresh = store.events("files")[count:]
    assert all((e["field"], e["old"], e["new"]) == ("status", None, "open") for e in fresh)
    assert not {e["key"] for e in fresh} & set(rows)


def test_history_deals_the_ledger_never_saw_are_tracked_from_the_crm(tmp_path):
    settings = Settings(**UNCAPPED, output_dir=tmp_path)
    run_pass(settings)
    rows = {r["key"]: r for r in store_for(Ledger(settings.ledger_url)).outcomes("files")}
    assert rows["acc-0010:seat_expansion:seats"]["status"] == "lost"  # the cooldown showcase
    assert rows["acc-0011:seat_expansion:seats"]["status"] == "open"


class NoFacts:
    """A connector without the optional `read_deal_facts` (getattr finds nothing)."""


def test_without_deal_facts_a_won_deal_counts_its_estimate(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    payload = json.dumps(
        {
            "opportunity": {
                "estimated_amount": "500.00",
                "kind": "upsell",
                "score": 80,
                "journey_stage": "value_realised",
                "currency": "EUR",
            },
            "task": {},
        }
    )
    ledger.record_pending(
        "x",
        "run",
        [
            {
                "key": "a:p:o",
                "account_id": "a",
                "playbook": "p",
                "offer": "o",
                "kind": "upsell",
                "score": 80,
                "payload": payload,
            }
        ],
        T0,
    )
    ledger.record_deals("x", {"a:p:o": "d-1"}, T0)
    ledger.record_tasks("x", {"a:p:o": "t-1"}, T0)

    def listing(status: OpportunityStatus, closed: datetime | None = None) -> list[ExistingOpportunity]:
        return [
            ExistingOpportunity(
                key="a:p:o",
                account_id="a",
                playbook="p",
                offer="o",
                status=status,
                created_at=T0,
                closed_at=closed,
                crm_id="d-1",
            )
        ]

    first = sync_outcomes(ledger, "x", NoFacts(), listing(OpportunityStatus.OPEN), T0)
    assert first.transitions == {"new:open": 1}
    second = sync_outcomes(
        ledger, "x", NoFacts(), listing(OpportunityStatus.WON, T0 + timedelta(days=3)), T0 + timedelta(days=4)
    )
    assert second.transitions == {"open->won": 1}
    (row,) = store_for(ledger).outcomes("x")
    assert (row["status"], row["amount"], row["currency"], row["kind"]) == ("won", 500.0, "EUR", "upsell")
    # Deleted from the CRM after closing: the deletion is recorded, the close date is kept.
    third = sync_outcomes(ledger, "x", NoFacts(), [], T0 + timedelta(days=5))
    assert third.transitions == {"won->deleted": 1}
    (row,) = store_for(ledger).outcomes("x")
    assert row["status"] == "deleted" and row["closed_at"] == T0 + timedelta(days=3)


def test_file_connector_reads_account_history_and_skips_bad_rows(tmp_path):
    (tmp_path / "accounts.csv").write_text("id,name\na,A\n")
    (tmp_path / "account_history.csv").write_text(
        "account_id,valid_from,plan_rank,seats_purchased,seats_used,mrr\n"
        "a,2026-06-01,1,10,9,300\n"
        "a,2026-03-01,0,8,,100\n"
        "a,not-a-date,1,1,1,1\n"
        ",2026-01-01,1,1,1,1\n"
    )
    states = list(FileConnector(tmp_path, tmp_path / "out").read_account_history())
    assert [(s.valid_from.isoformat(), s.plan_rank, s.seats_purchased, s.seats_used) for s in states] == [
        ("2026-03-01", 0, 8, None),
        ("2026-06-01", 1, 10, 9),
    ]


def test_sync_outside_a_pass_for_the_nightly_job(sample_copy, tmp_path):
    from worker.outcomes.sync import sync_now

    settings = Settings(**UNCAPPED, output_dir=tmp_path / "out", data_dir=sample_copy)
    run_pass(settings, now=T0)
    first = sync_now(settings, "files", now=T0 + timedelta(days=1))
    assert first.transitions["new:open"] == len(_deals(settings))
    key = _deals(settings)[0]["key"]
    _append_rows(
        sample_copy, [{"key": key, "status": "won", "closed_at": (T0 + timedelta(days=2)).isoformat()}]
    )
    assert sync_now(settings, "files", now=T0 + timedelta(days=3)).transitions == {"open->won": 1}


def test_a_deal_written_minutes_ago_and_not_listed_yet_is_not_called_deleted(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.record_pending(
        "x",
        "run",
        [
            {
                "key": "a:p:o",
                "account_id": "a",
                "playbook": "p",
                "offer": "o",
                "kind": "upsell",
                "score": 80,
                "payload": "{}",
            }
        ],
        T0,
    )
    ledger.record_deals("x", {"a:p:o": "d-1"}, T0)
    assert sync_outcomes(ledger, "x", NoFacts(), [], T0 + timedelta(minutes=5)).transitions == {}
    assert store_for(ledger).outcomes("x") == []
    assert sync_outcomes(ledger, "x", NoFacts(), [], T0 + timedelta(hours=2)).transitions == {
        "new:deleted": 1
    }


class TaskStates:
    """A connector that reports task states by CRM task id (the HubSpot/Sell shape)."""

    def __init__(self, done: dict[str, bool]) -> None:
        self.done, self.asked = done, []

    def read_task_states(self, task_ids):
        self.asked.append(sorted(task_ids))
        return {t: v for t, v in self.done.items() if t in task_ids}


def test_task_completed_read_by_task_id(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    for key in ("a:p:o", "b:p:o"):
        ledger.record_pending(
            "x",
            "run",
            [
                {
                    "key": key,
                    "account_id": key[0],
                    "playbook": "p",
                    "offer": "o",
                    "kind": "upsell",
                    "score": 80,
                    "payload": "{}",
                }
            ],
            T0,
        )
        ledger.record_deals("x", {key: f"d-{key[0]}"}, T0)
        ledger.record_tasks("x", {key: f"t-{key[0]}"}, T0)
    listing = [
        ExistingOpportunity(key=k, account_id=k[0], playbook="p", offer="o", status=OpportunityStatus.OPEN)
        for k in ("a:p:o", "b:p:o")
    ]
    crm = TaskStates({"t-a": False, "t-b": False})
    sync_outcomes(ledger, "x", crm, listing, T0 + timedelta(days=1))
    crm.done["t-b"] = True
    later = T0 + timedelta(days=2)
    assert sync_outcomes(ledger, "x", crm, listing, later).transitions == {"task_completed": 1}
    assert crm.asked[-1] == ["t-a", "t-b"]
    rows = {r["key"]: r for r in store_for(ledger).outcomes("x")}
    assert (rows["b:p:o"]["task_completed"], rows["b:p:o"]["task_completed_at"]) == (True, later)
    assert not rows["a:p:o"]["task_completed"]


@pytest.mark.services
def test_outcome_loop_holdouts_and_report_on_postgresql(sample_copy, tmp_path, postgres_url):
    from datetime import date

    from tests.outcomes.conftest import playbooks_with_holdout
    from worker.outcomes.report import build_report

    dirs = playbooks_with_holdout(tmp_path / "playbooks", {"seat_expansion": 0.3})
    settings = Settings(
        **UNCAPPED,
        output_dir=tmp_path / "out",
        data_dir=sample_copy,
        database_url=postgres_url,
        playbook_dirs=[dirs],
        include_builtin_playbooks=False,
    )
    first = run_pass(settings, now=T0)
    run_pass(settings, now=T0 + timedelta(days=1))
    key = _deals(settings)[0]["key"]
    _append_rows(
        sample_copy,
        [
            {
                "key": key,
                "status": "won",
                "closed_at": (T0 + timedelta(days=5)).isoformat(),
                "amount": "99.00",
                "task_completed": "true",
            }
        ],
    )
    run_pass(settings, now=T0 + timedelta(days=6))
    store = store_for(Ledger(postgres_url))
    row = next(r for r in store.outcomes("files") if r["key"] == key)
    assert (row["status"], row["amount"], row["task_completed"]) == ("won", 99.0, True)
    assert len(store.holdouts("files")) >= first.holdout > 0  # later passes may add control accounts
    report = build_report(store, T0 + timedelta(days=7), since=date(2026, 1, 1), crm="files")
    assert report.total.won >= 1 and report.holdouts[0].playbook == "seat_expansion"
