"""What customers said, as signals with recency, and the guardrail that listens for churn risk.

Conversations are run through the intent detector once per account and pass; each intent becomes
the signal `intent.<name>` whose value is the age in days of its latest mention (None when not
heard in the lookback window), so playbook YAML weighs it like any other signal:
`{signal: intent, metric: more_seats, operator: "<=", value: 30}`. A recent `churn_risk` blocks
every offer (`churn_block`), and the sentences that mattered are quoted for the CSM (`quotes`).

Kept out of `signals.py` apart from one registration import, and free of I/O: the detector is
handed in (`playbooks.intents.build_detector`) and conversations come from the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain import Account, Contribution, Conversation
from playbooks.signals import SignalContext, signal

if TYPE_CHECKING:
    from playbooks.intents import IntentDetector

CHURN_RISK = "churn_risk"
PRODUCT_INTEREST = "product_interest"
QUOTE_MAX = 160


@dataclass(frozen=True, slots=True)
class ListeningPolicy:
    lookback_days: int = 180  # older conversations are not read at all
    churn_days: int = 90  # a churn-risk mention this recent blocks every offer
    min_confidence: float = 0.5


@dataclass(frozen=True, slots=True)
class HeardIntent:
    """One intent in one conversation: what was said, when, and where to find it."""

    intent: str
    evidence: str
    confidence: float
    said_on: date
    source: str
    conversation_id: str
    language: str
    product: str | None = None

    def age(self, today: date) -> float:
        return float(max((today - self.said_on).days, 0))

    def quote(self, limit: int = QUOTE_MAX) -> str:
        """`2026-11-02, note: "We will need 20 more seats ..."`: short enough for a task body."""
        text = self.evidence if len(self.evidence) <= limit else self.evidence[: limit - 1].rstrip() + "…"
        return f'{self.said_on.isoformat()}, {self.source}: "{text}"'


@dataclass(frozen=True, slots=True)
class Heard:
    """An account's recent mentions, newest first, as heard on `today` under `policy`."""

    mentions: tuple[HeardIntent, ...] = ()
    today: date | None = None
    policy: ListeningPolicy = ListeningPolicy()

    def latest(self, intent: str, exclude_products: frozenset[str] = frozenset()) -> HeardIntent | None:
        for mention in self.mentions:
            if mention.intent == intent and (
                mention.product is None or mention.product not in exclude_products
            ):
                return mention
        return None

    def latest_for_product(self, product: str) -> HeardIntent | None:
        return next((m for m in self.mentions if m.intent == PRODUCT_INTEREST and m.product == product), None)


class Listener:
    """Turns an account's conversations into `Heard`, with one detector for the whole pass."""

    def __init__(self, detector: IntentDetector, policy: ListeningPolicy = ListeningPolicy()) -> None:
        self.detector = detector
        self.policy = policy

    def since(self, now: datetime) -> datetime:
        """The earliest conversation worth reading on a pass at `now`."""
        return now - timedelta(days=self.policy.lookback_days)

    def hear(
        self, conversations: Iterable[Conversation], today: date, known: Iterable[HeardIntent] = ()
    ) -> Heard:
        """Intents in `conversations`, merged with `known` mentions heard on earlier passes (an
        incremental pass reads only new conversations). A conversation read again replaces what
        was known of it."""
        mentions: list[HeardIntent] = []
        conversations = list(conversations)
        reread = {c.id for c in conversations}
        for mention in known:
            if (
                mention.conversation_id not in reread
                and 0 <= (today - mention.said_on).days <= self.policy.lookback_days
            ):
                mentions.append(mention)
        for conversation in conversations:
            said_on = conversation.created_at.date()
            if (today - said_on).days > self.policy.lookback_days or said_on > today:
                continue  # too old to matter, or logged after the pass's `now` (a replayed pass)
            detection = self.detector.detect(conversation.text)
            for hit in detection.intents:
                if hit.confidence >= self.policy.min_confidence:
                    mentions.append(
                        HeardIntent(
                            hit.intent,
                            hit.evidence,
                            hit.confidence,
                            said_on,
                            conversation.source,
                            conversation.id,
                            detection.language,
                            hit.product,
                        )
                    )
        mentions.sort(key=lambda m: (m.said_on, m.confidence), reverse=True)
        return Heard(tuple(mentions), today, self.policy)


def churn_block(heard: Heard | None, today: date, policy: ListeningPolicy) -> HeardIntent | None:
    """The recent churn-risk mention that forbids any offer, if there is one."""
    if heard is None:
        return None
    mention = heard.latest(CHURN_RISK)
    if mention is not None and mention.age(today) <= policy.churn_days:
        return mention
    return None


def quotes(
    contributions: Sequence[Contribution], heard: Heard | None, account: Account, recommended: str | None
) -> list[HeardIntent]:
    """The mentions behind this score's matched intent signals, for the task body and `explain`."""
    if heard is None or not heard.mentions:
        return []
    found: list[HeardIntent] = []
    for contribution in contributions:
        if not contribution.matched:
            continue
        mention = None
        if contribution.signal.startswith("intent."):
            mention = heard.latest(contribution.signal[len("intent.") :], account.products)
        elif contribution.signal == "asked_for_recommended" and recommended:
            mention = heard.latest_for_product(recommended)
        if mention is not None and mention not in found:
            found.append(mention)
    return found


def render_quotes(mentions: Sequence[HeardIntent]) -> str:
    return "In their words:\n" + "\n".join(f"- {m.quote()}" for m in mentions) if mentions else ""


def render_heard(heard: Heard | None) -> str:
    """For `oppworker explain`: every mention heard, newest first, and whether one blocks offers."""
    if heard is None or heard.today is None:
        return "Conversations: not read (the connector cannot list them)"
    today, policy = heard.today, heard.policy
    if not heard.mentions:
        return f"Conversations (last {policy.lookback_days} days): nothing heard"
    lines = [f"Conversations (last {policy.lookback_days} days), newest first:"]
    for m in heard.mentions:
        product = f" [{m.product}]" if m.product else ""
        lines.append(f"  {m.intent}{product} ({m.language}, confidence {m.confidence:.2f}) {m.quote()}")
    blocker = churn_block(heard, today, policy)
    if blocker is not None:
        lines.append(
            f"  -> churn_risk said {blocker.age(today):.0f} days ago: no offer while it is under "
            f"{policy.churn_days} days old. They said: {blocker.quote()}"
        )
    return "\n".join(lines)


@signal("intent", per_metric=True)
def intent_age(account: Account, ctx: SignalContext, metric: str) -> float | None:
    """Days since the customer last expressed this intent (more_seats, plan_upgrade,
    product_interest, churn_risk) in a note, email or call; None when not heard. Product interest
    in a product the account already owns does not count."""
    heard = getattr(ctx, "heard", None)
    if heard is None:
        return None
    mention = heard.latest(metric, account.products if metric == PRODUCT_INTEREST else frozenset())
    return None if mention is None else mention.age(ctx.today)


@signal("asked_for_recommended")
def asked_for_recommended(account: Account, ctx: SignalContext) -> float | None:
    """Days since the customer asked about the very product similar customers bought (the
    complementary-product recommendation); None when they did not."""
    heard = getattr(ctx, "heard", None)
    if heard is None or ctx.affinity is None:
        return None
    mention = heard.latest_for_product(ctx.affinity.product)
    return None if mention is None else mention.age(ctx.today)
