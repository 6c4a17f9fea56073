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

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from playbooks.affinity import AffinityModel, BasketCounter
from playbooks.assess import NEW, SUPPRESSED, Assessor
from playbooks.calibration import WinChances
from playbooks.catalog import Catalog
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.holdout import HOLDOUT
from playbooks.model import Playbook
from worker.outcomes.calibration_table import Calibration, Flag
from worker.outcomes.replay import (  # re-exported: the history's shape and loading live there
    ReplayHistory,
    account_as_of,
    expansion_days,
    load_history,
    period_of,
    usage_as_of,
)

NO_CAP = GuardrailPolicy(max_new_offers_per_30_days=1_000_000)


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
    calibration: Calibration = field(default_factory=lambda: Calibration(None, ()))

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
            **self.calibration.public(),
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
    chances: WinChances | None = None,
) -> BacktestResult:
    """`chances`: the P(win) a pass would show (from the ledger's closed deals; the prior alone
    when None), set against what happened after each account's first flag."""
    chances = chances or WinChances()
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
    first: dict[str, dict[str, float]] = {p.id: {} for p in playbooks}  # account -> predicted at 1st flag
    first_score: dict[str, dict[str, int]] = {p.id: {} for p in playbooks}
    replayed = 0
    fires: dict[str, int] = {p.id: 0 for p in playbooks}
    periods = {}
    for series in history.usage.values():
        for metric, known in series.items():
            if metric not in periods and len(known.days) > 1:
                periods[metric] = period_of(known.days)
    for done, account in enumerate(history.accounts):
        if progress:
            progress(done, len(history.accounts))
        states = history.states.get(account.id, [])
        customer = False
        for day in days:
            as_of = account_as_of(account, states, day)
            if as_of is None:
                continue
            if not customer:  # a customer on some replayed day: counts in the base rate
                customer, replayed = True, replayed + 1
            now = datetime.combine(day, time(6), tzinfo=UTC)
            assessment = assessor.assess(
                as_of, usage_as_of(history, account.id, day, periods), AccountHistory(), now
            )
            for outcome in assessment.outcomes:
                if _fired(outcome):
                    pid = outcome.playbook.id
                    fires[pid] += 1
                    flags[pid][account.id].append(day)
                    if account.id not in first[pid]:
                        score = outcome.score.score
                        first[pid][account.id] = chances.probability(pid, score, assessment.stage)
                        first_score[pid][account.id] = score
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
        expanded_after = {a: any(d >= ds[0] for d in grew.get(a, ())) for a, ds in flagged.items()}
        never = sum(1 for grown in expanded_after.values() if not grown)
        calibration = Calibration(
            len(in_period) / replayed if replayed else None,
            tuple(
                Flag(first_score[playbook.id][a], first[playbook.id][a], grown)
                for a, grown in sorted(expanded_after.items())
            ),
        )
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
                calibration,
            )
        )
    return BacktestResult(start, end, every, len(history.accounts), in_period, results)


__all__ = ["ReplayHistory", "account_as_of", "load_history", "run_backtest", "usage_as_of"]
