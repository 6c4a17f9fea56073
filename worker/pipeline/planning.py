"""Deciding which waiting candidates fit an owner's week: pure, no I/O.

An account is one conversation: it is decided once, at its best offer (its lead), and its other
offers follow that decision (listed on the lead's task, or waiting with it). Planning therefore
walks the accounts' leads in rank order, each with how many offers its account has and how many
of them have no owner; the other offers are needed only for the accounts that were promoted.

That shape is what keeps a pass over a million accounts in bounded memory: the ledger hands the
leads over ranked and counted by the database (worker/store/candidates.py), and the few promoted
accounts' followers are read afterwards. A sort of every candidate in Python and a per-account
dict took a worker to 1.2 GB at 1,000,000 accounts (bench/scale.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from worker.pipeline.settings import Settings
from worker.store.candidates import Lead, OwnerLoad, Promotion, WaitingCandidate

DAYS_PER_WEEK = 7


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
    chosen: list[Promotion] = field(default_factory=list)  # in rank order; empty when streamed
    waiting: int = 0  # candidates left for a later pass
    no_owner: int = 0  # of those, waiting because no owner is known and no fallback is set
    per_owner: dict[str, int] = field(default_factory=dict)
    planned: int = 0  # candidates promoted (len(chosen) where they are kept)


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


def rank_key(candidate: WaitingCandidate) -> tuple[float, int, str]:
    """Best first: rank value, then score, then key for a stable order (the ledger's ORDER BY)."""
    return (-candidate.priority, -candidate.score, candidate.key)


def decide(
    leads: Iterable[Lead], loads: Mapping[str, OwnerLoad], policy: CapacityPolicy, now: datetime, result: Plan
) -> Iterator[tuple[Lead, Promotion]]:
    """The promoted leads, in the order given (rank order); waiting ones are counted in `result`."""
    days = working_days_after(now.date(), policy.working_days, len(policy.working_days))
    room: dict[str, int | None] = {}
    for lead in leads:
        candidate = lead.candidate
        owner = candidate.owner_id or policy.fallback_owner_id
        if owner is None:
            _wait(result, lead, policy)
            continue
        due = None  # uncapped: no attention budget to share, every account due as drafted
        if not policy.uncapped:
            load = loads.get(owner, OwnerLoad())
            if owner not in room:
                room[owner] = policy.room(owner, load)
            left = room[owner]
            if left is not None and left <= 0:
                _wait(result, lead, policy)
                continue
            nth = load.planned_this_week + result.per_owner.get(owner, 0)
            due = due_date(nth, policy.week_cap(owner), days)
            if left is not None:
                room[owner] = left - 1
        result.per_owner[owner] = result.per_owner.get(owner, 0) + 1
        yield lead, Promotion(candidate.key, owner, due)


def _wait(result: Plan, lead: Lead, policy: CapacityPolicy) -> None:
    """The account's offers all wait with its lead; those without an owner are counted apart."""
    result.waiting += lead.offers
    if policy.fallback_owner_id is None:
        result.no_owner += lead.ownerless


def with_followers(
    promoted: Sequence[tuple[Lead, Promotion]], followers: Callable[[list[str]], Iterable[WaitingCandidate]]
) -> list[tuple[WaitingCandidate, Promotion]]:
    """The promoted leads and their accounts' other offers, which share the lead's owner and due
    date and name its key. `followers(account_ids)` gives those accounts' waiting offers (their
    leads among them)."""
    leads = {lead.candidate.account_id: (lead, promotion) for lead, promotion in promoted}
    rows = [(lead.candidate, promotion) for lead, promotion in promoted]
    wanted = [account for account, (lead, _) in leads.items() if lead.offers > 1]
    for other in followers(wanted) if wanted else ():
        lead, promotion = leads[other.account_id]
        if other.key != lead.candidate.key:
            rows.append((other, Promotion(other.key, promotion.owner_id, promotion.due_date, promotion.key)))
    return rows


def leads_of(candidates: Iterable[WaitingCandidate], per_account: bool) -> list[Lead]:
    """In memory, what the ledger's `leads` query gives: each account's best candidate, ranked."""
    ranked = sorted(candidates, key=rank_key)
    if not per_account:
        return [Lead(c, 1, int(c.owner_id is None)) for c in ranked]
    firsts: dict[str, Lead] = {}
    for candidate in ranked:
        lead = firsts.get(candidate.account_id)
        if lead is None:
            firsts[candidate.account_id] = Lead(candidate, 1, int(candidate.owner_id is None))
        else:
            lead.offers += 1
            lead.ownerless += candidate.owner_id is None
    return list(firsts.values())


def plan(
    candidates: Iterable[WaitingCandidate],
    loads: Mapping[str, OwnerLoad],
    policy: CapacityPolicy,
    now: datetime,
) -> Plan:
    """Best first, per owner while there is room, one unit of capacity (one task) per account:
    every candidate in memory (a dry run's findings, tests, bench/attention.py)."""
    candidates = list(candidates)
    result = Plan()
    promoted = list(decide(leads_of(candidates, policy.one_task_per_account), loads, policy, now, result))
    if policy.one_task_per_account:
        by_account: dict[str, list[WaitingCandidate]] = {}
        for c in candidates:
            by_account.setdefault(c.account_id, []).append(c)
        rows = with_followers(promoted, lambda ids: (c for a in ids for c in by_account[a]))
    else:
        rows = [(lead.candidate, promotion) for lead, promotion in promoted]
    rows.sort(key=lambda row: rank_key(row[0]))
    result.chosen = [promotion for _, promotion in rows]
    result.planned = len(result.chosen)
    return result
