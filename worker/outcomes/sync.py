"""The outcome loop: what became of the deals we created, and who we deliberately left alone.

Each pass reads our deals back through the connector it already has open (`read_opportunities`,
which every connector implements for de-duplication anyway) and compares them with what the
outcome store last saw: a deal that went open -> won or lost, a deal that disappeared from the CRM
(deleted), a follow-up task a CSM completed. Each change is stored as an event with the pass's
`now`, so "median days to close" and "won in the window" come from the ledger, not from a CRM that
may have been edited since. Facts the listing does not carry (won amount, lost reason, task state)
come from the optional `read_deal_facts` and `read_task_states` connector methods when a connector
has them (see connectors/base.py).

The same module records, per chunk of a pass, the control accounts (holdout) and each account's
plan and seats, the two inputs of "natural expansion" in the report.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import DealFacts
from connectors.capabilities import ReadsDealFacts, ReadsTaskStates
from domain import ExistingOpportunity
from playbooks.assess import AccountAssessment
from playbooks.holdout import HOLDOUT
from worker.store.ledger import Ledger
from worker.store.outcomes import DELETED, WON, OutcomeStore
from worker.store.schema import utc

log = logging.getLogger(__name__)

# A deal we wrote less than this long ago and that the CRM listing lacks is not called deleted yet:
# search indexes (HubSpot's among them) lag behind writes by seconds to minutes.
DELETE_GRACE = timedelta(hours=1)


@dataclass
class SyncResult:
    seen: int = 0
    transitions: Counter[str] = field(default_factory=Counter)  # "open->won", "new:lost", "task_completed"
    changed: list[dict[str, Any]] = field(default_factory=list)  # rows inserted or changed (by key)


def store_for(ledger: Ledger) -> OutcomeStore:
    """One store per ledger object (creating the tables once, not once per chunk)."""
    store = ledger.__dict__.get("_outcome_store")
    if store is None:
        store = ledger.__dict__["_outcome_store"] = OutcomeStore(ledger.engine)
    return store


def _payload(row: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(row.get("payload") or "{}").get("opportunity", {})
    except (ValueError, AttributeError):
        return {}


def _facts(connector: Any, keys: Sequence[str]) -> Mapping[str, DealFacts]:
    if not isinstance(connector, ReadsDealFacts) or not keys:
        return {}
    try:
        return connector.read_deal_facts(keys)
    except Exception as exc:  # outcome facts are a bonus: never fail a pass over them
        log.warning("read_deal_facts failed, outcome facts skipped this pass: %s", exc)
        return {}


def _task_states(connector: Any, by_task: Mapping[str, str]) -> dict[str, bool]:
    """opportunity key -> task completed, from the optional `read_task_states(task_ids)`."""
    if not isinstance(connector, ReadsTaskStates) or not by_task:
        return {}
    try:
        states = connector.read_task_states(list(by_task))
    except Exception as exc:  # as for deal facts: a bonus, never a failed pass
        log.warning("read_task_states failed, task states skipped this pass: %s", exc)
        return {}
    return {by_task[t]: bool(done) for t, done in states.items() if t in by_task}


def sync_outcomes(
    ledger: Ledger,
    crm: str,
    connector: Any,
    existing: Iterable[ExistingOpportunity],
    now: datetime,
    accounts: set[str] | None = None,
    save: bool = True,
) -> SyncResult:
    """Compare what the CRM says about our deals with what the store last saw; store the changes.

    With `accounts`, `existing` is the CRM's complete view of those accounts only (an incremental
    pass), and only their deals are compared, so a deal elsewhere is not mistaken for deleted.
    With `save=False` (a dry run) nothing is stored; `changed` says what would have been."""
    store = store_for(ledger)
    listed = {o.key: o for o in existing}
    rows = ledger.written(crm) if accounts is None else ledger.written_for(crm, sorted(accounts))
    written = {r["key"]: r for r in rows if r.get("deal_id")}
    fresh = {
        k
        for k, r in written.items()
        if k not in listed and now - (utc(r["updated_at"]) or now) < DELETE_GRACE
    }
    keys = sorted((set(listed) | set(written)) - fresh)
    facts = _facts(connector, keys)
    tasks = _task_states(
        connector, {r["task_id"]: k for k, r in written.items() if r.get("task_id") and k in keys}
    )
    known = {r["key"]: r for r in store.outcomes(crm)}
    result = SyncResult(seen=len(keys))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for key in keys:
        deal, row, fact = listed.get(key), written.get(key), facts.get(key, DealFacts())
        payload = _payload(row) if row else {}
        status = deal.status.value if deal is not None else DELETED
        closed_at = deal.closed_at if deal is not None else None
        estimate = payload.get("estimated_amount")
        estimated = float(estimate) if estimate not in (None, "") else None
        amount = None
        if status == WON:
            amount = float(fact.amount) if fact.amount is not None else estimated
        before = known.get(key)
        said = tasks.get(key, fact.task_completed)
        task_completed = said if said is not None else bool(before and before["task_completed"])
        current = {
            "status": status,
            "closed_at": closed_at if status != DELETED else (before or {}).get("closed_at"),
            "amount": amount,
            "lost_reason": fact.lost_reason,
            "task_completed": task_completed,
        }
        if before is None:
            source = deal or row
            assert source is not None
            inserts.append(
                {
                    "key": key,
                    "account_id": deal.account_id if deal else row["account_id"],  # type: ignore[index]
                    "playbook": deal.playbook if deal else row["playbook"],  # type: ignore[index]
                    "offer": deal.offer if deal else row["offer"],  # type: ignore[index]
                    "kind": payload.get("kind") or (row or {}).get("kind") or fact.kind or "unknown",
                    "score": payload.get("score", (row or {}).get("score", fact.score)),
                    "journey_stage": payload.get("journey_stage") or fact.journey_stage,
                    "estimated_amount": estimated,
                    "currency": payload.get("currency"),
                    "deal_id": (deal.crm_id if deal else None) or (row or {}).get("deal_id"),
                    "created_at": (deal.created_at if deal else None) or (row or {}).get("created_at"),
                    "task_completed_at": now if task_completed else None,
                    "first_seen_at": now,
                    "updated_at": now,
                    **current,
                }
            )
            events.append({"key": key, "field": "status", "old": None, "new": status, "seen_at": now})
            result.transitions[f"new:{status}"] += 1
            if task_completed:
                events.append({"key": key, "field": "task", "old": None, "new": "completed", "seen_at": now})
                result.transitions["task_completed"] += 1
            continue
        change: dict[str, Any] = {}
        if before["status"] != status:
            events.append(
                {"key": key, "field": "status", "old": before["status"], "new": status, "seen_at": now}
            )
            result.transitions[f"{before['status']}->{status}"] += 1
            change.update(current)
        elif (before["closed_at"], before["amount"], before["lost_reason"]) != (
            current["closed_at"],
            current["amount"],
            current["lost_reason"],
        ) and status != DELETED:
            change.update({k: current[k] for k in ("closed_at", "amount", "lost_reason")})
        if bool(before["task_completed"]) != task_completed:
            events.append(
                {
                    "key": key,
                    "field": "task",
                    "old": "open" if task_completed else "completed",
                    "new": "completed" if task_completed else "open",
                    "seen_at": now,
                }
            )
            result.transitions["task_completed" if task_completed else "task_reopened"] += 1
            change.update(task_completed=task_completed, task_completed_at=now if task_completed else None)
        if change:
            updates.append({"key": key, **change, "updated_at": now})
    result.changed = inserts + updates
    if not save:
        return result
    store.save(crm, inserts, updates, events)
    if result.transitions:
        log.info("outcomes for %s: %s", crm, dict(result.transitions))
    return result


def observe_chunk(
    ledger: Ledger, crm: str, run_id: str, now: datetime, assessments: Iterable[AccountAssessment]
) -> int:
    """Per chunk of a pass: record control accounts ("would have fired") and every account's plan
    and seats (expansions seen in the CRM). Returns the number of holdouts recorded."""
    store = store_for(ledger)
    held: list[dict[str, Any]] = []
    states = []
    for assessment in assessments:
        account = assessment.account
        states.append(
            (
                account.id,
                account.plan_rank,
                account.seats_purchased,
                float(account.mrr) if account.mrr is not None else None,
            )
        )
        for outcome in assessment.outcomes:
            if outcome.status != HOLDOUT or outcome.opportunity is None:
                continue
            opportunity = outcome.opportunity
            held.append(
                {
                    "account_id": account.id,
                    "playbook": opportunity.playbook,
                    "key": opportunity.key,
                    "offer": opportunity.offer,
                    "kind": opportunity.kind.value,
                    "score": opportunity.score,
                    "journey_stage": opportunity.journey_stage.value,
                    "estimated_amount": float(opportunity.estimated_amount),
                }
            )
    store.record_holdouts(crm, run_id, held, now)
    store.store_states(crm, now.date(), states)
    return len(held)


def sync_now(settings: Any, crm: str, connector: Any = None, now: datetime | None = None) -> SyncResult:
    """The outcome loop on its own, outside a pass, so outcomes can be read back on days no pass
    runs (or while every account is unchanged). No schedule calls it yet: every pass syncs."""

    from connectors.registry import build_connector

    settings.output_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    owns = connector is None
    connector = connector or build_connector(crm, {**settings.connector_options(crm), "dry_run": False})
    try:
        return sync_outcomes(
            ledger, crm, connector, list(connector.read_opportunities()), now or datetime.now(UTC)
        )
    finally:
        if owns:
            connector.close()
