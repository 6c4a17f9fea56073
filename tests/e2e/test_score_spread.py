"""Issue #15 item 4 on the bundled sample: scores discriminate (no score shared by more than 20% of
new opportunities), and ranking is by expected value, P(win) x amount."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from domain import Opportunity
from playbooks.calibration import OutcomeCount, WinChances
from tests.uncapped import UNCAPPED
from worker.pipeline.capacity import rank_value
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings


def test_no_score_is_shared_by_more_than_a_fifth_of_new_opportunities(tmp_path):
    report = run_pass(Settings(output_dir=tmp_path, **UNCAPPED), dry_run=True)
    scores = Counter(p["record"]["score"] for p in report.dry_run_payloads if p["append"] == "deals.jsonl")
    total = sum(scores.values())
    ((_, most),) = scores.most_common(1)
    assert total > 400 and most / total <= 0.20, scores.most_common(3)


def test_rank_value_is_the_calibrated_chance_times_the_amount(tmp_path):
    report = run_pass(Settings(output_dir=tmp_path, **UNCAPPED), dry_run=True)
    found = [p["record"] for p in report.dry_run_payloads if p["append"] == "deals.jsonl"]
    assert found
    opportunity = Opportunity.model_validate(found[0])
    chances = WinChances([OutcomeCount(opportunity.playbook, opportunity.score, None, 90, 100)])
    p = chances.probability(opportunity.playbook, opportunity.score, opportunity.journey_stage)
    assert rank_value(opportunity, chances) == p * float(opportunity.estimated_amount)
    # A likelier win outranks a larger but unlikely amount.
    small_sure = opportunity.model_copy(update={"estimated_amount": Decimal(1000)})
    large_unsure = opportunity.model_copy(update={"estimated_amount": Decimal(1500), "playbook": "other"})
    assert rank_value(small_sure, chances) > rank_value(large_unsure, chances)
