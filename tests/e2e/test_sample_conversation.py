"""Issue #15 item 2 on the bundled sample, as a user runs it (`oppworker run`, a fresh ledger and
outbox in a temp dir, the default caps): one conversation per account. No account gets two tasks
in a pass; an account with several offers gets one task that leads with its strongest offer and
lists the others, each still its own deal, written exactly once."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbooks.conversation import LISTING_HEADING
from worker.cli import cli
from worker.store.ledger import Ledger


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(
        cli, ["run", "--output-dir", str(out), "--json"], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_no_account_gets_two_tasks_and_every_deal_has_one(sample_run):
    out, report = sample_run
    deals, tasks = lines(out / "outbox" / "deals.jsonl"), lines(out / "outbox" / "tasks.jsonl")
    assert max(Counter(t["account_id"] for t in tasks).values()) == 1
    assert len(tasks) == report["tasks_created"] and len(deals) == report["deals_created"] > len(tasks)
    covered = [k for t in tasks for k in (t["opportunity_key"], *t["covers"])]
    assert sorted(covered) == sorted(d["key"] for d in deals)  # each deal on exactly one task
    by_key = {d["key"]: d for d in deals}
    for task in tasks:  # a task's offers are all of its own account
        assert {by_key[k]["account_id"] for k in (task["opportunity_key"], *task["covers"])} == {
            task["account_id"]
        }
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite3'}")
    assert ledger.count("files", "done") == len(deals) and ledger.count_unfinished("files") == 0


def test_the_shared_task_leads_with_the_strongest_offer_and_lists_the_others(sample_run):
    out, _ = sample_run
    deals = {d["key"]: d for d in lines(out / "outbox" / "deals.jsonl")}
    shared = [t for t in lines(out / "outbox" / "tasks.jsonl") if t["covers"]]
    assert shared, "the sample has accounts with two offers in one pass"
    ranks = {
        k: r["priority"]
        for k, r in Ledger(f"sqlite:///{out / 'ledger.sqlite3'}").rows("files", deals).items()
    }
    for task in shared:
        lead, others = deals[task["opportunity_key"]], [deals[k] for k in task["covers"]]
        assert task["deal_id"] == lead["id"]
        assert all(ranks[lead["key"]] >= ranks[o["key"]] for o in others)
        n = len(others)
        assert task["subject"].endswith(f"(+{n} more offer{'s' if n > 1 else ''})")
        body = task["body"]
        assert body.splitlines()[-1] == f"oppworker-key: {lead['key']}"  # the marker stays last
        listed = body[body.index(LISTING_HEADING) :]
        for other in others:
            offer = other["title"].removeprefix(f"{other['account_name']}: ")
            amount = f"about {other['currency']} {float(other['estimated_amount']):,.2f}"
            assert f"- {offer}: {amount}, score {other['score']}" in listed
            assert f"deal key {other['key']}" in listed
        assert f"deal key {lead['key']}" not in listed


def test_explain_says_already_open_and_names_the_deal_for_an_offer_already_written(sample_run):
    """Issue #15 item 6: a milestone is news once, so after the pass its playbook no longer fires
    for the account; explain must still say the offer is open, with the deal, not "does not fire"."""
    out, _ = sample_run
    deal = next(d for d in lines(out / "outbox" / "deals.jsonl") if d["playbook"] == "usage_milestone")
    result = CliRunner().invoke(
        cli, ["explain", deal["account_id"], "--output-dir", str(out)], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    verdict = next(line for line in result.output.splitlines() if line.startswith("usage_milestone "))
    assert "does not fire" not in verdict
    assert verdict.endswith(
        f"already open: deal {deal['key']} (CRM id {deal['id']}, written {deal['created_at'][:10]})"
    ), verdict
