"""Report figures on a hand-checked ledger: every number below was worked out by hand from the
rows inserted here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from worker.cli import cli
from worker.outcomes.report import (
    MIN_GROUP,
    build_report,
    compare_holdouts,
    difference_ci,
    score_band,
    wilson,
)
from worker.store.ledger import Ledger
from worker.store.outcomes import OutcomeStore

NOW = datetime(2026, 10, 20, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def deal(key, account, playbook, kind, score, stage, created, status, closed=None, amount=None, task=False):
    return {
        "key": key,
        "account_id": account,
        "playbook": playbook,
        "offer": "o",
        "kind": kind,
        "score": score,
        "journey_stage": stage,
        "estimated_amount": None,
        "currency": "USD",
        "deal_id": None,
        "created_at": at(created),
        "status": status,
        "closed_at": at(closed) if closed else None,
        "amount": amount,
        "lost_reason": None,
        "task_completed": task,
        "task_completed_at": None,
        "first_seen_at": at(created),
        "updated_at": at(created),
    }


@pytest.fixture
def store(tmp_path) -> OutcomeStore:
    store = OutcomeStore(create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
    store.save(
        "x",
        [
            deal(
                "a1",
                "a1",
                "seat_expansion",
                "upsell",
                85,
                "value_realised",
                "2026-09-01",
                "won",
                "2026-09-11",
                1000.0,
                True,
            ),
            deal(
                "a2",
                "a2",
                "seat_expansion",
                "upsell",
                72,
                "renewal_window",
                "2026-09-01",
                "lost",
                "2026-09-21",
            ),
            deal(
                "a3", "a3", "seat_expansion", "upsell", 95, "value_realised", "2026-09-15", "open", task=True
            ),
            deal(
                "b1",
                "b1",
                "complementary_product",
                "cross_sell",
                65,
                "value_realised",
                "2026-09-05",
                "won",
                "2026-10-05",
                500.0,
            ),
            deal(
                "b2",
                "b2",
                "complementary_product",
                "cross_sell",
                61,
                "value_realised",
                "2026-08-01",
                "won",
                "2026-08-09",
                9999.0,
            ),
            deal("b3", "b3", "complementary_product", "cross_sell", 70, None, "2026-09-10", "deleted"),
        ],
        [],
        [],
    )
    seen = at("2026-09-01")
    store.record_holdouts(
        "x",
        "r1",
        [
            {
                "account_id": c,
                "playbook": "seat_expansion",
                "key": f"{c}:seat_expansion:seats",
                "offer": "seats",
                "kind": "upsell",
                "score": 80,
                "journey_stage": "value_realised",
                "estimated_amount": 100.0,
            }
            for c in ("c1", "c2", "c3")
        ],
        seen,
    )
    store.store_states(
        "x",
        date(2026, 8, 25),
        [("c1", 1, 10, 300.0), ("c2", 1, 20, 600.0), ("c3", 0, 5, 75.0), ("a2", 1, 8, 240.0)],
    )
    store.store_states(
        "x", date(2026, 8, 30), [("c3", 1, 5, 150.0)]
    )  # upgraded before its window: not counted
    store.store_states(
        "x", date(2026, 9, 20), [("c1", 1, 12, 360.0), ("c2", 1, 20, 600.0)]
    )  # c1 bought seats
    store.store_states("x", date(2026, 10, 1), [("a2", 1, 10, 300.0)])  # lost our deal, bought seats anyway
    return store


def test_figures_per_playbook_kind_stage_and_band(store):
    report = build_report(store, NOW, since=date(2026, 8, 15), crm="x")
    t = report.total  # b2 was created before --since: left out everywhere
    assert (t.created, t.tasks_completed, t.won, t.lost, t.open, t.deleted) == (5, 2, 2, 1, 1, 1)
    assert (t.win_rate, t.won_amount, t.median_days_to_close) == (pytest.approx(2 / 3), 1500.0, 20.0)
    seat, comp = (
        {f.group: f for f in report.by_playbook}["seat_expansion"],
        {f.group: f for f in report.by_playbook}["complementary_product"],
    )
    assert (
        seat.created,
        seat.won,
        seat.lost,
        seat.open,
        seat.win_rate,
        seat.won_amount,
        seat.median_days_to_close,
    ) == (3, 1, 1, 1, 0.5, 1000.0, 15.0)
    assert (
        comp.created,
        comp.won,
        comp.deleted,
        comp.win_rate,
        comp.won_amount,
        comp.median_days_to_close,
    ) == (2, 1, 1, 1.0, 500.0, 30.0)
    assert {f.group: (f.created, f.won) for f in report.by_kind} == {"upsell": (3, 1), "cross_sell": (2, 1)}
    assert {f.group: (f.created, f.won, f.lost, f.open) for f in report.by_stage} == {
        "value_realised": (3, 2, 0, 1),
        "renewal_window": (1, 0, 1, 0),
        "unknown": (1, 0, 0, 0),
    }
    assert {f.group: f.created for f in report.by_score_band} == {
        "90-100": 1,
        "80-89": 1,
        "70-79": 2,
        "60-69": 1,
    }
    # Chart data: weeks from the first close to the last, empty weeks included.
    assert report.period == "week"
    weeks = {
        p: [(x.start.isoformat(), x.won, x.lost, x.won_amount) for x in periods]
        for p, periods in report.timeline.items()
    }
    assert weeks["seat_expansion"] == [
        ("2026-09-07", 1, 0, 1000.0),
        ("2026-09-14", 0, 0, 0.0),
        ("2026-09-21", 0, 1, 0.0),
        ("2026-09-28", 0, 0, 0.0),
        ("2026-10-05", 0, 0, 0.0),
    ]
    assert weeks["complementary_product"][-1] == ("2026-10-05", 1, 0, 500.0)


def test_holdout_comparison_counts_accounts_and_says_when_too_few(store):
    (h,) = build_report(store, NOW, since=date(2026, 8, 15), crm="x").holdouts
    # Treated a1 (won), a2 (lost, then bought seats), a3 (open): 2 of 3. Control c1 (seats up after
    # entering), c2 (flat), c3 (upgraded before entering): 1 of 3.
    assert (
        h.treated_accounts,
        h.treated_expanded,
        h.treated_won,
        h.control_accounts,
        h.control_expanded,
    ) == (3, 2, 1, 3, 1)
    assert h.difference == pytest.approx(1 / 3)
    assert h.ci_low < 0 < h.ci_high
    assert h.conclusion.startswith("too few accounts to conclude anything: 3 treated, 3 control")


def test_holdout_comparison_concludes_with_enough_accounts():
    rows = [
        {
            "account_id": f"t{i}",
            "playbook": "p",
            "status": "won" if i < 30 else "open",
            "created_at": at("2026-09-01"),
            "closed_at": at("2026-09-10") if i < 30 else None,
        }
        for i in range(40)
    ]
    held = [{"account_id": f"c{i}", "playbook": "p", "first_seen_at": at("2026-09-01")} for i in range(40)]
    grew = {f"c{i}": [date(2026, 9, 15)] for i in range(10)}
    (h,) = compare_holdouts(rows, held, grew)
    assert (h.treated_expanded, h.control_expanded, h.difference) == (30, 10, 0.5)
    assert 0.28 < h.ci_low < h.ci_high < 0.7 and h.conclusion.startswith("treated accounts expanded more")
    assert MIN_GROUP == 30
    (early,) = compare_holdouts(rows, held, grew, today=date(2026, 9, 20))
    assert early.conclusion.startswith("too early to conclude anything: the control group began 19 days ago")
    (later,) = compare_holdouts(rows, held, grew, today=date(2026, 10, 20))
    assert later.conclusion == h.conclusion


def test_intervals_match_newcombe_1998():
    # Newcombe, Statistics in Medicine 17:873-890, Table II, method 10 (score, no continuity correction).
    for (x1, n1, x2, n2), (low, high) in {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (5, 56, 0, 29): (-0.0381, 0.1926),
    }.items():
        _, lo, hi = difference_ci(x1, n1, x2, n2)
        assert (round(lo, 4), round(hi, 4)) == (low, high)
    assert wilson(0, 10)[0] == 0.0 and score_band(None) == "unknown" and score_band(60) == "60-69"


def test_report_command_json_table_and_html(tmp_path):
    ledger = Ledger(f"sqlite:///{(tmp_path / 'ledger.sqlite3').resolve()}")
    store = OutcomeStore(ledger.engine)
    store.save(
        "files",
        [
            deal(
                "k1",
                "a",
                "seat_expansion",
                "upsell",
                80,
                "value_realised",
                "2026-09-01",
                "won",
                "2026-09-05",
                250.0,
            )
        ],
        [],
        [],
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--format", "json", "--output-dir", str(tmp_path)], obj={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"]["won"] == 1 and data["by_playbook"][0]["won_amount"] == 250.0
    table = runner.invoke(cli, ["report", "--output-dir", str(tmp_path)], obj={})
    assert (
        table.exit_code == 0
        and "seat_expansion" in table.output
        and "No playbook declares a holdout" in table.output
    )
    html = runner.invoke(cli, ["report", "--format", "html", "--output-dir", str(tmp_path)], obj={})
    assert html.exit_code == 0 and (tmp_path / "outcomes.html").read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(cli, ["report", "--since", "last week", "--output-dir", str(tmp_path)], obj={})
    assert bad.exit_code != 0 and "not a date" in bad.output


def test_treated_deals_from_before_the_control_group_began_are_left_out():
    rows = [
        {
            "account_id": "old",
            "playbook": "p",
            "status": "won",
            "created_at": at("2026-08-01"),
            "closed_at": at("2026-08-05"),
        },
        {
            "account_id": "new",
            "playbook": "p",
            "status": "open",
            "created_at": at("2026-09-02"),
            "closed_at": None,
        },
    ]
    held = [{"account_id": "c", "playbook": "p", "first_seen_at": at("2026-09-01")}]
    (h,) = compare_holdouts(rows, held, {})
    assert (h.treated_accounts, h.treated_expanded, h.control_accounts) == (1, 0, 1)


def test_kind_of_deals_the_ledger_never_scored_comes_from_the_playbook(store):
    store.save(
        "x",
        [deal("h1", "h1", "seat_expansion", "unknown", None, None, "2026-09-03", "lost", "2026-09-10")],
        [],
        [],
    )
    report = build_report(store, NOW, since=date(2026, 8, 15), crm="x", kinds={"seat_expansion": "upsell"})
    assert {f.group: f.created for f in report.by_kind} == {"upsell": 4, "cross_sell": 2}
    assert {f.group: f.created for f in report.by_score_band}["unknown"] == 1
