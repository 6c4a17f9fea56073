"""Issue #17: one absurd value must not break the engine. The connector boundary should refuse it,
but the engine must hold anyway: a non-finite signal is scored as missing (with its reason), a
formula that gives no amount for one account skips that one offer (with its reason), and nothing
raises out of `assess`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import Account, Series
from playbooks.assess import AMOUNT_INVALID, NEW, SUPPRESSED, Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog, load_playbook_text, load_playbooks
from playbooks.render import render_explanation
from tests.playbooks.factories import NOW, TODAY, account, weekly

BUILTIN = Assessor(load_playbooks([]), load_catalog())

EASY = """
id: {id}
title: Easy
kind: upsell
offer: {offer}
signals:
  - {{signal: nps, operator: ">=", value: 0, points: 100, reason: "NPS $observed"}}
threshold: 50
amount: "{amount}"
task: {{subject: "For $account_name", body: "$reasons"}}
"""


def unchecked(**fields: object) -> Account:
    """An account as the engine would get it if a connector skipped the boundary checks
    (domain/bounds.py refuses these values; the engine must hold anyway)."""
    return Account.model_construct(**{**account().model_dump(), **fields})


def easy(playbook_id: str, amount: str, offer: str = "{type: product, code: security}") -> str:
    return EASY.format(id=playbook_id, amount=amount, offer=offer)


def healthy_usage(value: float | None = None) -> dict:
    points = weekly(4 * 18, 4 * 17, weeks_back=12)
    if value is not None:
        points = Series(points.days, tuple(value for _ in points.days))
    return {
        "active_users": points,
        "words_translated": points,
        "api_calls": points,
        "premium_feature_attempts": points,
    }


def test_usage_of_1e308_everywhere_is_scored_as_missing_not_an_overflow():
    result = BUILTIN.assess(account(seats_used=19), healthy_usage(1e308), AccountHistory(), NOW)
    assert result.unusable_signals, "the overflowing sums are named"
    assert all("not a finite number" in reason for reason in result.unusable_signals.values())
    for key in result.unusable_signals:
        assert result.signals[key] is None
    for outcome in result.outcomes:  # every explanation renders, the non-qualifying ones included
        render_explanation(outcome.score.contributions())


def test_an_mrr_of_1e400_skips_only_the_offers_it_prices():
    assessor = Assessor(
        [
            load_playbook_text(easy("by_mrr", "mrr * 12")),
            load_playbook_text(
                easy("by_price", "offer_monthly_price * 12", "{type: product, code: glossary}")
            ),
        ],
        load_catalog(),
    )
    huge = unchecked(mrr=Decimal("1e400"), seats_used=19)
    result = assessor.assess(huge, healthy_usage(), AccountHistory(), NOW)
    by_id = {o.playbook.id: o for o in result.outcomes}
    assert (by_id["by_mrr"].status, by_id["by_mrr"].detail) == (SUPPRESSED, AMOUNT_INVALID)
    assert "not a finite number" in by_id["by_mrr"].note and "mrr * 12" in by_id["by_mrr"].note
    assert by_id["by_price"].status == NEW and by_id["by_price"].opportunity.estimated_amount == Decimal(
        "1800.00"
    )
    builtin = BUILTIN.assess(huge, healthy_usage(), AccountHistory(), NOW)  # premium_support reads mrr
    assert builtin.signals["mrr"] is None and "not a finite number" in builtin.unusable_signals["mrr"]


def test_a_formula_that_passes_check_but_fails_for_one_account_skips_that_offer():
    # Finite for every sample account of `check`, a division by zero for an account with 37 seats used.
    assessor = Assessor([load_playbook_text(easy("odd", "mrr / (seats_used - 37)"))], load_catalog())
    (outcome,) = assessor.assess(
        account(seats_used=37, seats_purchased=20), healthy_usage(), AccountHistory(), NOW
    ).outcomes
    assert (outcome.status, outcome.detail) == (
        SUPPRESSED,
        AMOUNT_INVALID,
    ) and "ZeroDivisionError" in outcome.note
    (fine,) = assessor.assess(
        account(seats_used=38, seats_purchased=20), healthy_usage(), AccountHistory(), NOW
    ).outcomes
    assert fine.status == NEW and fine.opportunity.estimated_amount == Decimal("600.00")


def test_seats_of_1e30_and_beyond_float_range_do_not_crash():
    for seats in (10**30, 10**400):
        result = BUILTIN.assess(
            unchecked(seats_purchased=seats, seats_used=seats), healthy_usage(), AccountHistory(), NOW
        )
        for outcome in result.outcomes:
            render_explanation(outcome.score.contributions())
            if outcome.opportunity is not None:
                assert outcome.opportunity.estimated_amount.is_finite()


extreme_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-308, 0.0, -0.0, float("inf"), float("nan")]),
    st.integers(-(10**400), 10**400),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(extreme_floats, min_size=0, max_size=12),
    mrr=st.one_of(st.none(), st.decimals(min_value=0, allow_nan=False, allow_infinity=False)),
    seats=st.one_of(st.none(), st.integers(0, 10**40)),
    used=st.one_of(st.none(), st.integers(0, 10**40)),
)
def test_assess_never_raises_on_extreme_numbers(values, mrr, seats, used):
    days = [TODAY - timedelta(days=7 * (i + 1)) for i in range(len(values))]
    usage = {
        metric: Series.from_columns(days, values)
        for metric in ("active_users", "words_translated", "api_calls")
    }
    subject = unchecked(mrr=mrr, seats_purchased=seats, seats_used=used)
    result = BUILTIN.assess(subject, usage, AccountHistory(), NOW)
    for outcome in result.outcomes:
        render_explanation(outcome.score.contributions())
        if outcome.opportunity is not None:
            assert (
                outcome.opportunity.estimated_amount.is_finite() and outcome.opportunity.estimated_amount >= 0
            )
