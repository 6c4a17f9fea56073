"""Backtest figures on a small hand-built history, every number worked out by hand below; and the
command on the bundled sample."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from connectors.base import AccountState
from domain import Account, Series
from playbooks.loader import load_catalog, load_playbook_text
from worker.cli import cli
from worker.outcomes.backtest import ReplayHistory, account_as_of, run_backtest, usage_as_of

SEATS = """
id: seats_test
title: Seats test
kind: upsell
offer: {type: seats}
signals:
  - {signal: seat_utilisation, operator: ">=", value: 0.9, points: 100, required: true, reason: "$observed"}
threshold: 50
amount: "seats_purchased"
task: {subject: "s", body: "b"}
"""
WORDS = """
id: usage_test
title: Usage test
kind: upsell
offer: {type: seats}
signals:
  - {signal: usage_30d, metric: words_translated, operator: ">=", value: 1000, points: 100, required: true, reason: "$observed"}
threshold: 50
amount: "seats_purchased"
task: {subject: "s", body: "b"}
"""
START, END = date(2026, 1, 5), date(2026, 3, 31)  # 27 + 28 + 31 = 86 replay days


def acc(account_id: str, seats: int, used: int, since: date = date(2025, 1, 1)) -> Account:
    return Account(
        id=account_id,
        plan="Team",
        plan_rank=1,
        seats_purchased=seats,
        seats_used=used,
        mrr=Decimal(100),
        customer_since=since,
        contract_end_date=date(2027, 6, 1),
        journey_stage="value_realised",
        products=frozenset({"translate"}),
    )


def state(account_id: str, day: str, seats: int, used: int) -> AccountState:
    return AccountState(account_id, date.fromisoformat(day), "Team", 1, seats, used, None)


@pytest.fixture
def history() -> ReplayHistory:
    # F translates nothing until the week of Feb 2, then 600 words a week (weekly points, Mondays).
    mondays = [date(2025, 12, 1) + timedelta(weeks=i) for i in range(20)]
    words = [(d, 600.0 if d >= date(2026, 2, 2) else 0.0) for d in mondays]
    return ReplayHistory(
        end=date(2026, 4, 1),
        accounts=[
            acc("A", 15, 10),
            acc("B", 20, 19),
            acc("C", 20, 10),
            acc("D", 10, 10, since=date(2026, 2, 1)),
            acc("E", 20, 5),
            acc("F", 25, 10),
            acc("G", 8, 5),
        ],
        usage={"F": {"words_translated": Series.from_points(words)}},
        states={
            "A": [
                state("A", "2025-12-01", 10, 10),
                state("A", "2026-03-01", 15, 10),
            ],  # full, then bought 5 seats
            "C": [
                state("C", "2025-12-01", 18, 10),
                state("C", "2026-02-10", 20, 10),
            ],  # bought seats with room to spare
            "F": [
                state("F", "2025-12-01", 20, 10),
                state("F", "2026-03-02", 25, 10),
            ],  # bought after using more
            "G": [
                state("G", "2025-12-01", 5, 5),
                state("G", "2026-01-01", 8, 5),
            ],  # expanded before the period
        },
        won={"D": [date(2026, 2, 15)]},  # a won deal counts as an expansion
    )


def test_figures_on_a_hand_built_history(history):
    result = run_backtest(
        [load_playbook_text(SEATS), load_playbook_text(WORDS)], load_catalog(None), history, START, END
    )
    assert result.expansions == {
        "A": date(2026, 3, 1),
        "C": date(2026, 2, 10),
        "D": date(2026, 2, 15),
        "F": date(2026, 3, 2),
    }
    seats, words = result.playbooks
    # A flags Jan 5 - Feb 28 (55 days; 10/10 seats), B every day (19/20), D from Feb 1, when it became
    # a customer, to Mar 31 (59). C (10/18), E (5/20), F (10/20) never reach 90%.
    assert (seats.days, seats.fires, seats.accounts_flagged) == (86, 55 + 86 + 59, 3)
    assert (seats.expanded, seats.caught, seats.days_ahead) == (
        4,
        2,
        [55, 14],
    )  # A: Jan 5 -> Mar 1; D: Feb 1 -> Feb 15
    assert seats.missed == ["C", "F"] and seats.flagged_never_expanded == 1  # B
    assert (seats.precision, seats.recall, seats.median_days_ahead) == (pytest.approx(2 / 3), 0.5, 34.5)
    # F's 30-day words reach 1000 only once two 600-word weeks have *ended*: the week of Feb 9 ends
    # Feb 16. Reading a week before it ended would flag on Feb 10: the backtest must not.
    assert (words.fires, words.accounts_flagged, words.caught, words.days_ahead) == (44, 1, 1, [14])
    assert words.missed == ["A", "C", "D"] and words.flagged_never_expanded == 0


GRADED_SEATS = """
id: graded_seats
title: Graded seats
kind: upsell
offer: {type: seats}
signals:
  - {signal: seat_utilisation, operator: ">=", value: 0.9, points: 60, required: true, reason: "$observed"}
  - {signal: seats_purchased, operator: ">=", value: 20, partial_from: 10, points: 40, reason: "$observed"}
