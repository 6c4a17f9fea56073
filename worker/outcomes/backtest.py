"""`oppworker backtest`: replay playbooks over history, as of each day, and score them against what
really happened. Writes nothing: no deal, no task, no ledger row.

History comes from what we already keep: the connector's accounts (today's state) rolled back by
their recorded states (`read_account_history` where a connector has it, e.g. the file connector's
`account_history` table, plus the plan/seat states the ledger stored each pass), usage from the
source's own time series (files) or the ledger's rolling 30-day snapshots (CRMs), and won deals
(ours, from the CRM listing and the outcome store). An *expansion* is a plan or seat increase
between two recorded states, or a won deal; for every playbook the backtest reports how often it
fired, which expanded accounts it flagged and how many days ahead, and how many accounts it flagged
that never expanded.

What replay cannot know is stated rather than guessed: owned products, NPS, CSAT and contract dates
are today's values (no history of them is kept), and affinity rules are mined from today's baskets.
Guardrails that depend on our own past deals (open deal, cooldown, offer cap) are left out on
purpose: the question is whether the playbook's *signals* anticipate expansion.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from connectors.base import AccountState, ReadReport
from connectors.capabilities import ReadsAccountHistory
from domain import Account, OpportunityStatus
from playbooks.affinity import AffinityModel, BasketCounter
from playbooks.assess import NEW, SUPPRESSED, Assessor
from playbooks.catalog import Catalog
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.holdout import HOLDOUT
from playbooks.model import Playbook
from worker.pipeline.snapshots import series_from_snapshots
from worker.store.outcomes import WON

NO_CAP = GuardrailPolicy(max_new_offers_per_30_days=1_000_000)


@dataclass
class ReplayHistory:
    end: date  # the last day the data describes
    accounts: list[Account]
    usage: dict[str, dict[str, list[tuple[date, float]]]] = field(default_factory=dict)  # per-period series
    snapshots: dict[str, dict[str, list[tuple[date, float]]]] = field(
        default_factory=dict
    )  # rolling 30-day values
    states: dict[str, list[AccountState]] = field(default_factory=dict)  # oldest first
    won: dict[str, list[date]] = field(default_factory=dict)  # close days of won deals
    baskets: list[frozenset[str]] = field(default_factory=list)


@dataclass
class PlaybookBacktest:
    playbook: str
    days: int  # replay days in the period
    fires: int  # (account, day) pairs on which it would have fired
    accounts_flagged: int
    expanded: int  # accounts that expanded in the period (the same for every playbook)
    caught: int  # of those, flagged before they expanded
    days_ahead: list[int]  # per caught account: first flag -> expansion
    flagged_never_expanded: int  # flagged, and no expansion on or after the first flag
    missed: list[str] = field(default_factory=list)  # expanded accounts it never flagged in time

    @property
    def median_days_ahead(self) -> float | None:
        return statistics.median(self.days_ahead) if self.days_ahead else None

    @property
    def precision(self) -> float | None:
        """Share of flagged accounts that went on to expand."""
        return (
            (self.accounts_flagged - self.flagged_never_expanded) / self.accounts_flagged
            if self.accounts_flagged
            else None
        )

    @property
    def recall(self) -> float | None:
        return self.caught / self.expanded if self.expanded else None

    def public(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "days": self.days,
            "fires": self.fires,
            "accounts_flagged": self.accounts_flagged,
            "expanded": self.expanded,
            "caught": self.caught,
            "median_days_ahead": self.median_days_ahead,
            "days_ahead": self.days_ahead,
            "flagged_never_expanded": self.flagged_never_expanded,
            "precision": self.precision,
            "recall": self.recall,
            "missed": self.missed,
        }


@dataclass
class BacktestResult:
    start: date
    end: date
    every: int
    accounts: int
    expansions: dict[str, date]  # account -> first expansion day in the period
    playbooks: list[PlaybookBacktest]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "every_days": self.every,
            "accounts": self.accounts,
            "expanded_accounts": len(self.expansions),
            "playbooks": [p.public() for p in self.playbooks],
        }


def account_as_of(account: Account, states: Sequence[AccountState], day: date) -> Account | None:
    """The account as it stood on `day`, or None if it was not a customer yet. Before its first
    recorded state an account is taken to be in that first state."""
    if account.customer_since is not None and account.customer_since > day:
        return None
    if not states:
        return account
    current = states[0]
    for state in states:
        if state.valid_from <= day:
            current = state
        else:
            break
    update = {
        name: getattr(current, name)
        for name in ("plan", "plan_rank", "seats_purchased", "seats_used", "mrr")
        if getattr(current, name) is not None
    }
    return account.model_copy(update=update) if update else account


def _period(points: Sequence[tuple[date, float]]) -> timedelta:
    days = sorted({d for d, _ in points})
    gaps = [(b - a).days for a, b in pairwise(days) if b > a]
    return timedelta(days=min(gaps) if gaps else 1)


def usage_as_of(
    history: ReplayHistory, account_id: str, day: date, periods: Mapping[str, timedelta]
) -> dict[str, list[tuple[date, float]]]:
    """Only what was known on `day`: periods that had ended, snapshots already taken."""
    series: dict[str, list[tuple[date, float]]] = {}
    for metric, points in history.usage.get(account_id, {}).items():
        length = periods.get(metric, timedelta(days=1))
        series[metric] = [(d, v) for d, v in points if d + length <= day]
    for metric, snaps in history.snapshots.get(account_id, {}).items():
        known = [(d, v) for d, v in snaps if d <= day]
        if known and metric not in series:
            series[metric] = series_from_snapshots(known, day)
    return series


def expansion_days(history: ReplayHistory) -> dict[str, list[date]]:
    """account -> sorted days it expanded: a plan or seat increase between recorded states, or a won deal."""
    found: dict[str, set[date]] = defaultdict(set)
    for account_id, states in history.states.items():
        for before, after in pairwise(states):
            if (after.plan_rank or 0) > (before.plan_rank or 0) or (after.seats_purchased or 0) > (
                before.seats_purchased or 0
            ):
                found[account_id].add(after.valid_from)
    for account_id, days in history.won.items():
        found[account_id].update(days)
    return {a: sorted(d) for a, d in found.items()}


def replay_days(start: date, end: date, every: int) -> list[date]:
    days, day = [], start
    while day <= end:
        days.append(day)
        day += timedelta(days=every)
    return days


def _fired(outcome: Any) -> bool:
    return outcome.status in (NEW, HOLDOUT) or (
        outcome.status == SUPPRESSED and outcome.detail == "same_offer_open"
    )


def run_backtest(
    playbooks: Sequence[Playbook],
    catalog: Catalog,
    history: ReplayHistory,
    start: date,
    end: date,
    every: int = 1,
    affinity: AffinityModel | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> BacktestResult:
    if end < start:
        raise ValueError("--to is before --from")
    if affinity is None:
        counter = BasketCounter()
        for basket in history.baskets:
            counter.add(basket)
        affinity = AffinityModel(counter.rules(min_support=0.02, min_confidence=0.3), min_lift=1.2)
    assessor = Assessor(playbooks, catalog, affinity, guardrails=NO_CAP)
    days = replay_days(start, end, every)
    flags: dict[str, dict[str, list[date]]] = {p.id: defaultdict(list) for p in playbooks}
    fires: dict[str, int] = {p.id: 0 for p in playbooks}
    periods = {}
    for series in history.usage.values():
        for metric, points in series.items():
            if metric not in periods and len(points) > 1:
                periods[metric] = _period(points)
    for done, account in enumerate(history.accounts):
        if progress:
            progress(done, len(history.accounts))
        states = history.states.get(account.id, [])
        for day in days:
            as_of = account_as_of(account, states, day)
            if as_of is None:
                continue
            now = datetime.combine(day, time(6), tzinfo=UTC)
            assessment = assessor.assess(
                as_of, usage_as_of(history, account.id, day, periods), AccountHistory(), now
            )
            for outcome in assessment.outcomes:
                if _fired(outcome):
                    fires[outcome.playbook.id] += 1
                    flags[outcome.playbook.id][account.id].append(day)
    grew = expansion_days(history)
    in_period = {
        a: next(d for d in ds if start < d <= end)
        for a, ds in grew.items()
        if any(start < d <= end for d in ds)
    }
    results = []
    for playbook in playbooks:
        flagged = flags[playbook.id]
        ahead, missed = [], []
        for account_id, expanded_on in sorted(in_period.items()):
            before = [d for d in flagged.get(account_id, ()) if d < expanded_on]
            if before:
                ahead.append((expanded_on - before[0]).days)
            else:
                missed.append(account_id)
        never = sum(1 for a, ds in flagged.items() if not any(d >= ds[0] for d in grew.get(a, ())))
        results.append(
            PlaybookBacktest(
                playbook.id,
                len(days),
                fires[playbook.id],
                len(flagged),
                len(in_period),
                len(ahead),
                ahead,
                never,
                missed,
            )
        )
    return BacktestResult(start, end, every, len(history.accounts), in_period, results)


def load_history(settings: Any, crm: str, connector: Any = None) -> ReplayHistory:
    """Everything a replay needs, from the connector (read-only) and the ledger."""
    from connectors.registry import build_connector
    from worker.outcomes.sync import store_for
    from worker.pipeline.assess import usage_series
    from worker.store.ledger import Ledger

    settings.output_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    store = store_for(ledger)
    owns = connector is None
    connector = connector or build_connector(crm, {**settings.connector_options(crm), "dry_run": True})
    try:
        read = ReadReport()
        accounts, usage, snapshot_ids = [], {}, []
        baskets = []
        for record in connector.read_accounts(None, read):
            accounts.append(record.account)
            baskets.append(record.account.products)
            if record.usage_is_snapshot:
                snapshot_ids.append(record.account.id)
            else:
                usage[record.account.id] = {
                    m: sorted(p) for m, p in usage_series(record, {}, datetime.now(UTC)).items()
                }
        snapshots = ledger.snapshots(crm, snapshot_ids) if snapshot_ids else {}
        states: dict[str, list[AccountState]] = defaultdict(list)
        if isinstance(connector, ReadsAccountHistory):
            for state in connector.read_account_history():
                states[state.account_id].append(state)
        for row in store.states(crm):
            states[row["account_id"]].append(
                AccountState(
                    row["account_id"],
                    row["taken_on"],
                    None,
                    row["plan_rank"],
                    row["seats_purchased"],
                    None,
                    None,
                )
            )
        won: dict[str, set[date]] = defaultdict(set)
        for deal in connector.read_opportunities():
            if deal.status is OpportunityStatus.WON and deal.closed_at is not None:
                won[deal.account_id].add(deal.closed_at.date())
        for row in store.outcomes(crm):
            if row["status"] == WON and row["closed_at"] is not None:
                won[row["account_id"]].add(row["closed_at"].date())
        as_of = connector.data_as_of() or datetime.now(UTC)
        return ReplayHistory(
            end=as_of.date(),
            accounts=accounts,
            usage=usage,
            snapshots=snapshots,
            states={a: _dedupe(s) for a, s in states.items()},
            won={a: sorted(d) for a, d in won.items()},
            baskets=baskets,
        )
    finally:
        if owns:
            connector.close()


def _dedupe(states: Iterable[AccountState]) -> list[AccountState]:
    """Oldest first; one state per day (a connector's record wins over a ledger snapshot that day)."""
    by_day: dict[date, AccountState] = {}
    for state in states:
        by_day.setdefault(state.valid_from, state)
    return [by_day[d] for d in sorted(by_day)]
