"""The signals a playbook can weigh: small named functions of one account's facts.

Each returns a number, or None when the account lacks the data (a missing value never scores
points). The registry `SIGNALS` is the vocabulary playbook files may use; the assessor evaluates
all of them once per account so that any number of playbooks reading them costs only lookups.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from domain import Account
from playbooks.affinity import Recommendation
from playbooks.usage import MetricSummary

if TYPE_CHECKING:
    from playbooks.intent_signals import Heard

PREMIUM_ATTEMPTS_METRIC = "premium_feature_attempts"
ACTIVE_USERS_METRIC = "active_users"


@dataclass(slots=True)
class SignalContext:
    """Everything a signal may read besides the account: injected, never looked up. Not frozen:
    one is built per account on every pass, and a frozen dataclass's __init__ costs twice as much;
    signals only read it."""

    today: date
    usage: Mapping[str, MetricSummary]
    plan_limits: Mapping[str, float] = field(default_factory=dict)  # metric -> monthly limit
    affinity: Recommendation | None = None
    heard: Heard | None = None  # what the account's recent conversations said (intent_signals)


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str
    per_metric: bool
    fn: Callable[..., Any]
    doc: str
    unit: str  # "ratio" renders as a percentage, "number" as a plain figure


SIGNALS: dict[str, SignalSpec] = {}


def signal(
    name: str, per_metric: bool = False, unit: str = "number"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        SIGNALS[name] = SignalSpec(name, per_metric, fn, (fn.__doc__ or "").strip(), unit)
        return fn

    return register


@signal("seat_utilisation", unit="ratio")
def seat_utilisation(account: Account, ctx: SignalContext) -> float | None:
    """Seats in use over seats purchased. Near or past 1.0, the team is outgrowing its licence."""
    if not account.seats_purchased or account.seats_used is None:
        return None
    return account.seats_used / account.seats_purchased


@signal("limit_utilisation", per_metric=True, unit="ratio")
def limit_utilisation(account: Account, ctx: SignalContext, metric: str) -> float | None:
    """Last 30 days of a metric over the plan's monthly limit for it: hitting limits means the plan
    is too small."""
    limit = ctx.plan_limits.get(metric)
    summary = ctx.usage.get(metric)
    if not limit or summary is None:
        return None
    return summary.last_30 / limit


@signal("usage_30d", per_metric=True)
def usage_30d(account: Account, ctx: SignalContext, metric: str) -> float | None:
    """A metric over the last 30 days: the level of use that sizes an offer."""
    summary = ctx.usage.get(metric)
    return None if summary is None else summary.last_30


@signal("usage_trend", per_metric=True, unit="ratio")
def usage_trend(account: Account, ctx: SignalContext, metric: str) -> float | None:
    """Relative change of the last 30 days against the 30 before (0.25 = +25%). None without a
    previous window, since growth from nothing is not a trend."""
    summary = ctx.usage.get(metric)
    if summary is None or not summary.has_previous:
        return None
    if summary.previous_30 == 0:
        return 1.0 if summary.last_30 > 0 else 0.0
    return (summary.last_30 - summary.previous_30) / summary.previous_30


def round_milestones(upto: float) -> list[float]:
    """1, 5, 10, 50, 100, ... : the round numbers customers notice and a CSM can congratulate."""
    values: list[float] = []
    base = 1.0
    while base <= upto and base != math.inf:  # an infinite total must not loop forever
        values.extend(v for v in (base, base * 5) if v <= upto)
        base *= 10
    return values


_MILESTONES = round_milestones(1e15)  # the same floats the loop makes, so results are identical


@signal("milestone_crossed", per_metric=True)
def milestone_crossed(account: Account, ctx: SignalContext, metric: str) -> float | None:
    """The largest round milestone the metric's running total passed since the last run (or in the
    last 30 days on a first run); 0 when none was passed."""
    summary = ctx.usage.get(metric)
    if summary is None:
        return None
    if not (math.isfinite(summary.total) and math.isfinite(summary.total_before)):
        raise ValueError(f"the running total {summary.total} is not a finite number")
    if summary.total <= summary.total_before:
        return 0.0
    if summary.total <= _MILESTONES[-1]:  # the common case: a bisection in the precomputed list
        below = bisect_right(_MILESTONES, summary.total)
        if below and summary.total_before < _MILESTONES[below - 1]:
            return _MILESTONES[below - 1]
        return 0.0
    for value in reversed(round_milestones(summary.total)):
        if summary.total_before < value <= summary.total:
            return value
    return 0.0


@signal("premium_feature_attempts")
def premium_feature_attempts(account: Account, ctx: SignalContext) -> float | None:
    """Attempts to use features above the account's plan in the last 30 days: demand for an upgrade
    the customer has already shown."""
    summary = ctx.usage.get(PREMIUM_ATTEMPTS_METRIC)
    return None if summary is None else summary.last_30


@signal("activation", unit="ratio")
def activation(account: Account, ctx: SignalContext) -> float | None:
    """Active users (30-day mean) over seats purchased: how much of what they bought they use."""
    summary = ctx.usage.get(ACTIVE_USERS_METRIC)
    if summary is None or not account.seats_purchased:
        return None
    return summary.last_30 / account.seats_purchased


@signal("days_to_renewal")
def days_to_renewal(account: Account, ctx: SignalContext) -> float | None:
    """Days until the contract ends; negative once it has lapsed."""
    if account.contract_end_date is None:
        return None
    return float((account.contract_end_date - ctx.today).days)


@signal("tenure_days")
def tenure_days(account: Account, ctx: SignalContext) -> float | None:
    """Days since the account became a customer."""
    if account.customer_since is None:
        return None
    return float(max((ctx.today - account.customer_since).days, 0))


@signal("nps")
def nps(account: Account, ctx: SignalContext) -> float | None:
    """The account's latest NPS answer (0-10): promoters (9-10) welcome a conversation."""
    return account.nps


@signal("csat")
def csat(account: Account, ctx: SignalContext) -> float | None:
    """Support satisfaction (0-5)."""
    return account.csat


@signal("open_escalations")
def open_escalations(account: Account, ctx: SignalContext) -> float | None:
    """Open support escalations: while any is open, no one should be selling."""
    return float(account.open_escalations)


@signal("plan_rank")
def plan_rank(account: Account, ctx: SignalContext) -> float | None:
    """The plan's tier, 0 for the lowest: premium-feature attempts matter on lower tiers."""
    return float(account.plan_rank)


@signal("mrr")
def mrr(account: Account, ctx: SignalContext) -> float | None:
    """Monthly recurring revenue: larger accounts justify add-ons like premium support."""
    return None if account.mrr is None else float(account.mrr)


@signal("seats_purchased")
def seats_purchased(account: Account, ctx: SignalContext) -> float | None:
    """Licensed seats: a measure of the account's scale."""
    return None if account.seats_purchased is None else float(account.seats_purchased)


@signal("co_purchase_confidence", unit="ratio")
def co_purchase_confidence(account: Account, ctx: SignalContext) -> float | None:
    """Of accounts owning what this one owns, the share that also bought the recommended product."""
    return None if ctx.affinity is None else ctx.affinity.confidence


@signal("co_purchase_lift")
def co_purchase_lift(account: Account, ctx: SignalContext) -> float | None:
    """How much likelier the recommended product is for owners of this basket than for anyone (>1
    means a real association, not just a popular product)."""
    return None if ctx.affinity is None else ctx.affinity.lift


# Signals from conversations live in their own module; importing it registers `intent.*`.
from playbooks import intent_signals as _intent_signals  # noqa: E402,F401
