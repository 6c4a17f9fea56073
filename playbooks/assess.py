"""Assessing one account: journey stage, every playbook's score, guardrails, and the resulting
opportunities and tasks. Pure: every input is handed in, including `now`.

This is the function the CLI, the Celery tasks and `explain` all call, so an explanation shown to a
person is exactly the reasoning a pass used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simpleeval import SimpleEval

from domain import Account, Conversation, FollowUpTask, JourneyStage, Opportunity
from domain.opportunity import opportunity_key
from playbooks.affinity import AffinityModel
from playbooks.catalog import Catalog
from playbooks.engine import CompiledPlaybook, PlaybookScore, compile_playbook, score_playbook
from playbooks.guardrails import (
    AccountHistory,
    GuardrailPolicy,
    already_owned,
    cooldown_block,
    stage_block,
)
from playbooks.holdout import HOLDOUT, in_control_group
from playbooks.intent_signals import CHURN_RISK, Heard, Listener, churn_block, quotes, render_quotes
from playbooks.journey import STAGE_FEATURES, JourneyPolicy, derive_stage
from playbooks.model import Playbook
from playbooks.offers import ResolvedOffer, resolve_offer, suggested_seats
from playbooks.render import render_explanation, render_template, task_marker
from playbooks.signals import SIGNALS, SignalContext
from playbooks.usage import MetricSummary, summarise

NEW = "new"
ALREADY_OPEN = "already_open"
SUPPRESSED = "suppressed"
BELOW_THRESHOLD = "below_threshold"


@dataclass(slots=True)
class PlaybookOutcome:
    score: PlaybookScore
    status: str
    detail: str | None = None  # why suppressed, or which deal is already open
    opportunity: Opportunity | None = None
    task: FollowUpTask | None = None

    @property
    def playbook(self) -> Playbook:
        return self.score.playbook

    @property
    def reason(self) -> str | None:
        """Why it did not fire; for scores below the bar, worded only when someone asks."""
        if self.status != BELOW_THRESHOLD:
            return self.detail
        if self.score.missing_required:
            return "required signal not met: " + ", ".join(self.score.missing_required)
        return f"score {self.score.score} below {self.playbook.threshold}"


@dataclass(slots=True)
class AccountAssessment:
    account: Account
    stage: JourneyStage
    stage_reason: str
    signals: dict[str, Any]
    outcomes: list[PlaybookOutcome] = field(default_factory=list)
    heard: Heard | None = None  # what its recent conversations said (None: none were read)

    @property
    def new(self) -> list[PlaybookOutcome]:
        return [o for o in self.outcomes if o.status == NEW]


class Assessor:
    """Holds what is fixed for a pass (playbooks, catalog, affinity, policies) and assesses
    accounts one at a time."""

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        catalog: Catalog,
        affinity: AffinityModel | None = None,
        journey_policy: JourneyPolicy = JourneyPolicy(),
        guardrails: GuardrailPolicy = GuardrailPolicy(),
        listener: Listener | None = None,
    ) -> None:
        self.listener = listener  # hears intents in conversations; None: conversations are ignored
        self.compiled: list[CompiledPlaybook] = [compile_playbook(p) for p in playbooks]
        self.catalog = catalog
        self.affinity = affinity or AffinityModel(())
        self.journey_policy = journey_policy
        self.guardrails = guardrails
        self._gauges = frozenset(catalog.gauge_metrics)
        self._order = {c.playbook.id: i for i, c in enumerate(self.compiled)}
        self._plans = {p.rank: p for p in catalog.plans}
        wanted: dict[str, tuple[str, str | None]] = {}
        for key in STAGE_FEATURES:
            name, _, metric = key.partition(".")
            wanted[key] = (name, metric or None)
        for compiled in self.compiled:
            for check in compiled.checks:
                wanted[check.key] = (check.condition.signal, check.condition.metric)
        # (key, function, metric or None), resolved once: signals_for runs per account.
        self._signal_plan = tuple(
            (key, SIGNALS[name].fn, metric if SIGNALS[name].per_metric else None) for key, (name, metric) in wanted.items()
        )
        self._evaluator = SimpleEval(functions={"min": min, "max": max, "round": round})
        # Parse each amount formula once, not once per opportunity.
        self._amounts = {p.id: self._evaluator.parse(p.amount) for p in playbooks}

    def summarise_usage(
        self, usage: Mapping[str, Iterable[tuple[date, float]]], today: date, since: date | None
    ) -> dict[str, MetricSummary]:
        return {m: summarise(points, today, since, m in self._gauges) for m, points in usage.items()}

    def signals_for(
        self, account: Account, usage: Mapping[str, MetricSummary], today: date, heard: Heard | None = None
    ) -> dict[str, Any]:
        plan = self._plans.get(account.plan_rank)
        ctx = SignalContext(
            today=today,
            usage=usage,
            plan_limits=plan.limits if plan else {},
            affinity=self.affinity.recommend(account.products),
            heard=heard,
        )
        values: dict[str, Any] = {}
        for key, fn, metric in self._signal_plan:
            values[key] = fn(account, ctx) if metric is None else fn(account, ctx, metric)
        if ctx.affinity is not None:
            values["co_purchase_product"] = ctx.affinity.product
        return values

    def assess(
        self,
        account: Account,
        usage: Mapping[str, Iterable[tuple[date, float]]],
        history: AccountHistory,
        now: datetime,
        last_run_at: datetime | None = None,
        conversations: Iterable[Conversation] | None = None,
    ) -> AccountAssessment:
        today = now.date()
        summaries = self.summarise_usage(usage, today, last_run_at.date() if last_run_at else None)
        heard = None
        if conversations is not None and self.listener is not None:
            heard = self.listener.hear(conversations, today)
        signals = self.signals_for(account, summaries, today, heard)
        stage, stage_reason = derive_stage(account, signals, self.journey_policy)
        result = AccountAssessment(account, stage, stage_reason, signals, heard=heard)
        budget = self.guardrails.max_new_offers_per_30_days
        if history.opportunities:
            budget -= history.created_since(now - timedelta(days=30))
        outcomes: list[PlaybookOutcome] = []
        qualifying: list[PlaybookScore] = []
        for compiled in self.compiled:
            score = score_playbook(compiled, signals)
            if score.qualifies:
                qualifying.append(score)
            else:
                outcomes.append(PlaybookOutcome(score, BELOW_THRESHOLD))
        offered: set[str] = set()
        # Highest scores first, so the offer cap keeps the strongest offers.
        for score in sorted(qualifying, key=lambda s: -s.score):
            outcome = self._decide(score, account, stage, history, now, budget, offered, heard)
            # A control account takes its slot as a treated one would, so the rest of the account's
            # offers are the same in both groups.
            if outcome.status in (NEW, HOLDOUT):
                assert outcome.opportunity is not None
                budget -= 1
                offered.add(outcome.opportunity.offer)
            outcomes.append(outcome)
        if qualifying:  # keep the playbooks' own order, for stable output
            outcomes.sort(key=lambda o: self._order[o.playbook.id])
        result.outcomes = outcomes
        return result

    def _decide(
        self,
        score: PlaybookScore,
        account: Account,
        stage: JourneyStage,
        history: AccountHistory,
        now: datetime,
        budget: int,
        offered: set[str],
        heard: Heard | None = None,
    ) -> PlaybookOutcome:
        playbook = score.playbook
        if self.listener is not None and churn_block(heard, now.date(), self.listener.policy) is not None:
            return PlaybookOutcome(score, SUPPRESSED, CHURN_RISK)  # the quote: AccountAssessment.heard
        blocked = stage_block(playbook, stage, account)
        if blocked:
            return PlaybookOutcome(score, SUPPRESSED, blocked)
        recommendation = self.affinity.recommend(account.products)
        offer = resolve_offer(playbook.offer, account, self.catalog, recommendation)
        if isinstance(offer, str):
            return PlaybookOutcome(score, SUPPRESSED, offer)
        if already_owned(account, offer.code, account.plan):
            return PlaybookOutcome(score, SUPPRESSED, "already_owned")
        open_deal = history.open_for(playbook.id)
        if open_deal is not None:
            return PlaybookOutcome(score, ALREADY_OPEN, open_deal.key)
        if offer.code in offered or history.open_offer(offer.code) is not None:
            return PlaybookOutcome(score, SUPPRESSED, "same_offer_open")
        blocked = cooldown_block(playbook, history, now)
        if blocked:
            return PlaybookOutcome(score, SUPPRESSED, blocked)
        if budget <= 0:
            return PlaybookOutcome(score, SUPPRESSED, "offer_cap")
        cycle = history.closed_count(playbook.id, offer.code) + 1
        key = opportunity_key(account.id, playbook.id, offer.code, cycle)
        opportunity = self._opportunity(key, score, account, stage, offer, now)
        if in_control_group(account.id, playbook.id, playbook.holdout):
            # Would have fired: the opportunity is kept for the ledger's record, no task is built
            # and nothing is written (writers only take NEW outcomes).
            return PlaybookOutcome(score, HOLDOUT, HOLDOUT, opportunity, None)
        task = self._task(opportunity, score, account, offer, now, heard)
        return PlaybookOutcome(score, NEW, None, opportunity, task)

    def estimate_amount(self, playbook: Playbook, account: Account, offer: ResolvedOffer, score: int) -> Decimal:
        mrr = float(account.mrr or 0)
        seats = account.seats_purchased or 0
        names = {
            "mrr": mrr,
            "seats_purchased": seats,
            "seats_used": account.seats_used or 0,
            "suggested_seats": offer.suggested_seats or suggested_seats(account),
            "price_per_seat": mrr / seats if seats else 0.0,
            "offer_monthly_price": float(offer.monthly_price),
            "plan_rank": account.plan_rank,
            "score": score,
        }
        self._evaluator.names = names
        value = self._evaluator.eval(playbook.amount, previously_parsed=self._amounts[playbook.id])
        amount = Decimal(str(value)) if value is not None else Decimal(0)
        return max(amount, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def _opportunity(
        self,
        key: str,
        score: PlaybookScore,
        account: Account,
        stage: JourneyStage,
        offer: ResolvedOffer,
        now: datetime,
    ) -> Opportunity:
        playbook = score.playbook
        # Built from validated parts: construct without re-validating, on the hot path of a pass.
        return Opportunity.model_construct(
            key=key,
            account_id=account.id,
            account_name=account.name,
            kind=playbook.kind,
            playbook=playbook.id,
            title=f"{account.name or account.id}: {offer.title}",
            offer=offer.code,
            estimated_amount=self.estimate_amount(playbook, account, offer, score.score),
            currency=account.currency,
            score=score.score,
            explanation=score.contributions(),
            owner_id=account.owner_id,
            journey_stage=stage,
            close_date=now.date() + timedelta(days=playbook.close_in_days),
        )

    def _task(
        self,
        opportunity: Opportunity,
        score: PlaybookScore,
        account: Account,
        offer: ResolvedOffer,
        now: datetime,
        heard: Heard | None = None,
    ) -> FollowUpTask:
        template = score.playbook.task
        values: dict[str, str] = {
            "account_name": account.name or account.id,
            "account_id": account.id,
            "offer": offer.code,
            "offer_title": offer.title,
            "playbook_title": score.playbook.title,
            "score": str(score.score),
            "stage": opportunity.journey_stage.value.replace("_", " "),
            "amount": f"{opportunity.estimated_amount:,.2f}",
            "currency": opportunity.currency,
            "suggested_seats": str(offer.suggested_seats or suggested_seats(account)),
        }
        values["reasons"] = render_explanation(opportunity.explanation)
        values["talking_points"] = "\n".join(
            "- " + render_template(point, values) for point in template.talking_points
        )
        body = render_template(template.body, values).rstrip() + "\n\n"
        if heard is not None and heard.mentions:  # the customer's own words, so the CSM picks up there
            said = render_quotes(quotes(opportunity.explanation, heard, account, offer.code))
            body += said + "\n\n" if said else ""
        body += task_marker(opportunity.key)
        return FollowUpTask.model_construct(
            opportunity_key=opportunity.key,
            account_id=account.id,
            subject=render_template(template.subject, values),
            body=body,
            due_date=now.date() + timedelta(days=template.due_in_days),
            priority=template.priority,
            owner_id=account.owner_id,
        )
