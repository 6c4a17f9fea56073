"""Assessing one account: journey stage, every playbook's score, guardrails, and the resulting
opportunities and tasks. Pure: every input is handed in, including `now`.

This is the function the CLI, the Celery tasks and `explain` all call, so an explanation shown to a
person is exactly the reasoning a pass used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from math import isfinite
from typing import Any

from domain import Account, Conversation, JourneyStage, Series
from domain.opportunity import opportunity_key
from playbooks.affinity import AffinityModel
from playbooks.calibration import WinChances
from playbooks.catalog import Catalog
from playbooks.engine import CompiledPlaybook, PlaybookScore, compile_playbook, score_playbook
from playbooks.formula import AmountError, AmountFormula
from playbooks.guardrails import (
    AccountHistory,
    GuardrailPolicy,
    already_owned,
    cooldown_block,
    stage_block,
)
from playbooks.holdout import HOLDOUT, in_control_group
from playbooks.intent_signals import (
    CHURN_RISK,
    Heard,
    HeardIntent,
    Listener,
    churn_block,
)
from playbooks.journey import STAGE_FEATURES, JourneyPolicy, derive_stage
from playbooks.model import Playbook
from playbooks.offers import (
    NO_PRICE_IN_CURRENCY,
    OfferResolver,
    ResolvedOffer,
    Unpriced,
    offer_currency,
)
from playbooks.outcome import (  # the outcome vocabulary: callers import it from here
    ALREADY_OPEN,
    AMOUNT_INVALID,
    BELOW_THRESHOLD,
    NEW,
    SUPPRESSED,
    VALUE_OUT_OF_RANGE,
    AccountAssessment,
    PlaybookOutcome,
)
from playbooks.proposal import estimate_amount, opportunity_for, task_for
from playbooks.signals import SIGNALS, SignalContext
from playbooks.usage import MetricSummary, summarise_all


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
        holdout_ids: Mapping[str, str] | None = None,
        win_chances: WinChances | None = None,
    ) -> None:
        # P(win) from the ledger's closed deals (the prior alone without them): the task says it.
        self.win_chances = win_chances or WinChances()
        # account id -> the id its control groups were drawn with (a migrated account keeps the
        # old CRM's draw: a control account stays control, a treated one treated).
        self.holdout_ids = dict(holdout_ids or {})
        self.listener = listener  # hears intents in conversations; None: conversations are ignored
        self.compiled: list[CompiledPlaybook] = [compile_playbook(p) for p in playbooks]
        self.catalog = catalog
        self._offers = OfferResolver(catalog)
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
            (key, SIGNALS[name].fn, metric if SIGNALS[name].per_metric else None)
            for key, (name, metric) in wanted.items()
        )
        # Parse each amount formula once, not once per opportunity.
        self._amounts = {p.id: AmountFormula(p.amount) for p in playbooks}

    def summarise_usage(
        self, usage: Mapping[str, Series], today: date, since: date | None
    ) -> dict[str, MetricSummary]:
        return summarise_all(usage, today, since, self._gauges)

    def signals_for(
        self,
        account: Account,
        usage: Mapping[str, MetricSummary],
        today: date,
        unusable: dict[str, str] | None = None,
        heard: Heard | None = None,
    ) -> dict[str, Any]:
        """Every signal the playbooks and the journey read. A value that is not a finite number
        (usage of 1e308 summed to infinity, an overflowing ratio) is scored as missing, and the
        reason is put in `unusable`: one absurd record must not crash or skew a pass."""
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
            try:
                value = fn(account, ctx) if metric is None else fn(account, ctx, metric)
                if value is not None and not isfinite(value):
                    raise ValueError(f"{value} is not a finite number")
            except (ArithmeticError, ValueError) as exc:
                value = None
                if unusable is not None:
                    unusable[key] = (
                        f"{type(exc).__name__}: {exc}" if isinstance(exc, ArithmeticError) else str(exc)
                    )
            values[key] = value
        if ctx.affinity is not None:
            values["co_purchase_product"] = ctx.affinity.product
        return values

    def assess(
        self,
        account: Account,
        usage: Mapping[str, Series],
        history: AccountHistory,
        now: datetime,
        last_run_at: datetime | None = None,
        conversations: Iterable[Conversation] | None = None,
        known_mentions: Iterable[HeardIntent] = (),
    ) -> AccountAssessment:
        today = now.date()
        summaries = self.summarise_usage(usage, today, last_run_at.date() if last_run_at else None)
        unusable: dict[str, str] = {}
        heard = None
        if conversations is not None and self.listener is not None:
            heard = self.listener.hear(conversations, today, known_mentions)
        signals = self.signals_for(account, summaries, today, unusable, heard)
        stage, stage_reason = derive_stage(account, signals, self.journey_policy)
        result = AccountAssessment(
            account, stage, stage_reason, signals, unusable_signals=unusable, heard=heard
        )
        budget = self.guardrails.max_new_offers_per_30_days
        if history.opportunities:
            budget -= history.created_since(now - timedelta(days=30))
        # Outcomes stay in the playbooks' own order, for stable output: each has its slot.
        outcomes: list[PlaybookOutcome] = []
        qualifying: list[tuple[int, PlaybookScore]] = []
        for index, compiled in enumerate(self.compiled):
            score = score_playbook(compiled, signals)
            if score.qualifies:
                qualifying.append((index, score))
            outcomes.append(PlaybookOutcome(score, BELOW_THRESHOLD))
        offered: set[str] = set()
        if len(qualifying) > 1:  # highest scores first, so the offer cap keeps the strongest offers
            qualifying.sort(key=lambda pair: -pair[1].score)
        for index, score in qualifying:
            try:
                outcome = self._decide(score, account, stage, history, now, budget, offered, heard)
            except AmountError as exc:  # this offer only: the account's other offers and the pass go on
                note = f"amount formula {score.playbook.amount!r}: {exc}"
                outcome = PlaybookOutcome(score, SUPPRESSED, AMOUNT_INVALID, note=note)
            except ArithmeticError as exc:  # a value too large to price (overflow, decimal range)
                outcome = PlaybookOutcome(
                    score, SUPPRESSED, VALUE_OUT_OF_RANGE, note=f"{type(exc).__name__}: {exc}"
                )
            # A control account takes its slot as a treated one would, so the rest of the account's
            # offers are the same in both groups.
            if outcome.status in (NEW, HOLDOUT):
                assert outcome.opportunity is not None
                budget -= 1
                offered.add(outcome.opportunity.offer)
            outcomes[index] = outcome
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
        offer = self._offers.resolve(playbook.offer, account, recommendation)
        if isinstance(offer, str):
            return PlaybookOutcome(score, SUPPRESSED, offer)
        if isinstance(offer, Unpriced):
            return PlaybookOutcome(score, SUPPRESSED, NO_PRICE_IN_CURRENCY, note=offer.note)
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
        amount = self.estimate_amount(playbook, account, offer, score.score)
        currency = offer_currency(account, self.catalog)
        opportunity = opportunity_for(key, score, account, stage, offer, now, amount, currency)
        if in_control_group(self.holdout_ids.get(account.id, account.id), playbook.id, playbook.holdout):
            # Would have fired: the opportunity is kept for the ledger's record, no task is built
            # and nothing is written (writers only take NEW outcomes).
            return PlaybookOutcome(score, HOLDOUT, HOLDOUT, opportunity, None)
        task = task_for(opportunity, score, account, offer, now, self.win_chances, heard)
        return PlaybookOutcome(score, NEW, None, opportunity, task)

    def estimate_amount(
        self, playbook: Playbook, account: Account, offer: ResolvedOffer, score: int
    ) -> Decimal:
        """The deal's amount from the playbook's formula, parsed once per pass. Raises `AmountError`
        when the formula gives no finite amount for this account."""
        return estimate_amount(self._amounts[playbook.id], account, offer, score)


__all__ = [
    "ALREADY_OPEN",
    "AMOUNT_INVALID",
    "BELOW_THRESHOLD",
    "HOLDOUT",
    "NEW",
    "SUPPRESSED",
    "VALUE_OUT_OF_RANGE",
    "AccountAssessment",
    "Assessor",
    "PlaybookOutcome",
]
