"""The pure planning rule of worker/pipeline/capacity.py: caps, overrides, one task per account (its offers together),
fallback owner, due dates, and the uncapped mode."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from worker.pipeline.capacity import CapacityPolicy, plan, week_of, working_days_after
from worker.store.candidates import OwnerLoad, WaitingCandidate

MONDAY = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def policy(per_week=10, open_tasks=25, overrides=None, fallback=None) -> CapacityPolicy:
    return CapacityPolicy(per_week, open_tasks, overrides or {}, (0, 1, 2, 3, 4), fallback)


def candidates(owner: str | None, n: int, account_prefix: str = "a") -> list[WaitingCandidate]:
    return [
        WaitingCandidate(f"{account_prefix}{i}:p:o", f"{account_prefix}{i}", owner, float(i), 50)
        for i in range(n)
    ]


def test_best_first_up_to_the_weekly_cap_and_two_a_day():
    result = plan(candidates("o1", 30), {}, policy(), MONDAY)
    assert [p.key for p in result.chosen] == [f"a{i}:p:o" for i in range(29, 19, -1)]
    assert result.waiting == 20 and result.no_owner == 0
    days = Counter(p.due_date for p in result.chosen)
    assert sorted(days) == [date(2026, 11, d) for d in (3, 4, 5, 6, 9)] and set(days.values()) == {2}


def test_the_open_task_cap_and_what_this_week_already_planned_both_count():
    loads = {
        "o1": OwnerLoad(planned_this_week=4, open_tasks=23),
        "o2": OwnerLoad(planned_this_week=7, open_tasks=7),
    }
    result = plan(candidates("o1", 5) + candidates("o2", 5, "b"), loads, policy(), MONDAY)
    assert Counter(p.owner_id for p in result.chosen) == {"o1": 2, "o2": 3}
    # o2's 8th to 10th tasks of the week are due later in the week, not on the first day
    assert [p.due_date for p in result.chosen if p.owner_id == "o2"] == [
        date(2026, 11, 6),
        date(2026, 11, 9),
        date(2026, 11, 9),
    ]


def test_an_owner_override_and_one_task_per_account():
    same_account = [WaitingCandidate(f"a0:p{i}:o", "a0", "o1", 100.0 - i, 50) for i in range(3)]
    result = plan(same_account + candidates("o2", 5, "b"), {}, policy(overrides={"o2": (2, None)}), MONDAY)
    # One conversation per account (#15): the account's three offers go together, led by the best,
    # and take one unit of o1's capacity; o2's override lets two of five through.
    chosen = {p.key: p for p in result.chosen if p.owner_id == "o1"}
    assert list(chosen) == ["a0:p0:o", "a0:p1:o", "a0:p2:o"]
    assert [p.lead_key for p in chosen.values()] == [None, "a0:p0:o", "a0:p0:o"]
    assert len({p.due_date for p in chosen.values()}) == 1
    assert result.per_owner == {"o1": 1, "o2": 2} and result.waiting == 3


def test_an_account_whose_offers_do_not_fit_waits_whole():
    tight = policy(per_week=2)
    same_account = [WaitingCandidate(f"a0:p{i}:o", "a0", "o1", 10.0 - i, 50) for i in range(2)]
    result = plan(candidates("o1", 2, "b") + same_account, {}, tight, MONDAY)
    # a0 leads with its best offer (10) and takes one unit with both offers; b1 the other; b0 waits
    assert [p.key for p in result.chosen] == ["a0:p0:o", "a0:p1:o", "b1:p:o"]
    assert result.per_owner == {"o1": 2} and result.waiting == 1
    full = plan(same_account, {"o1": OwnerLoad(planned_this_week=2)}, tight, MONDAY)
    assert full.chosen == [] and full.waiting == 2


def test_no_owner_waits_unless_there_is_a_fallback():
    assert plan(candidates(None, 3), {}, policy(), MONDAY).no_owner == 3
    routed = plan(candidates(None, 3), {}, policy(fallback="queue"), MONDAY)
    assert {p.owner_id for p in routed.chosen} == {"queue"} and routed.waiting == 0


def test_uncapped_writes_every_owned_candidate_with_its_drafted_due_date():
    same_account = [WaitingCandidate(f"a0:p{i}:o", "a0", "o1", 1.0, 50) for i in range(3)]
    result = plan(same_account + candidates(None, 1, "z"), {}, policy(None, None), MONDAY)
    assert len(result.chosen) == 3 and {p.due_date for p in result.chosen} == {None} and result.no_owner == 1
    # still one conversation per account: one lead, the two others covered by its task
    assert sorted(str(p.lead_key) for p in result.chosen) == ["None", "a0:p0:o", "a0:p0:o"]


def test_weeks_start_on_monday_and_working_days_skip_the_weekend():
    start, end = week_of(datetime(2026, 11, 8, 23, 0, tzinfo=UTC))  # a Sunday
    assert (start.date(), end.date()) == (date(2026, 11, 2), date(2026, 11, 9))
    assert working_days_after(date(2026, 11, 6), (0, 1, 2, 3, 4), 3) == [
        date(2026, 11, 9),
        date(2026, 11, 10),
        date(2026, 11, 11),
    ]
