"""The deal and the CSM's task a firing playbook proposes for one account. Pure.

Apart from `playbooks.assess` because deciding *whether* a playbook fires (scores, guardrails, the
offer cap) and writing *what* it proposes (amount, title, task text) change for different reasons:
the wording of a task is edited far more often than the rules, and reads better on its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain import Account, FollowUpTask, JourneyStage, Opportunity
from playbooks.calibration import WinChances, chance_phrase
from playbooks.engine import PlaybookScore
from playbooks.formula import AmountFormula
from playbooks.intent_signals import Heard, quotes, render_quotes
from playbooks.offers import ResolvedOffer, suggested_seats
from playbooks.render import render_explanation, render_template, render_unmet, task_marker


def estimate_amount(formula: AmountFormula, account: Account, offer: ResolvedOffer, score: int) -> Decimal:
    """The deal's amount from the playbook's formula. Raises `AmountError` when the formula
    gives no finite amount for this account (e.g. a division by its zero seats)."""
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
    value = formula.evaluate(names)  # finite and bounded, or AmountError
    amount = Decimal(str(value))
    return max(amount, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def opportunity_for(
    key: str,
    score: PlaybookScore,
    account: Account,
    stage: JourneyStage,
    offer: ResolvedOffer,
    now: datetime,
    amount: Decimal,
    currency: str,
) -> Opportunity:
    playbook = score.playbook
    # Validated although built from validated parts: pydantic-core's validation is faster than
    # `model_construct`'s Python loop over the fields, and it keeps the model's bounds honest.
    return Opportunity(
        key=key,
        account_id=account.id,
        account_name=account.name,
        kind=playbook.kind,
        playbook=playbook.id,
        title=f"{account.name or account.id}: {offer.title}",
        offer=offer.code,
        estimated_amount=amount,
        currency=currency,
        score=score.score,
        explanation=score.contributions(),
        owner_id=account.owner_id,
        journey_stage=stage,
        close_date=now.date() + timedelta(days=playbook.close_in_days),
    )


def task_for(
    opportunity: Opportunity,
    score: PlaybookScore,
    account: Account,
    offer: ResolvedOffer,
    now: datetime,
    win_chances: WinChances,
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
        "win_chance": chance_phrase(
            win_chances.probability(opportunity.playbook, opportunity.score, opportunity.journey_stage)
        ),
    }
    # The met signals only: a task states facts about the customer, and a miss's reason text
    # ("0 API calls in 30 days: production depends on it") is not one. `$not_met` phrases the
    # misses as unmet, for a playbook that wants the CSM to see them.
    values["reasons"] = render_explanation(opportunity.explanation, include_misses=False)
    values["not_met"] = render_unmet(opportunity.explanation)
    values["talking_points"] = "\n".join(
        "- " + render_template(point, values) for point in template.talking_points
    )
    body = render_template(template.body, values).rstrip() + "\n\n"
    contact = account_lines(account)
    body += contact + "\n\n" if contact else ""
    if heard is not None and heard.mentions:  # the customer's own words, so the CSM picks up there
        said = render_quotes(quotes(opportunity.explanation, heard, account, offer.code))
        body += said + "\n\n" if said else ""
    body += task_marker(opportunity.key)
    return FollowUpTask(
        opportunity_key=opportunity.key,
        account_id=account.id,
        subject=render_template(template.subject, values),
        body=body,
        due_date=now.date() + timedelta(days=template.due_in_days),
        priority=template.priority,
        owner_id=account.owner_id,
    )


def account_lines(account: Account) -> str:
    """Who to call and where the account is in the CRM, where the source says (issue #15)."""
    lines = [f"Main contact: {account.main_contact}"] if account.main_contact else []
    if account.crm_url:
        lines.append(f"In the CRM: {account.crm_url}")
    return "\n".join(lines)
