"""The amount evaluator's own limits hold even for a formula that never went through `check`."""

from __future__ import annotations

import time

import pytest

from playbooks.formula import MAX_AMOUNT, AmountError, AmountFormula, check_formula

NAMES = {
    "mrr": 1500.0,
    "seats_purchased": 40,
    "seats_used": 38,
    "suggested_seats": 6,
    "price_per_seat": 37.5,
    "offer_monthly_price": 400.0,
    "plan_rank": 1,
    "score": 80,
}


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("4000000 ** 4000000", "exponent"),
        ("(mrr ** 16) ** 16", "out of range"),  # float overflow is an error, not a huge integer
        ("mrr / (seats_used - 38)", "ZeroDivisionError"),
        ("(-mrr) ** 0.5", "complex"),
        ("mrr * 1e9", "above the limit"),
    ],
)
def test_evaluation_is_bounded_and_fails_with_amount_error(formula, words):
    started = time.process_time()
    with pytest.raises(AmountError, match=words):
        AmountFormula(formula).evaluate(NAMES)
    assert time.process_time() - started < 1


def test_the_built_in_formulas_evaluate_as_before():
    assert AmountFormula("price_per_seat * suggested_seats * 12").evaluate(NAMES) == 37.5 * 6 * 12
    assert AmountFormula("round(max(mrr, 100) * 1.1, 2)").evaluate(NAMES) == 1650.0
    assert AmountFormula("min(offer_monthly_price, mrr) * 12").evaluate(NAMES) == 4800.0
    assert MAX_AMOUNT >= 1e9


@pytest.mark.parametrize(
    "formula", ["mrr if score else 0", "mrr and 1", "(lambda: 1)()", "round(mrr, ndigits=1)", "'a' * 3"]
)
def test_anything_but_arithmetic_is_refused(formula):
    with pytest.raises(ValueError, match="only arithmetic"):
        check_formula(formula)
