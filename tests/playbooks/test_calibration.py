"""P(win) calibration (playbooks/calibration.py): the prior rules with few outcomes, the fit is
monotone in the score, many outcomes pull it to what was observed, the Brier score and the phrase."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from playbooks.calibration import (
    DEFAULT_WIN_RATE,
    PRIOR_STRENGTH,
    OutcomeCount,
    WinChances,
    brier,
    chance_phrase,
    isotonic,
    prior_rate,
)


def test_without_outcomes_the_prior_gives_the_default_tilted_by_score():
    chances = WinChances()
    assert chances.probability("any", 50) == pytest.approx(DEFAULT_WIN_RATE)
    assert chances.probability("any", 100) == pytest.approx(DEFAULT_WIN_RATE * 1.25)
    assert chances.probability("any", 60) < chances.probability("any", 80)


def test_few_outcomes_barely_move_the_prior():
    # Three deals at score 80, all won: a raw win rate of 100%.
    chances = WinChances([OutcomeCount("seats", 80, "value_realised", 3, 3)])
    p = chances.probability("seats", 80)
    expected = (PRIOR_STRENGTH * prior_rate(80) + 3 * 1.0) / (PRIOR_STRENGTH + 3)
    assert p == pytest.approx(expected) and p < 0.4
    # Another playbook is untouched.
    assert chances.probability("other", 80) == pytest.approx(prior_rate(80))


def test_many_outcomes_pull_the_curve_to_what_was_observed():
    counts = [OutcomeCount("seats", 60, None, 100, 1000), OutcomeCount("seats", 90, None, 700, 1000)]
    chances = WinChances(counts)
    assert chances.probability("seats", 60) == pytest.approx(0.1, abs=0.01)
    assert chances.probability("seats", 90) == pytest.approx(0.7, abs=0.01)


def test_isotonic_pools_violators_into_their_weighted_mean():
    blocks = isotonic([(60, 0.5, 10), (70, 0.2, 30), (80, 0.6, 10)])
    assert blocks == [(60, pytest.approx(0.275), 40), (80, pytest.approx(0.6), 10)]


def test_the_fit_never_decreases_with_the_score():
    rng = random.Random(3)
    counts = []
    for score in range(50, 101):
        closed = rng.randint(0, 12)
        counts.append(OutcomeCount("noisy", score, None, rng.randint(0, closed), closed))
    chances = WinChances(counts)
    curve = [chances.probability("noisy", s) for s in range(0, 101)]
    assert all(a <= b + 1e-12 for a, b in pairwise(curve))
    assert curve[0] < curve[-1]


def test_a_stage_that_wins_more_scales_its_chance_up():
    counts = [
        OutcomeCount("renewal", 80, "renewal_window", 150, 200),
        OutcomeCount("renewal", 80, "value_realised", 50, 200),
    ]
    chances = WinChances(counts)
    assert chances.probability("renewal", 80, "renewal_window") > chances.probability("renewal", 80)
    assert chances.probability("renewal", 80, "value_realised") < chances.probability("renewal", 80)
    assert chances.probability("renewal", 80, "adopting") == chances.probability("renewal", 80)


def test_brier_score():
    assert brier([]) is None
    assert brier([(1.0, True), (0.0, False)]) == 0.0
    assert brier([(0.5, True), (0.5, False)]) == 0.25
    assert brier([(0.8, False)]) == pytest.approx(0.64)


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.34, "about 1 in 3 of these close"),
        (0.2, "about 1 in 5 of these close"),
        (0.5, "about 1 in 2 of these close"),
        (0.72, "about 7 in 10 of these close"),
        (0.004, "fewer than 1 in 100 of these close"),
    ],
)
def test_the_chance_reads_as_a_plain_phrase(p, text):
    assert chance_phrase(p) == text
