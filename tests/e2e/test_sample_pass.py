"""End to end on the bundled sample: named accounts get named offers for stated reasons, every
playbook fires somewhere, every guardrail blocks somewhere, and a rerun writes nothing new."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from connectors.files.connector import FileConnector
from playbooks.loader import load_playbooks
from tests.uncapped import UNCAPPED
from worker.pipeline.explain import explain_account
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def first_pass(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    settings = Settings(**UNCAPPED, output_dir=out)
    return settings, run_pass(settings)


def deals_of(settings: Settings) -> list[dict]:
    return lines(settings.output_dir / "outbox" / "deals.jsonl")


def tasks_of(settings: Settings) -> list[dict]:
    return lines(settings.output_dir / "outbox" / "tasks.jsonl")


def reasons(deal: dict) -> dict[str, int]:
    return {c["signal"]: c["points"] for c in deal["explanation"] if c["points"]}


@pytest.mark.parametrize(
    ("account_id", "playbook", "offer", "signal"),
    [
        ("acc-0001", "seat_expansion", "seats", "seat_utilisation"),
        ("acc-0002", "plan_upgrade", "plan:Team", "premium_feature_attempts"),
        ("acc-0003", "renewal_expansion", "term:multi_year", "days_to_renewal"),
        ("acc-0004", "usage_milestone", "plan:Business", "milestone_crossed.words_translated"),
        ("acc-0005", "complementary_product", "analytics", "co_purchase_confidence"),
        ("acc-0006", "premium_support", "premium_support", "seats_purchased"),
    ],
)
def test_named_accounts_get_named_opportunities(first_pass, account_id, playbook, offer, signal):
    settings, _ = first_pass
    deal = next(d for d in deals_of(settings) if d["account_id"] == account_id and d["playbook"] == playbook)
    assert deal["offer"] == offer
    assert signal in reasons(deal)
    assert deal["score"] >= next(p for p in load_playbooks([]) if p.id == playbook).threshold
    task = next(t for t in tasks_of(settings) if t["opportunity_key"] == deal["key"])
    assert task["deal_id"] == deal["id"] and task["owner_id"] == deal["owner_id"]
    assert f"oppworker-key: {deal['key']}" in task["body"]


@pytest.mark.parametrize(
    ("account_id", "playbook", "status", "reason"),
    [
        ("acc-0007", "seat_expansion", "suppressed", "onboarding"),
        ("acc-0008", "seat_expansion", "suppressed", "at_risk"),
        ("acc-0009", "seat_expansion", "suppressed", "open_escalation"),
        ("acc-0010", "seat_expansion", "suppressed", "cooldown"),
        ("acc-0011", "seat_expansion", "already_open", "acc-0011:seat_expansion:seats"),
        ("acc-0012", "plan_upgrade", "suppressed", "offer_cap"),
        ("acc-0013", "plan_upgrade", "suppressed", "stage_not_eligible"),
    ],
)
def test_named_accounts_are_protected_by_guardrails(first_pass, account_id, playbook, status, reason):
    settings, _ = first_pass
    assessment = explain_account(settings, account_id)
    assert assessment is not None
    outcome = next(o for o in assessment.outcomes if o.playbook.id == playbook)
    assert (outcome.status, outcome.reason) == (status, reason)
    assert not any(d["account_id"] == account_id and d["playbook"] == playbook for d in deals_of(settings))


def test_every_playbook_fires_and_every_guardrail_blocks(first_pass):
    _, report = first_pass
    assert set(report.new_by_playbook) == {p.id for p in load_playbooks([])}
    assert {
        "at_risk",
        "open_escalation",
        "onboarding",
        "stage_not_eligible",
        "already_owned",
        "cooldown",
        "offer_cap",
    } <= set(report.suppressed)
    assert report.already_open > 0
    assert report.skipped == {"invalid_account": 3, "duplicate_account_id": 1}
    assert report.defaulted["unknown_owner"] == 4
    assert report.accounts_read == 600 and report.scored == 600


def test_outbox_matches_the_report_exactly_once(first_pass):
    settings, report = first_pass
    deals, tasks = deals_of(settings), tasks_of(settings)
    assert len(deals) == len(tasks) == report.new == report.deals_created == report.tasks_created
    assert len({d["key"] for d in deals}) == len(deals)
    assert {t["opportunity_key"] for t in tasks} == {d["key"] for d in deals}
    per_account = Counter(d["account_id"] for d in deals)
    assert max(per_account.values()) <= settings.max_new_offers_per_30_days
    assert Ledger(settings.ledger_url).count("files", "done") == len(deals)


def test_rerun_writes_nothing_new(tmp_path):
    settings = Settings(**UNCAPPED, output_dir=tmp_path)
    first = run_pass(settings)
    incremental = run_pass(settings)
    assert incremental.mode == "incremental" and incremental.accounts_read == 0 and incremental.new == 0
    full = run_pass(settings, full=True)
    assert full.mode == "full" and full.accounts_read == 600
    assert (full.new, full.deals_created, full.tasks_created) == (0, 0, 0)
    # Most needs are still there and now open; a milestone is only news once, so those fall below.
    assert full.already_open >= first.new - first.new_by_playbook["usage_milestone"]
    assert len(deals_of(settings)) == first.new


class CrashAfterDeals(FileConnector):
    """Dies between the deal call and the task call, as a killed process would."""

    def write_tasks(self, tasks, deal_ids):
        raise KeyboardInterrupt("killed between deal and task")


def test_crash_between_deal_and_task_is_finished_by_the_next_pass(tmp_path):
    settings = Settings(**UNCAPPED, output_dir=tmp_path)
    crashing = CrashAfterDeals(None, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_pass(settings, connector=crashing)
    assert len(deals_of(settings)) == 100 and tasks_of(settings) == []  # the first batch's deals only
    ledger = Ledger(settings.ledger_url)
    assert ledger.count("files", "deal_written") == 100
    assert ledger.recent_runs(1)[0]["status"] == "failed"
    # Capacity planning (#15) promotes every candidate that fits before the first CRM call, so the
    # crashed pass left all of them to resume (100 with their deal, the rest pending), not only
    # the batch it was writing.
    unfinished = ledger.count_unfinished("files")
    assert unfinished == ledger.count("files", "deal_written") + ledger.count("files", "pending") == 472
    report = run_pass(settings)
    assert report.resumed == unfinished
    deals, tasks = deals_of(settings), tasks_of(settings)
    assert len({d["key"] for d in deals}) == len(deals)
    assert sorted(t["opportunity_key"] for t in tasks) == sorted(d["key"] for d in deals)
    assert ledger.count("files") == ledger.count("files", "done") == len(deals)


def test_dry_run_writes_nothing_and_shows_payloads(tmp_path):
    settings = Settings(**UNCAPPED, output_dir=tmp_path)
    report = run_pass(settings, dry_run=True)
    assert report.mode == "dry-run" and report.new > 0
    assert not (tmp_path / "outbox" / "deals.jsonl").exists()
    assert len(report.dry_run_payloads) == 2 * report.new
    first = report.dry_run_payloads[0]
    assert first["append"] == "deals.jsonl" and first["record"]["key"]
    assert Ledger(settings.ledger_url).count("files") == 0
    assert Ledger(settings.ledger_url).cursor("files") is None


@pytest.mark.services
def test_ledger_on_postgresql(tmp_path, postgres_url):
    settings = Settings(**UNCAPPED, output_dir=tmp_path, database_url=postgres_url)
    first = run_pass(settings)
    again = run_pass(settings, full=True)
    assert first.deals_created > 0 and again.deals_created == 0
    assert Ledger(postgres_url).count("files", "done") == first.new