threshold: 50
amount: "seats_purchased"
task: {subject: "s", body: "b"}
"""


def test_base_rate_lift_calibration_and_brier_on_a_hand_built_history(history):
    result = run_backtest([load_playbook_text(GRADED_SEATS)], load_catalog(None), history, START, END)
    (graded,) = result.playbooks
    figures = graded.public()
    # Replayed: all 7 accounts were customers on some replayed day (D from Feb 1); 4 expanded in the
    # period (A, C, D, F): base rate 4/7.
    assert figures["base_rate"] == pytest.approx(4 / 7)
    # Flagged, at the first flag: A on Jan 5 with 10 seats (60 + 0 of the graded 40: score 60), B with
    # 20 seats (60 + 40 = 100), D on Feb 1 with 10 seats (60). A and D expanded after, B never did.
    flags = {"A": (60, True), "B": (100, False), "D": (60, True)}
    assert graded.accounts_flagged == len(flags) and graded.flagged_never_expanded == 1
    # Lift: precision 2/3 over the base rate 4/7.
    assert figures["lift"] == pytest.approx((2 / 3) / (4 / 7)) == pytest.approx(7 / 6)
    # No closed deals handed in: the prior, 0.2 x (0.75 + 0.5 x score / 100): 0.21 at 60, 0.25 at 100.
    prior = {60: 0.21, 100: 0.25}
    assert figures["calibration"] == [
        {"band": "90-100", "flagged": 1, "predicted": pytest.approx(0.25), "observed": 0.0},
        {"band": "60-69", "flagged": 2, "predicted": pytest.approx(0.21), "observed": 1.0},
    ]  # highest band first; the empty bands are left out
    squared = [(prior[score] - (1.0 if grew else 0.0)) ** 2 for score, grew in flags.values()]
    assert figures["brier"] == pytest.approx(sum(squared) / 3)
    assert figures["brier"] == pytest.approx((0.79**2 * 2 + 0.25**2) / 3)  # 0.4369
    # The Brier score from the table's own rows: each band's flags at its predicted chance.
    rows = figures["calibration"]
    from_rows = sum(
        r["flagged"] * (r["observed"] * (1 - r["predicted"]) ** 2 + (1 - r["observed"]) * r["predicted"] ** 2)
        for r in rows
    ) / sum(r["flagged"] for r in rows)
    assert from_rows == pytest.approx(figures["brier"])


def test_account_and_usage_as_of_a_day(history):
    a = history.accounts[0]
    assert account_as_of(a, history.states["A"], date(2026, 2, 28)).seats_purchased == 10
    assert account_as_of(a, history.states["A"], date(2026, 3, 1)).seats_purchased == 15
    assert (
        account_as_of(a, history.states["A"], date(2025, 6, 1)).seats_purchased == 10
    )  # before the first state
    assert account_as_of(history.accounts[3], [], date(2026, 1, 31)) is None  # not a customer yet
    series = usage_as_of(history, "F", date(2026, 2, 16), {"words_translated": timedelta(days=7)})[
        "words_translated"
    ]
    assert max(series.days) == date(2026, 2, 9)


def test_backtest_command_on_the_sample(tmp_path):
    runner = CliRunner()
    args = [
        "backtest",
        "seat_expansion",
        "--from",
        "2026-06-01",
        "--to",
        "2026-11-01",
        "--every",
        "7",
        "--output-dir",
        str(tmp_path),
    ]
    result = runner.invoke(cli, [*args, "--format", "json"], obj={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (seat,) = data["playbooks"]
    assert data["accounts"] == 600 and data["expanded_accounts"] > 30
    assert seat["caught"] > 10 and seat["median_days_ahead"] > 7 and 0 < seat["recall"] < 1
    assert seat["flagged_never_expanded"] > 0
    # Base rate, lift, Brier and the calibration table hang together: every flagged account counts
    # once in the table, at its first flag; lift is precision over the base rate.
    assert 0 < seat["base_rate"] < 1 and data["expanded_accounts"] / 600 <= seat["base_rate"]
    assert seat["lift"] == pytest.approx(seat["precision"] / seat["base_rate"])
    rows = seat["calibration"]
    assert rows and sum(r["flagged"] for r in rows) == seat["accounts_flagged"]
    expanded = sum(r["flagged"] * r["observed"] for r in rows)
    assert expanded == pytest.approx(seat["accounts_flagged"] - seat["flagged_never_expanded"])
    assert all(0 < r["predicted"] < 1 for r in rows) and 0 <= seat["brier"] <= 1
    bands = [r["band"] for r in rows]
    assert bands == sorted(bands, key=lambda b: -int(b.split("-")[0]))  # highest band first
    table = runner.invoke(cli, args, obj={})
    assert table.exit_code == 0 and "seat_expansion" in table.output
    text = " ".join(table.output.split())
    assert f"{seat['lift']:.2f}x" in text and f"{seat['brier']:.3f}" in text
    assert f"{seat['base_rate'] * 100:.0f}%" in text
    for row in rows:  # each row of the calibration table, as printed
        assert (
            f"seat_expansion │ {row['band']} │ {row['flagged']} │ {row['predicted'] * 100:.0f}% │ "
            f"{row['observed'] * 100:.0f}%" in text
        )
    assert not (tmp_path / "outbox" / "deals.jsonl").exists()  # a backtest writes nothing
    bad = runner.invoke(
        cli,
        [
            "backtest",
            "no_such_playbook",
            "--from",
            "2026-06-01",
            "--to",
            "2026-07-01",
            "--output-dir",
            str(tmp_path),
        ],
        obj={},
    )
    assert bad.exit_code != 0 and "no_such_playbook" in bad.output


def test_crm_usage_comes_from_the_snapshots_known_on_the_day():
    # A CRM gives one rolling 30-day value per pass; the ledger keeps one per day it ran.
    snaps = [(date(2026, 1, 1), 100.0), (date(2026, 1, 31), 400.0), (date(2026, 3, 2), 1200.0)]
    history = ReplayHistory(
        end=date(2026, 3, 31), accounts=[acc("S", 10, 5)], snapshots={"S": {"words_translated": snaps}}
    )
    assert usage_as_of(history, "S", date(2026, 1, 31), {})["words_translated"] == Series.from_points(
        [
            (date(2026, 1, 1), 400.0),
            (date(2025, 12, 2), 100.0),
        ]
    )  # today's window, and the one 30 days before
    later = usage_as_of(history, "S", date(2026, 3, 1), {})["words_translated"]
    assert (later.days[-1], later.values[-1]) == (date(2026, 1, 30), 400.0)  # today's window
    assert usage_as_of(history, "S", date(2025, 12, 31), {}) == {}  # nothing known yet
    result = run_backtest(
        [load_playbook_text(WORDS)], load_catalog(None), history, date(2026, 1, 1), date(2026, 3, 31)
    )
    # usage_30d >= 1000 holds from the day the 1200 snapshot was taken, Mar 2, to Mar 31: 30 days.
    assert (result.playbooks[0].fires, result.playbooks[0].accounts_flagged) == (30, 1)
