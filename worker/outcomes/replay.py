"""The history a backtest replays: accounts rolled back through their recorded states, usage as it
was known on a day, and the days each account expanded. Read from the connector (read-only) and
the ledger by `load_history`; `worker/outcomes/backtest.py` replays playbooks over it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from connectors.base import AccountState, ReadReport
from connectors.capabilities import ReadsAccountHistory
from domain import Account, OpportunityStatus, Series
from worker.pipeline.snapshots import series_from_snapshots
from worker.store.outcomes import WON


@dataclass
class ReplayHistory:
    end: date  # the last day the data describes
    accounts: list[Account]
    usage: dict[str, dict[str, Series]] = field(default_factory=dict)  # per-period series
    snapshots: dict[str, dict[str, list[tuple[date, float]]]] = field(
        default_factory=dict
    )  # rolling 30-day values
    states: dict[str, list[AccountState]] = field(default_factory=dict)  # oldest first
    won: dict[str, list[date]] = field(default_factory=dict)  # close days of won deals
    baskets: list[frozenset[str]] = field(default_factory=list)


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


def period_of(days: Sequence[date]) -> timedelta:
    """The shortest gap between a series' days (ascending, repeats allowed): its reporting period."""
    gaps = [(b - a).days for a, b in pairwise(days) if b > a]
    return timedelta(days=min(gaps) if gaps else 1)


def usage_as_of(
    history: ReplayHistory, account_id: str, day: date, periods: Mapping[str, timedelta]
) -> dict[str, Series]:
    """Only what was known on `day`: periods that had ended, snapshots already taken."""
    series: dict[str, Series] = {}
    for metric, full in history.usage.get(account_id, {}).items():
        ended = bisect_right(full.days, day - periods.get(metric, timedelta(days=1)))
        series[metric] = Series(full.days[:ended], full.values[:ended])
    for metric, snaps in history.snapshots.get(account_id, {}).items():
        taken = [(d, v) for d, v in snaps if d <= day]
        if taken and metric not in series:
            series[metric] = series_from_snapshots(taken, day)
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
                usage[record.account.id] = usage_series(record, {}, datetime.now(UTC))
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
