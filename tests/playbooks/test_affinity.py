"""Association-rule figures on a basket small enough to check by hand."""

import pytest

from playbooks.affinity import AffinityModel, BasketCounter

# 10 accounts. A in 8, B in 6, C in 5; A+B in 5, A+C in 4, B+C in 3, A+B+C in 3.
BASKETS = [
    {"A", "B", "C"},
    {"A", "B", "C"},
    {"A", "B", "C"},
    {"A", "B"},
    {"A", "B"},
    {"A", "C"},
    {"A"},
    {"A"},
    {"B"},
    {"C"},
]


def rules_by_name():
    counter = BasketCounter()
    for basket in BASKETS:
        counter.add(basket)
    return {(tuple(sorted(r.antecedent)), r.consequent): r for r in counter.rules(0.1, 0.1, 1)}


def test_support_confidence_lift_by_hand():
    rules = rules_by_name()
    a_to_b = rules[(("A",), "B")]
    assert a_to_b.support == pytest.approx(5 / 10)
    assert a_to_b.confidence == pytest.approx(5 / 8)
    assert a_to_b.lift == pytest.approx((5 / 8) / (6 / 10))
    ab_to_c = rules[(("A", "B"), "C")]
    assert ab_to_c.support == pytest.approx(3 / 10)
    assert ab_to_c.confidence == pytest.approx(3 / 5)
    assert ab_to_c.lift == pytest.approx((3 / 5) / (5 / 10))
    assert ab_to_c.count == 3
    assert "60% of accounts that own A and B also bought C" in ab_to_c.describe()


def test_thresholds_filter_rules():
    counter = BasketCounter()
    for basket in BASKETS:
        counter.add(basket)
    strict = counter.rules(min_support=0.4, min_confidence=0.6, min_count=1)
    # A->B 5/8, B->A 5/6, C->A 4/5 pass; A->C (4/8) misses the confidence, A+B->C (0.3) the support.
    assert {(tuple(sorted(r.antecedent)), r.consequent) for r in strict} == {
        (("A",), "B"),
        (("B",), "A"),
        (("C",), "A"),
    }


def test_recommendation_skips_owned_products_and_weak_lift():
    model = AffinityModel(rules_by_name().values(), min_lift=1.1)
    recommendation = model.recommend(frozenset({"A", "B"}))
    assert recommendation is not None
    assert recommendation.product == "C"  # A+B -> C, lift 1.2; B is owned so A -> B is not offered
    assert model.recommend(frozenset({"A", "B", "C"})) is None
    assert AffinityModel(rules_by_name().values(), min_lift=5).recommend(frozenset({"A"})) is None
