from datetime import timedelta

import pytest

from domain import Series
from playbooks.affinity import AffinityModel
from playbooks.signals import (
    SIGNALS,
    SignalContext,
    activation,
    co_purchase_confidence,
    co_purchase_lift,
    days_to_renewal,
    limit_utilisation,
    milestone_crossed,
    premium_feature_attempts,
    round_milestones,
    seat_utilisation,
    tenure_days,
    usage_30d,
    usage_trend,
)
from playbooks.usage import summarise
from tests.playbooks.factories import TODAY, account, weekly


def ctx(usage=None, limits=None, affinity=None, gauges=("active_users",), since=None):
    summaries = {m: summarise(p, TODAY, since, m in gauges) for m, p in (usage or {}).items()}
    return SignalContext(TODAY, summaries, limits or {}, affinity)


def test_counter_windows_add_up_and_gauges_average():
    points = weekly(4000, 2000)
    counter = summarise(points, TODAY, None)
    assert (counter.last_30, counter.previous_30, counter.total) == (4000, 2000, 6000)
    gauge = summarise(points, TODAY, None, gauge=True)
    assert (gauge.last_30, gauge.previous_30) == (1000, 500)


def test_points_in_the_future_are_ignored():
    week = weekly(400, 400)
    points = Series.from_points([*zip(week.days, week.values), (TODAY + timedelta(days=3), 1e9)])
    assert summarise(points, TODAY, None).last_30 == 400


def test_a_series_from_pairs_in_any_order_is_oldest_first():
    pairs = [
        (TODAY - timedelta(days=7), 2.0),
        (TODAY - timedelta(days=21), 5.0),
        (TODAY - timedelta(days=7), 1.0),
    ]
    series = Series.from_points(pairs)
    assert series == Series(
        (TODAY - timedelta(days=21), TODAY - timedelta(days=7), TODAY - timedelta(days=7)), (5.0, 1.0, 2.0)
    )
    assert summarise(series, TODAY, None, gauge=True).total == 2.0  # the latest level: the last point
    assert Series.from_columns([pair[0] for pair in pairs], [pair[1] for pair in pairs]) == series


def test_an_empty_series_summarises_to_nothing():
    assert Series.from_points([]) == Series((), ())
    assert summarise(Series.from_points(iter(())), TODAY, None) == (0.0, 0.0, False, 0.0, 0.0)


def test_seat_utilisation():
    assert seat_utilisation(account(seats_purchased=20, seats_used=19), ctx()) == pytest.approx(0.95)
    assert seat_utilisation(account(seats_purchased=0, seats_used=3), ctx()) is None
    assert seat_utilisation(account(seats_used=None), ctx()) is None


def test_limit_utilisation_against_the_plan_allowance():
    c = ctx({"words_translated": weekly(200_000, 100_000)}, limits={"words_translated": 250_000})
    assert limit_utilisation(account(), c, "words_translated") == pytest.approx(0.8)
    assert limit_utilisation(account(), ctx({"words_translated": weekly(1, 1)}), "words_translated") is None


def test_usage_30d():
    assert usage_30d(account(), ctx({"api_calls": weekly(5000, 10)}), "api_calls") == 5000
    assert usage_30d(account(), ctx(), "api_calls") is None


def test_usage_trend_compares_last_30_days_with_the_30_before():
    assert usage_trend(
        account(), ctx({"words_translated": weekly(1500, 1000)}), "words_translated"
    ) == pytest.approx(0.5)
    assert usage_trend(
        account(), ctx({"words_translated": weekly(500, 1000)}), "words_translated"
    ) == pytest.approx(-0.5)
    only_recent = Series.from_points([(TODAY - timedelta(days=7), 100.0)])
    assert usage_trend(account(), ctx({"words_translated": only_recent}), "words_translated") is None


def test_round_milestones():
    assert round_milestones(60_000) == [1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000]


def test_milestone_crossed_since_the_last_run():
    # 4,800 before the last 30 days, 5,600 now: 5,000 was passed in the window.
    points = Series.from_points([(TODAY - timedelta(days=60), 4800.0), (TODAY - timedelta(days=10), 800.0)])
    assert milestone_crossed(account(), ctx({"words_translated": points}), "words_translated") == 5000
    # With a last run 5 days ago, the crossing happened before it: nothing new.
    since_last_run = ctx({"words_translated": points}, since=TODAY - timedelta(days=5))
    assert milestone_crossed(account(), since_last_run, "words_translated") == 0
    flat = Series.from_points([(TODAY - timedelta(days=60), 4800.0)])
    assert milestone_crossed(account(), ctx({"words_translated": flat}), "words_translated") == 0


def test_premium_feature_attempts_and_activation():
    c = ctx({"premium_feature_attempts": weekly(14, 3), "active_users": weekly(64, 40)})
    assert premium_feature_attempts(account(), c) == 14
    assert activation(account(seats_purchased=20), c) == pytest.approx(0.8)  # mean 16 of 20 seats
    assert activation(account(seats_purchased=0), c) is None


def test_days_to_renewal_and_tenure():
    a = account(contract_end_date=TODAY + timedelta(days=45), customer_since=TODAY - timedelta(days=400))
    assert days_to_renewal(a, ctx()) == 45
    assert tenure_days(a, ctx()) == 400
    assert days_to_renewal(account(contract_end_date=None), ctx()) is None
    assert (
        tenure_days(account(customer_since=TODAY + timedelta(days=30)), ctx()) == 0
    )  # future date: not negative


def test_health_signals_read_the_account():
    a = account(nps=9, csat=4.1, open_escalations=2)
    assert SIGNALS["nps"].fn(a, ctx()) == 9
    assert SIGNALS["csat"].fn(a, ctx()) == 4.1
    assert SIGNALS["open_escalations"].fn(a, ctx()) == 2


def test_co_purchase_affinity_signals():
    baskets = [{"a", "b", "c"}] * 6 + [{"a", "b"}] * 4 + [{"d"}] * 10
    model = AffinityModel.from_baskets(baskets, min_support=0.1, min_confidence=0.3, min_count=2)
    recommendation = model.recommend(frozenset({"a", "b"}))
    assert recommendation is not None and recommendation.product == "c"
    c = ctx(affinity=recommendation)
    assert co_purchase_confidence(account(), c) == pytest.approx(0.6)
    assert co_purchase_lift(account(), c) == pytest.approx(0.6 / 0.3)
    assert co_purchase_confidence(account(), ctx()) is None


def test_every_signal_is_documented():
    for spec in SIGNALS.values():
        assert len(spec.doc) > 20, spec.name
