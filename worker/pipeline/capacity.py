"""Capacity planning: per owner, write only what a CSM can act on this week; the rest wait.

A pass no longer writes every opportunity it finds. Each chunk's new opportunities are recorded
as `waiting` candidates (`record_candidates`); once every chunk is assessed, `plan_pass` ranks
every waiting candidate of the CRM (this pass's, re-scored, and earlier passes' not re-assessed)
and promotes to `pending`, per owner, only what fits under the owner's weekly cap and open-task
cap, an account's offers together as one task (one conversation per account), with due dates
spread over the owner's working days. The write step then writes the pending keys as before, the
task once, for the account's lead offer (worker/pipeline/writeback.py). Both drivers call these two functions
(worker/pipeline/run.py in-process; worker/service/score.py and write.py on the workers).

`plan` itself is pure (no I/O), so it is tested and benched on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain import FollowUpTask, Opportunity
from playbooks.calibration import WinChances
from playbooks.conversation import one_conversation
from worker.outcomes.money import MoneyBasis
from worker.pipeline.ranking import rank_value
from worker.pipeline.settings import Settings
from worker.pipeline.writeback import from_payload, payload_of, pending_rows
from worker.store.candidates import CandidateStore, OwnerLoad, Promotion, WaitingCandidate
from worker.store.ledger import Ledger

DAYS_PER_WEEK = 7


def candidate_rows(
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    chances: WinChances | None = None,
    money: MoneyBasis | None = None,
) -> list[dict[str, object]]:
    """Ledger rows of waiting candidates: the pending row plus the owner and rank planning reads."""
    rows = pending_rows(new)
    for row, (opportunity, task) in zip(rows, new, strict=True):
        row["owner_id"] = task.owner_id or opportunity.owner_id
        row["priority"] = rank_value(opportunity, chances, money)
    return rows


def record_candidates(
    ledger: Ledger,
    crm: str,
    run_id: str,
    account_ids: Sequence[str],
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    now: datetime,
    chances: WinChances | None = None,
    money: MoneyBasis | None = None,
) -> None:
    """One assessed chunk's findings become its accounts' waiting candidates (ledger first)."""
    rows = candidate_rows(new, chances, money)
    CandidateStore(ledger.engine).replace_for_accounts(crm, run_id, account_ids, rows, now)


@dataclass(frozen=True)
class CapacityPolicy:
    per_week: int | None
    open_tasks: int | None
    overrides: dict[str, tuple[int | None, int | None]]
    working_days: tuple[int, ...]
    fallback_owner_id: str | None
    one_task_per_account: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> CapacityPolicy:
        return cls(
            settings.tasks_per_owner_per_week,
            settings.open_tasks_per_owner,
            {o: (c.tasks_per_week, c.open_tasks) for o, c in settings.owner_capacity.items()},
            tuple(settings.working_days),
            settings.fallback_owner_id,
            settings.one_task_per_account,
        )

    @property
    def uncapped(self) -> bool:
        """Both caps lifted for everyone: every candidate is written, as before issue #15."""
        return (
            self.per_week is None
            and self.open_tasks is None
            and not any(week or open_ for week, open_ in self.overrides.values())
        )

    def room(self, owner: str, load: OwnerLoad) -> int | None:
        """New tasks `owner` may still get this week (None: no cap)."""
        week_cap, open_cap = self.overrides.get(owner, (None, None))
        week_cap, open_cap = week_cap or self.per_week, open_cap or self.open_tasks
        limits = []
        if week_cap is not None:
            limits.append(week_cap - load.planned_this_week)
        if open_cap is not None:
            limits.append(open_cap - load.open_tasks)
        return max(0, min(limits)) if limits else None

    def week_cap(self, owner: str) -> int | None:
        return self.overrides.get(owner, (None, None))[0] or self.per_week


@dataclass
class Plan:
    chosen: list[Promotion] = field(default_factory=list)
    waiting: int = 0  # candidates left for a later pass
    no_owner: int = 0  # of those, waiting because no owner is known and no fallback is set
    per_owner: dict[str, int] = field(default_factory=dict)


def week_of(now: datetime) -> tuple[datetime, datetime]:
    """The calendar week (Monday 00:00 in `now`'s zone) the weekly cap counts in."""
    start = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=DAYS_PER_WEEK)


def working_days_after(today: date, working_days: Sequence[int], count: int) -> list[date]:
    days: list[date] = []
    day = today
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() in working_days:
            days.append(day)
    return days


