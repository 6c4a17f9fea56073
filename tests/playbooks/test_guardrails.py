"""Every guardrail, each shown blocking an account the playbook would otherwise fire on."""

from datetime import timedelta

from domain import ExistingOpportunity, JourneyStage, OpportunityStatus
from playbooks.assess import ALREADY_OPEN, NEW, SUPPRESSED, Assessor
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.loader import load_catalog, load_playbook_text
from tests.playbooks.factories import NOW, TODAY, account, weekly

SEATS = """
id: seats_test
title: Seats
kind: upsell
offer: {type: seats}
signals:
  - {signal: seat_utilisation, operator: ">=", value: 0.9, points: 100, reason: "$observed seats used"}
threshold: 50
amount: "price_per_seat * suggested_seats * 12"
cooldown_days: 60
task: {subject: "Seats for $account_name", body: "$reasons"}
"""
SUPPORT = SEATS.replace("id: seats_test", "id: support_test").replace(
    "offer: {type: seats}", "offer: {type: product, code: premium_support}"
)
UPGRADE = SEATS.replace("id: seats_test", "id: upgrade_test").replace(
    "offer: {type: seats}", "offer: {type: next_plan}"
)

USAGE = {"active_users": weekly(4 * 18, 4 * 17)}  # 18 of 20 seats active: value realised


def assessor(*texts, cap=2):
    playbooks = [load_playbook_text(t) for t in (texts or (SEATS,))]
    return Assessor(playbooks, load_catalog(), guardrails=GuardrailPolicy(max_new_offers_per_30_days=cap))


def outcome(history=None, texts=(), cap=2, **fields):
    fields.setdefault("seats_used", 19)
    result = assessor(*texts, cap=cap).assess(account(**fields), USAGE, history or AccountHistory(), NOW)
    return result, result.outcomes


def previous(status, days_ago, playbook="seats_test", offer="seats", created_days_ago=None):
    return ExistingOpportunity(
        key=f"acc-1:{playbook}:{offer}",
        account_id="acc-1",
        playbook=playbook,
        offer=offer,
        status=status,
        created_at=NOW - timedelta(days=created_days_ago if created_days_ago is not None else days_ago + 30),
        closed_at=None if status is OpportunityStatus.OPEN else NOW - timedelta(days=days_ago),
    )


def test_fires_when_nothing_blocks():
    result, (only,) = outcome()
    assert result.stage is JourneyStage.VALUE_REALISED
    assert only.status == NEW and only.opportunity is not None
    assert only.opportunity.key == "acc-1:seats_test:seats"


def test_never_at_risk():
    assert outcome(nps=3)[1][0].reason == "at_risk"


def test_never_with_an_open_escalation():
    assert outcome(open_escalations=1)[1][0].reason == "open_escalation"


def test_never_during_onboarding():
    assert outcome(customer_since=TODAY - timedelta(days=20))[1][0].reason == "onboarding"


def test_never_before_value():
    result, (only,) = outcome(journey_stage="adopting")
    assert (only.status, only.reason) == (SUPPRESSED, "stage_not_eligible")


def test_never_what_the_account_already_owns():
    assert outcome(texts=(SUPPORT,), products="translate;premium_support")[1][0].reason == "already_owned"
    assert outcome(texts=(UPGRADE,), plan="Enterprise", plan_rank=3)[1][0].reason == "no_higher_plan"


def test_one_open_opportunity_per_account_and_playbook():
    history = AccountHistory([previous(OpportunityStatus.OPEN, 0, created_days_ago=45)])
    _, (only,) = outcome(history)
    assert (only.status, only.reason) == (ALREADY_OPEN, "acc-1:seats_test:seats")


def test_cooldown_after_a_lost_offer_then_a_new_cycle():
    inside = AccountHistory([previous(OpportunityStatus.LOST, 20)])
    assert outcome(inside)[1][0].reason == "cooldown"
    after = AccountHistory([previous(OpportunityStatus.LOST, 90)])
    _, (only,) = outcome(after)
    assert only.status == NEW
    assert only.opportunity is not None and only.opportunity.key == "acc-1:seats_test:seats:2"


def test_at_most_n_new_offers_per_30_days_strongest_first():
    _, outcomes = outcome(texts=(SEATS, SUPPORT, UPGRADE), cap=2)
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [NEW, NEW, SUPPRESSED]
    assert [o.reason for o in outcomes if o.status == SUPPRESSED] == ["offer_cap"]
    recent = AccountHistory(
        [previous(OpportunityStatus.WON, 5, playbook="other", offer="x", created_days_ago=10)]
    )
    _, outcomes = outcome(recent, texts=(SEATS, SUPPORT), cap=2)
    assert sorted(o.status for o in outcomes) == [NEW, SUPPRESSED]


def test_one_open_offer_per_need_across_playbooks():
    milestone = UPGRADE.replace("id: upgrade_test", "id: milestone_test")
    _, outcomes = outcome(texts=(UPGRADE, milestone), cap=5)
    assert sorted((o.status, o.reason) for o in outcomes) == [(NEW, None), (SUPPRESSED, "same_offer_open")]
    open_upgrade = AccountHistory(
        [
            previous(
                OpportunityStatus.OPEN, 0, playbook="upgrade_test", offer="plan:Business", created_days_ago=40
            )
        ]
    )
    _, outcomes = outcome(open_upgrade, texts=(milestone,), cap=5)
    assert (outcomes[0].status, outcomes[0].reason) == (SUPPRESSED, "same_offer_open")
