"""Capacity planning: per owner, write only what a CSM can act on this week; the rest wait.

A pass no longer writes every opportunity it finds. Each chunk's new opportunities are recorded
as `waiting` candidates (`record_candidates`); once every chunk is assessed, `plan_pass` ranks
every waiting candidate of the CRM (this pass's, re-scored, and earlier passes' not re-assessed)
and promotes to `pending`, per owner, only what fits under the owner's weekly cap and open-task
cap, an account's offers together as one task (one conversation per account), with due dates
spread over the owner's working days. The write step then writes the pending keys as before, the
task once, for the account's lead offer (worker/pipeline/writeback.py). Both drivers call these two functions
(worker/pipeline/run.py in-process; worker/service/score.py and write.py on the workers).

The decisions themselves are pure (worker/pipeline/planning.py), so they are tested and benched
on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from domain import FollowUpTask, Opportunity
from playbooks.calibration import WinChances
from playbooks.conversation import one_conversation
from worker.outcomes.money import MoneyBasis
from worker.pipeline.planning import (
    CapacityPolicy,
    Plan,
    decide,
    plan,
    week_of,
    with_followers,
    working_days_after,
)
from worker.pipeline.ranking import rank_value
from worker.pipeline.settings import Settings
from worker.pipeline.writeback import from_payload, payload_of, pending_rows
from worker.store.candidates import CandidateStore, Lead, Promotion, WaitingCandidate
from worker.store.ledger import Ledger

# Accounts promoted per transaction: each batch is stored with its accounts' offers made one
# conversation, together or not at all; a batch holds its payloads while they are rewritten.
PROMOTE_BATCH = 500

__all__ = ["CapacityPolicy", "Plan", "plan", "plan_in_memory", "plan_pass", "week_of", "working_days_after"]


def candidate_rows(
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    chances: WinChances | None = None,
    money: MoneyBasis | None = None,
) -> list[dict[str, object]]:
    """Ledger rows of waiting candidates: the pending row plus the owner and rank planning reads."""
    rows = pending_rows(new)
    for row, (opportunity, task) in zip(rows, new, strict=True):
        row["owner_id"] = task.owner_id or opportunity.owner_id
        row["priority"] = rank_value(opportunity, chances, money)
    return rows


def record_candidates(
    ledger: Ledger,
    crm: str,
    run_id: str,
    account_ids: Sequence[str],
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    now: datetime,
    chances: WinChances | None = None,
    money: MoneyBasis | None = None,
) -> None:
    """One assessed chunk's findings become its accounts' waiting candidates (ledger first)."""
    rows = candidate_rows(new, chances, money)
    CandidateStore(ledger.engine).replace_for_accounts(crm, run_id, account_ids, rows, now)


def conversations(payloads: dict[str, str], chosen: Sequence[Promotion]) -> dict[str, str]:
    """The promoted payloads with each account's offers made one conversation (playbooks/
    conversation.py): the lead's task lists the others, theirs point at it."""
    followers: dict[str, list[str]] = {}
    for promotion in chosen:
        if promotion.lead_key is not None:
            followers.setdefault(promotion.lead_key, []).append(promotion.key)
    shaped = dict(payloads)
    for lead, keys in followers.items():
        group = [k for k in (lead, *keys) if k in payloads]
        if len(group) < 2:
            continue
        for opportunity, task in one_conversation([from_payload(payloads[k]) for k in group]):
            shaped[opportunity.key] = payload_of(opportunity, task)
    return shaped


def plan_pass(
    ledger: Ledger,
    crm: str,
    run_id: str,
    settings: Settings,
    now: datetime,
    on_batch: Callable[[], None] | None = None,
) -> Plan:
    """The planning step of a (non-dry) pass: the ledger ranks every account's best waiting
    candidate, planning promotes what fits, and the promoted accounts' offers are stored as
    `pending` a batch of accounts at a time. Nothing here grows with the number of candidates
    but the counts: with every cap lifted a million accounts are promoted, never held at once.
    `on_batch` is called after each stored batch: planning a million accounts takes minutes, and
    the Celery driver's watchdog must see it progress, not queue a second copy beside it."""
    store = CandidateStore(ledger.engine)
    policy = CapacityPolicy.from_settings(settings)
    start, end = week_of(now)
    result = Plan()
    batch: list[tuple[Lead, Promotion]] = []

    def promote() -> None:
        rows = with_followers(batch, lambda ids: store.waiting(crm, ids))
        chosen = [promotion for _, promotion in rows]
        store.promote(crm, run_id, chosen, now, shape=lambda p: conversations(p, chosen))
        result.planned += len(chosen)
        batch.clear()
        if on_batch is not None:
            on_batch()

    leads = store.leads(crm, policy.one_task_per_account)
    for decided in decide(leads, store.owner_loads(crm, start, end), policy, now, result):
        batch.append(decided)
        if len(batch) == PROMOTE_BATCH:
            promote()
    if batch:
        promote()
    return result


def plan_in_memory(
    ledger: Ledger,
    crm: str,
    settings: Settings,
    now: datetime,
    new: Sequence[tuple[Opportunity, FollowUpTask]],
    chances: WinChances | None = None,
) -> tuple[list[tuple[Opportunity, FollowUpTask]], Plan]:
    """A dry run's plan: this pass's findings against the ledger's current loads, nothing stored."""
    by_key = {o.key: (o, t) for o, t in new}
    money = MoneyBasis.from_settings(settings)
    candidates = [
        WaitingCandidate(
            o.key, o.account_id, t.owner_id or o.owner_id, rank_value(o, chances, money), o.score
        )
        for o, t in new
    ]
    start, end = week_of(now)
    loads = CandidateStore(ledger.engine).owner_loads(crm, start, end)
    result = plan(candidates, loads, CapacityPolicy.from_settings(settings), now)  # every one is in memory
    groups: dict[str, list[tuple[Opportunity, FollowUpTask]]] = {}
    for promotion in result.chosen:
        opportunity, task = by_key[promotion.key]
        groups.setdefault(promotion.lead_key or promotion.key, []).append(
            (
                opportunity.model_copy(update={"owner_id": promotion.owner_id}),
                task.model_copy(
                    update={"owner_id": promotion.owner_id, "due_date": promotion.due_date or task.due_date}
                ),
            )
        )
    return [pair for group in groups.values() for pair in one_conversation(group)], result