def due_date(nth: int, cap: int | None, days: Sequence[date]) -> date:
    """The owner's nth task of the week is due on a working day spread evenly over the next
    working week: with 10 a week and 5 working days, two a day, best first."""
    if cap is None or cap <= 0:
        return days[nth % len(days)]
    return days[min(len(days) - 1, nth * len(days) // cap)]


def plan(
    candidates: Iterable[WaitingCandidate], loads: dict[str, OwnerLoad], policy: CapacityPolicy, now: datetime
) -> Plan:
    """Best first (rank value, then score, then key for a stable order), per owner while there is
    room. One account is one conversation: all of its waiting offers are promoted together, its
    best offer leads, and together they take one unit of the owner's capacity (one task)."""
    ranked = sorted(candidates, key=lambda c: (-c.priority, -c.score, c.key))
    days = working_days_after(now.date(), policy.working_days, len(policy.working_days))
    result = Plan()
    room: dict[str, int | None] = {}
    # An account is decided at its best offer (the first in rank order); its other offers follow
    # that decision: listed on the lead's task, or waiting with it. One pass, no per-account lists.
    decided: dict[str, Promotion | None] = {}
    for candidate in ranked:
        account = candidate.account_id if policy.one_task_per_account else candidate.key
        if account in decided:
            lead = decided[account]
            if lead is None:
                result.waiting += 1
                result.no_owner += candidate.owner_id is None and policy.fallback_owner_id is None
            else:
                result.chosen.append(Promotion(candidate.key, lead.owner_id, lead.due_date, lead.key))
            continue
        owner = candidate.owner_id or policy.fallback_owner_id
        if owner is None:
            decided[account] = None
            result.waiting += 1
            result.no_owner += 1
            continue
        due = None  # uncapped: no attention budget to share, every account due as drafted
        if not policy.uncapped:
            load = loads.get(owner, OwnerLoad())
            if owner not in room:
                room[owner] = policy.room(owner, load)
            left = room[owner]
            if left is not None and left <= 0:
                decided[account] = None
                result.waiting += 1
                continue
            nth = load.planned_this_week + result.per_owner.get(owner, 0)
            due = due_date(nth, policy.week_cap(owner), days)
            if left is not None:
                room[owner] = left - 1
        decided[account] = promotion = Promotion(candidate.key, owner, due)
        result.chosen.append(promotion)
        result.per_owner[owner] = result.per_owner.get(owner, 0) + 1
    return result


def conversations(payloads: dict[str, str], chosen: Sequence[Promotion]) -> dict[str, str]:
    """The promoted payloads with each account's offers made one conversation (playbooks/
    conversation.py): the lead's task lists the others, theirs point at it."""
    followers: dict[str, list[str]] = {}
    for promotion in chosen:
        if promotion.lead_key is not None:
            followers.setdefault(promotion.lead_key, []).append(promotion.key)
    shaped = dict(payloads)
    for lead, keys in followers.items():
        group = [k for k in (lead, *keys) if k in payloads]
        if len(group) < 2:
            continue
        for opportunity, task in one_conversation([from_payload(payloads[k]) for k in group]):
            shaped[opportunity.key] = payload_of(opportunity, task)
    return shaped


def plan_pass(ledger: Ledger, crm: str, run_id: str, settings: Settings, now: datetime) -> Plan:
    """The planning step of a (non-dry) pass: rank every waiting candidate, promote what fits."""
    store = CandidateStore(ledger.engine)
    start, end = week_of(now)
    result = plan(
        store.waiting(crm), store.owner_loads(crm, start, end), CapacityPolicy.from_settings(settings), now
    )
    store.promote(crm, run_id, result.chosen, now, shape=lambda p: conversations(p, result.chosen))
    return result


def plan_in_memory(
    ledger: Ledger,
    crm: str,
    settings: Settings,
    now: datetime,
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    chances: WinChances | None = None,
) -> tuple[list[tuple[Opportunity, FollowUpTask]], Plan]:
    """A dry run's plan: this pass's findings against the ledger's current loads, nothing stored."""
    by_key = {o.key: (o, t) for o, t in new}
    money = MoneyBasis.from_settings(settings)
    candidates = [
        WaitingCandidate(
            o.key, o.account_id, t.owner_id or o.owner_id, rank_value(o, chances, money), o.score
        )
        for o, t in new
    ]
    start, end = week_of(now)
    loads = CandidateStore(ledger.engine).owner_loads(crm, start, end)
    result = plan(candidates, loads, CapacityPolicy.from_settings(settings), now)
    groups: dict[str, list[tuple[Opportunity, FollowUpTask]]] = {}
    for promotion in result.chosen:
        opportunity, task = by_key[promotion.key]
        groups.setdefault(promotion.lead_key or promotion.key, []).append(
            (
                opportunity.model_copy(update={"owner_id": promotion.owner_id}),
                task.model_copy(
                    update={"owner_id": promotion.owner_id, "due_date": promotion.due_date or task.due_date}
                ),
            )
        )
    return [pair for group in groups.values() for pair in one_conversation(group)], result
