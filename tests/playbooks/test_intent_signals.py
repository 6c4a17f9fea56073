"""What customers said moves scores and blocks offers, with their words on the task: the
built-in playbooks, real lexicons, no mocks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import Conversation
from playbooks.affinity import AffinityModel
from playbooks.assess import BELOW_THRESHOLD, NEW, SUPPRESSED, Assessor
from playbooks.guardrails import AccountHistory
from playbooks.intent_signals import Listener, ListeningPolicy
from playbooks.intents import build_detector
from playbooks.loader import load_catalog, load_playbook_text, load_playbooks
from tests.playbooks.factories import NOW, account, weekly

# 19 of 20 seats used, but only 12 active and flat usage: seat expansion scores 41 of the 51 it needs.
USAGE = {"active_users": weekly(4 * 12, 4 * 12)}


@pytest.fixture(scope="module")
def listener() -> Listener:
    return Listener(build_detector(load_catalog()), ListeningPolicy(churn_days=90))


def note(text: str, days_ago: int, source: str = "note", id: str = "n1") -> Conversation:
    return Conversation(
        id=id, account_id="acc-1", created_at=NOW - timedelta(days=days_ago), source=source, text=text
    )


def seats(listener: Listener | None, conversations, **fields):
    playbooks = [p for p in load_playbooks([]) if p.id == "seat_expansion"]
    fields.setdefault("seats_used", 19)
    fields.setdefault("nps", 7)  # passive: no NPS points, not at risk
    assessor = Assessor(playbooks, load_catalog(), listener=listener)
    result = assessor.assess(account(**fields), USAGE, AccountHistory(), NOW, conversations=conversations)
    (outcome,) = result.outcomes
    return result, outcome


def test_without_conversations_the_account_stays_below_the_bar(listener) -> None:
    _, outcome = seats(listener, [])
    assert outcome.status == BELOW_THRESHOLD
    assert outcome.score.score == 41  # 40 for the seats, 1 of NPS 7's graded points (60% active: none)


def test_a_request_for_seats_adds_points_with_its_age_and_the_task_quotes_it(listener) -> None:
    said = "Great call. Their team grows from 20 to 32 people in January, so they need 12 more licences."
    result, outcome = seats(listener, [note(said, 9, source="call", id="c-77")])
    assert result.signals["intent.more_seats"] == 9.0
    assert outcome.status == NEW and outcome.score.score == 66
    reasons = {c.signal: c for c in outcome.opportunity.explanation}
    assert reasons["intent.more_seats"].points == 25
    assert reasons["intent.more_seats"].reason == "days since the customer said they need more seats: 9"
    quoted = (
        '2026-10-24, call: "Their team grows from 20 to 32 people in January, so they need 12 more licences."'
    )
    assert "In their words:\n- " + quoted in outcome.task.body
    assert outcome.task.body.index("In their words") < outcome.task.body.index("oppworker-key:")


def test_a_stale_request_gives_no_points(listener) -> None:
    result, outcome = seats(listener, [note("They need 12 more licences.", 60)])
    assert result.signals["intent.more_seats"] == 60.0
    assert outcome.status == BELOW_THRESHOLD


def test_a_negated_request_is_not_heard(listener) -> None:
    result, outcome = seats(listener, [note("Nie potrzebujemy w tym roku więcej licencji.", 3)])
    assert result.signals["intent.more_seats"] is None
    assert result.heard is not None and result.heard.mentions == ()
    assert outcome.status == BELOW_THRESHOLD


def test_recent_churn_risk_blocks_the_offer_and_keeps_the_quote(listener) -> None:
    conversations = [
        note("They need 12 more licences for the new office.", 9, id="n1"),
        note("Ils envisagent de résilier le contrat, trop de pannes ce mois-ci.", 4, source="email", id="e2"),
    ]
    result, outcome = seats(listener, conversations, seats_used=20, nps=9)
    assert outcome.score.qualifies
    assert (outcome.status, outcome.reason) == (SUPPRESSED, "churn_risk")
    assert outcome.opportunity is None and outcome.task is None
    churn = result.heard.latest("churn_risk")
    assert (churn.conversation_id, churn.source, churn.language) == ("e2", "email", "fr")
    assert churn.quote().startswith('2026-10-29, email: "Ils envisagent de résilier le contrat')


def test_old_churn_risk_no_longer_blocks(listener) -> None:
    conversations = [
        note("They need 12 more licences.", 9),
        note("Procurement wants to cancel.", 200, id="n2"),
    ]
    _, outcome = seats(
        Listener(listener.detector, ListeningPolicy(lookback_days=365, churn_days=90)), conversations
    )
    assert outcome.status == NEW


def test_conversations_are_ignored_without_a_listener() -> None:
    result, outcome = seats(None, [note("They need 12 more licences.", 9)])
    assert result.heard is None and result.signals["intent.more_seats"] is None
    assert outcome.status == BELOW_THRESHOLD


def test_notes_after_now_and_before_the_lookback_are_not_read(listener) -> None:
    heard = listener.hear(
        [note("Need 12 more licences.", -3), note("Need 4 more licences.", 400, id="n2")], NOW.date()
    )
    assert heard.mentions == ()


COMPLEMENTARY = [p for p in load_playbooks([]) if p.id == "complementary_product"]


def test_asking_for_the_recommended_product_raises_complementary_product(listener) -> None:
    # Of 10 glossary owners, 6 bought connectors too; of 20 others, 2 did.
    baskets = (
        [["glossary", "connectors"]] * 6 + [["glossary"]] * 4 + [["connectors"]] * 2 + [["translate"]] * 18
    )
    assessor = Assessor(COMPLEMENTARY, load_catalog(), AffinityModel.from_baskets(baskets), listener=listener)
    customer = account(products="glossary", nps=7, customer_since=NOW.date() - timedelta(days=90))
    usage = {"active_users": weekly(4 * 12, 4 * 12)}
    quiet = assessor.assess(customer, usage, AccountHistory(), NOW, conversations=[])
    asked = assessor.assess(
        customer,
        usage,
        AccountHistory(),
        NOW,
        conversations=[
            note("Habt ihr einen Konnektor für WordPress? Sie kopieren alles von Hand.", 5),
            note("Do you have SSO?", 2, id="n2"),  # another product: not the recommendation
        ],
    )
    assert quiet.outcomes[0].status == BELOW_THRESHOLD
    (outcome,) = asked.outcomes
    assert asked.signals["asked_for_recommended"] == 5.0
    assert outcome.score.score == quiet.outcomes[0].score.score + 10
    assert outcome.status == NEW and outcome.opportunity.offer == "connectors"
    assert (
        "email" not in outcome.task.body and '"Habt ihr einen Konnektor für WordPress?"' in outcome.task.body
    )


def test_interest_in_a_product_already_owned_is_not_a_signal(listener) -> None:
    text = """
id: ask_test
title: Asked
kind: cross_sell
offer: {type: product, code: security}
signals:
  - {signal: intent, metric: product_interest, operator: "<=", value: 30, points: 100, reason: "asked $observed days ago"}
threshold: 50
amount: "offer_monthly_price * 12"
task: {subject: "x", body: "$reasons"}
"""
    assessor = Assessor([load_playbook_text(text)], load_catalog(), listener=listener)
    said = [note("Do you offer SSO with Okta?", 3)]
    owns = assessor.assess(
        account(products="translate,security"), USAGE, AccountHistory(), NOW, conversations=said
    )
    lacks = assessor.assess(account(products="translate"), USAGE, AccountHistory(), NOW, conversations=said)
    assert owns.signals["intent.product_interest"] is None
    assert lacks.signals["intent.product_interest"] == 3.0
