from decimal import Decimal

import pytest

from domain import Contribution
from playbooks.assess import NEW, Assessor
from playbooks.engine import compile_playbook, score_playbook
from playbooks.guardrails import AccountHistory
from playbooks.loader import PlaybookError, load_catalog, load_playbook_text, load_playbooks
from playbooks.render import TASK_MARKER, render_explanation, top_reasons
from tests.playbooks.factories import NOW, account, weekly

BUILTIN = {p.id: p for p in load_playbooks([])}


def test_score_sums_matched_points_and_records_misses():
    compiled = compile_playbook(BUILTIN["seat_expansion"])
    score = score_playbook(
        compiled,
        {"seat_utilisation": 0.95, "usage_trend.active_users": 0.02, "activation": 0.85, "nps": None},
    )
    # 40 for the required seats; graded: a 2% trend is 0.02 / 0.25 of 10 (0.8, rounded down to 0),
    # activation 85% is (0.85 - 0.7) / (0.9 - 0.7) of 20 (14.99... in floating point: 14).
    assert score.score == 40 + 0 + 14
    assert score.qualifies
    by_signal = {c.signal: c for c in score.contributions()}
    assert by_signal["seat_utilisation"].points == 40 and by_signal["seat_utilisation"].observed == 0.95
    assert by_signal["usage_trend.active_users"].points == 0 and by_signal["activation"].points == 14
    assert sum(c.points for c in score.contributions()) == score.score
    assert by_signal["nps"].observed is None and by_signal["nps"].reason.startswith("NPS no data")
    assert by_signal["seat_utilisation"].reason == "95% of purchased seats are in use (threshold 90%)"


def test_required_signal_blocks_however_high_the_rest():
    compiled = compile_playbook(BUILTIN["seat_expansion"])
    score = score_playbook(
        compiled, {"seat_utilisation": 0.5, "usage_trend.active_users": 0.5, "activation": 0.9, "nps": 10}
    )
    assert (
        score.score == 10 + 20 + 5  # trend, activation and NPS all at full points
        and score.missing_required == ("seat_utilisation",)
        and not score.qualifies
    )


def test_render_lists_points_first_then_misses():
    contributions = (
        Contribution("a", 1, ">=", 1, 10, "small reason"),
        Contribution("b", 0, ">=", 1, 0, "missed reason"),
        Contribution("c", 9, ">=", 1, 40, "big reason"),
    )
    assert render_explanation(contributions).splitlines() == [
        "+ 40  big reason",
        "+ 10  small reason",
        "  0  (not met) missed reason",
    ]
    assert top_reasons(contributions, 1) == "big reason"


def test_opportunity_and_task_carry_amount_reasons_and_talking_points():
    assessor = Assessor([BUILTIN["seat_expansion"]], load_catalog())
    a = account(name="Northwind", seats_purchased=20, seats_used=20, mrr=600, plan="Team", plan_rank=1, nps=9)
    usage = {"active_users": weekly(4 * 18, 4 * 15)}
    (outcome,) = assessor.assess(a, usage, AccountHistory(), NOW).outcomes
    assert outcome.status == NEW
    opportunity, task = outcome.opportunity, outcome.task
    assert opportunity is not None and task is not None
    # 20 users * 1.2 headroom = 24 seats -> 4 more at 600/20 = 30 a month, for 12 months.
    assert opportunity.estimated_amount == Decimal("1440.00")
    # 40 seats + trend 20% of a full 25% (8 of 10) + activation 90% (full 20) + NPS 9 of a full 10 (3 of 5)
    assert opportunity.score == 71 and opportunity.kind.value == "upsell"
    assert (opportunity.close_date - NOW.date()).days == 30  # the playbook's close_in_days
    assert task.subject == "Seat expansion: Northwind is out of seats"
    assert "100% of purchased seats are in use" in task.body
    assert "- Offer 4 seats now so new joiners are not blocked." in task.body
    assert task.body.rstrip().endswith(f"{TASK_MARKER} {opportunity.key}")
    assert task.priority == "HIGH" and (task.due_date - NOW.date()).days == 3
    assert task.owner_id == a.owner_id == opportunity.owner_id


