"""On the bundled sample, what customers said decides: two accounts get offers because of their
notes, one is protected by its email, and both show in the task body and in `oppworker explain`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbooks.loader import load_playbooks
from tests.uncapped import UNCAPPED
from worker.cli import cli
from worker.pipeline.explain import explain_account
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def sample_pass(tmp_path_factory):
    settings = Settings(**UNCAPPED, output_dir=tmp_path_factory.mktemp("out"))
    report = run_pass(settings)
    deals = lines(settings.output_dir / "outbox" / "deals.jsonl")
    tasks = {t["opportunity_key"]: t for t in lines(settings.output_dir / "outbox" / "tasks.jsonl")}
    return settings, report, deals, tasks


@pytest.mark.parametrize(
    ("account_id", "playbook", "signal", "quote"),
    [
        (
            "acc-0014",
            "plan_upgrade",
            "intent.plan_upgrade",
            '2026-10-21, call: "Ze vroeg wat het Business-abonnement extra biedt',
        ),
        (
            "acc-0058",
            "seat_expansion",
            "intent.more_seats",
            '2026-10-25, email: "Dzień dobry, od stycznia nasz zespół rośnie o sześć osób i potrzebujemy dodatkowych licencji."',
        ),
    ],
)
def test_an_account_gets_an_offer_because_of_what_it_said(sample_pass, account_id, playbook, signal, quote):
    _, _, deals, tasks = sample_pass
    deal = next(d for d in deals if d["account_id"] == account_id and d["playbook"] == playbook)
    points = {c["signal"]: c["points"] for c in deal["explanation"]}
    threshold = next(p for p in load_playbooks([]) if p.id == playbook).threshold
    assert points[signal] == 25
    assert deal["score"] >= threshold > deal["score"] - points[signal], "the words made the difference"
    body = tasks[deal["key"]]["body"]
    assert "In their words:\n- " + quote in body


def test_an_account_is_protected_because_of_what_it_said(sample_pass):
    settings, report, deals, _ = sample_pass
    assert not any(d["account_id"] == "acc-0019" for d in deals)
    assert report.suppressed["churn_risk"] >= 1
    assessment = explain_account(settings, "acc-0019")
    blocked = [o for o in assessment.outcomes if o.reason == "churn_risk"]
    assert blocked and all(o.score.qualifies for o in blocked)
    churn = assessment.heard.latest("churn_risk")
    assert (churn.language, churn.source) == ("de", "email")
    assert "testen gerade DeepL als Alternative" in churn.evidence


def test_the_complementary_task_quotes_the_question_about_the_recommended_product(sample_pass):
    _, _, deals, tasks = sample_pass
    deal = next(
        d for d in deals if d["account_id"] == "acc-0005" and d["playbook"] == "complementary_product"
    )
    assert deal["offer"] == "analytics"
    assert (
        '"They asked whether there are quality reports to compare their translation vendors."'
        in tasks[deal["key"]]["body"]
    )


def test_explain_prints_the_quotes_and_why_no_offer(sample_pass):
    settings, *_ = sample_pass
    runner = CliRunner()
    protected = runner.invoke(cli, ["explain", "acc-0019", "--output-dir", str(settings.output_dir)], obj={})
    assert protected.exit_code == 0, protected.output
    text = " ".join(protected.output.split())
    assert (
        'churn_risk (de, confidence 0.90) 2026-10-28, email: "Hallo, ehrlich gesagt sind wir mit den Ladezeiten unzufrieden'
        in text
    )
    assert "-> churn_risk said 5 days ago: no offer while it is under 90 days old." in text
    assert "suppressed (churn_risk)" in text
    offered = runner.invoke(cli, ["explain", "acc-0058", "--output-dir", str(settings.output_dir)], obj={})
    text = " ".join(offered.output.split())
    assert "more_seats (pl, confidence 0.95)" in text
    assert "+ 25 days since the customer said they need more seats: 8" in text
