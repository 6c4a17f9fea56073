"""One conversation per account: several offers for one account become one task (issue #15).

A CSM who gets two tasks for the same customer in the same week either calls twice (the customer
feels sold to) or picks one and forgets the other. So when a pass promotes several offers for one
account, the strongest offer's task leads and lists the others; every offer keeps its own deal,
keyed as before, so outcomes are still counted per offer. Pure: the planning step
(worker/pipeline/capacity.py) decides which offers go together and in what order.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain import FollowUpTask, Opportunity
from domain.opportunity import task_marker
from playbooks.render import top_reasons

PRIORITY_ORDER = ("LOW", "MEDIUM", "HIGH")
LISTING_HEADING = "Also raise in the same conversation (each is its own deal, listed strongest first):"


def offer_line(opportunity: Opportunity) -> str:
    """`- Upgrade to Business: about USD 3,600.00, score 85. Why: ...` and the deal's key."""
    offer = opportunity.title.removeprefix(f"{opportunity.account_name or opportunity.account_id}: ")
    why = top_reasons(opportunity.explanation)
    line = f"- {offer}: about {opportunity.currency} {opportunity.estimated_amount:,.2f}, score {opportunity.score}"
    return (
        f"{line}. Why: {why}\n  deal key {opportunity.key}"
        if why
        else f"{line}\n  deal key {opportunity.key}"
    )


def listing(others: Sequence[Opportunity]) -> str:
    return "\n".join([LISTING_HEADING, *(offer_line(o) for o in others)])


def one_conversation(
    group: Sequence[tuple[Opportunity, FollowUpTask]],
) -> list[tuple[Opportunity, FollowUpTask]]:
    """`group`: one account's offers, strongest first. The first task leads: it lists the others
    above its key marker (which stays the body's last line: connectors find the task by it) and
    takes the group's highest priority; the others' tasks point at it and are never written."""
    if len(group) <= 1:
        return list(group)
    (lead, lead_task), rest = group[0], group[1:]
    marker = task_marker(lead.key)
    head = lead_task.body.removesuffix(marker).rstrip()
    others = [o for o, _ in rest]
    priority = max((t.priority for _, t in group), key=PRIORITY_ORDER.index)
    more = f" (+{len(rest)} more offer{'s' if len(rest) > 1 else ''})"
    leading = lead_task.model_copy(
        update={
            "subject": lead_task.subject + more,
            "body": f"{head}\n\n{listing(others)}\n\n{marker}",
            "priority": priority,
            "covers": tuple(o.key for o in others),
            "lead_key": None,
        }
    )
    followers = [
        (o, t.model_copy(update={"lead_key": lead.key, "covers": (), "due_date": lead_task.due_date}))
        for o, t in rest
    ]
    return [(lead, leading), *followers]