def test_partial_points_grow_from_the_floor_to_the_threshold():
    playbook = load_playbook_text(GRADED)
    compiled = compile_playbook(playbook)
    points = [
        score_playbook(compiled, {"seat_utilisation": 1.0, "nps": n}).gained[1] for n in (5, 6, 8, 9, 10)
    ]
    assert points == [0, 0, 10, 15, 20]  # (nps - 6) / (10 - 6) of 20, rounded down; full at 10
    scored = score_playbook(compiled, {"seat_utilisation": 1.0, "nps": 7})
    assert scored.score == 50 + 5 == sum(c.points for c in scored.contributions())


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("{signal: nps, operator: '>=', value: 8, partial_from: 9, points: 10, reason: r}", "must be below"),
        ("{signal: nps, operator: '<=', value: 8, partial_from: 7, points: 10, reason: r}", "must be above"),
        ("{signal: nps, operator: '==', value: 8, partial_from: 7, points: 10, reason: r}", "needs a number"),
        ("{signal: nps, value: 8, partial_from: 7, points: 10, required: true, reason: r}", "required"),
    ],
)
def test_partial_points_are_refused_where_they_cannot_mean_anything(condition, problem):
    text = GRADED.replace(
        "  - {signal: nps, operator: '>=', value: 10, partial_from: 6, points: 20, reason: r}",
        "  - " + condition,
    )
    with pytest.raises(PlaybookError, match=problem):
        load_playbook_text(text)


def test_every_builtin_task_says_the_chance_in_words():
    assessor = Assessor([BUILTIN["seat_expansion"]], load_catalog())
    a = account(name="Northwind", seats_purchased=20, seats_used=20, mrr=600, plan="Team", plan_rank=1, nps=9)
    (outcome,) = assessor.assess(a, {"active_users": weekly(4 * 18, 4 * 15)}, AccountHistory(), NOW).outcomes
    assert (
        outcome.task is not None and "of offers like this, about 1 in 5 of these close." in outcome.task.body
    )  # score 71 with no outcomes yet: the prior, 0.2 x (0.75 + 0.5 x 0.71) = 0.221
    assert all("$win_chance" in p.task.body for p in BUILTIN.values())


GRADED = """
id: graded
title: Graded
kind: upsell
offer: {type: seats}
signals:
  - {signal: seat_utilisation, operator: '>=', value: 0.9, points: 50, required: true, reason: r}
  - {signal: nps, operator: '>=', value: 10, partial_from: 6, points: 20, reason: r}
threshold: 50
amount: "seats_purchased"
task: {subject: "s", body: "b"}
"""


def test_a_task_body_states_no_unmet_signal_as_a_fact_and_not_met_phrases_them_as_unmet():
    """Issue #15 item 6: `$reasons` in a task holds the signals that scored; a miss's reason text
    reads as a fact about the customer ("NPS no data: a happy customer"). `$not_met` says what
    was seen and what was needed instead."""
    playbook = BUILTIN["seat_expansion"]
    a = account(name="Northwind", seats_purchased=20, seats_used=20, nps=None)
    usage = {"active_users": weekly(4 * 18, 4 * 15)}
    (outcome,) = Assessor([playbook], load_catalog()).assess(a, usage, AccountHistory(), NOW).outcomes
    assert outcome.status == NEW and outcome.task is not None
    missed = next(c for c in outcome.score.contributions() if c.signal == "nps")
    assert missed.points == 0 and missed.reason not in outcome.task.body
    assert "(not met)" not in outcome.task.body and "100% of purchased seats are in use" in outcome.task.body
    listing = playbook.task.model_copy(update={"body": "Not there yet:\n$not_met"})
    custom = playbook.model_copy(update={"task": listing})
    (outcome,) = Assessor([custom], load_catalog()).assess(a, usage, AccountHistory(), NOW).outcomes
    assert outcome.task is not None
    assert "Not there yet:\n- nps: no data, needs at least 10\n" in outcome.task.body


def test_the_task_names_the_main_contact_and_links_to_the_account_where_known():
    assessor = Assessor([BUILTIN["seat_expansion"]], load_catalog())
    usage = {"active_users": weekly(4 * 18, 4 * 15)}
    known = account(
        seats_used=20,
        main_contact="Ada Byron <ada@example.com>",
        crm_url="https://acme.pipedrive.com/organization/7",
    )
    (outcome,) = assessor.assess(known, usage, AccountHistory(), NOW).outcomes
    assert outcome.task is not None and outcome.opportunity is not None
    assert outcome.task.body.endswith(
        "Main contact: Ada Byron <ada@example.com>\nIn the CRM: https://acme.pipedrive.com/organization/7\n\n"
        f"{TASK_MARKER} {outcome.opportunity.key}"
    )
    (bare,) = assessor.assess(account(seats_used=20), usage, AccountHistory(), NOW).outcomes
    assert (
        bare.task is not None and "Main contact" not in bare.task.body and "In the CRM" not in bare.task.body
    )
