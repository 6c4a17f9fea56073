"""Assessing a chunk of accounts, the CPU step of a pass: each account with its owner, usage
series and history through the playbooks' `Assessor`, tallied into the run report; what it found
is recorded (outcome observations, today's usage snapshots, baskets). No Celery, no Redis, no CRM
call: both drivers (worker/pipeline/run.py, worker/service/score.py) call `assess_chunk`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from connectors.base import AccountRecord, ReadReport
from domain import Account, FollowUpTask, Opportunity, Owner, Series
from domain.usage import series_by_metric
from playbooks.affinity import AffinityModel
from playbooks.assess import Assessor
from playbooks.calibration import WinChances
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.intent_signals import HeardIntent
from playbooks.model import Playbook
from worker.outcomes.money import MoneyBasis
from worker.outcomes.sync import observe_chunk
from worker.pipeline.listening import ConversationReader, build_listener, from_stored, to_stored
from worker.pipeline.ranking import rank_value
from worker.pipeline.report import RunReport, tally
from worker.pipeline.settings import Settings
from worker.pipeline.snapshots import series_from_snapshots
from worker.store.ledger import Ledger

log = logging.getLogger(__name__)

CHUNK = 200


@dataclass
class PassContext:
    """What is fixed for a pass and shared by `assess_records` calls (CLI, tasks, explain)."""

    assessor: Assessor
    histories: dict[str, AccountHistory]
    owners: dict[str, Owner]
    now: datetime
    last_run_at: datetime | None
    # True on an incremental pass whose connector can read our deals for given accounts: each chunk
    # then reads its own accounts' deals (`chunk_history`) instead of the pass reading every deal.
    scoped: bool = False
    conversations: ConversationReader | None = None  # chunk's account ids -> their notes/emails/calls
    # True when `conversations` reads only what is new since the last pass: the stored mentions
    # of the window are merged in (worker/store/mentions.py).
    recall_mentions: bool = False
    # The one currency ranking compares amounts in (worker/pipeline/ranking.py), from the settings.
    money: MoneyBasis = field(default_factory=MoneyBasis)


def chunked(items: Iterable[AccountRecord], size: int) -> Iterator[list[AccountRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def usage_series(
    record: AccountRecord, stored: dict[str, dict[str, list[tuple[date, float]]]], now: datetime
) -> dict[str, Series]:
    """The series the engine reads: a file source's own points, or a CRM's stored 30-day snapshots
    plus today's (see worker/pipeline/snapshots.py)."""
    if not record.usage_is_snapshot:
        if record.series is not None:
            return record.series
        return series_by_metric(record.usage)
    history = stored.get(record.account.id, {})
    today = now.date()
    merged: dict[str, list[tuple[date, float]]] = {}
    for metric, snaps in history.items():
        merged[metric] = list(snaps)
    for point in record.usage:
        merged.setdefault(point.metric, [])
        merged[point.metric] = [s for s in merged[point.metric] if s[0] != today] + [(today, point.value)]
    return {metric: series_from_snapshots(snaps, today) for metric, snaps in merged.items()}


def with_owner(account: Account, owners: dict[str, Owner], report: ReadReport) -> Account:
    if account.owner_id is None:
        report.default("no_owner", account.id)
        return account
    owner = owners.get(account.owner_id)
    if owner is None:
        report.default("unknown_owner", account.id, f"owner {account.owner_id} not found; left unassigned")
        return account.model_copy(update={"owner_id": None})
    if owner.email and account.owner_email != owner.email:
        return account.model_copy(update={"owner_email": owner.email})
    return account


def build_assessor(
    settings: Settings,
    playbooks: list[Playbook],
    catalog: Any,
    affinity: AffinityModel,
    holdout_ids: dict[str, str] | None = None,
    win_chances: WinChances | None = None,
) -> Assessor:
    """`holdout_ids`: accounts migrated from another CRM -> the id their control groups were drawn with."""
    return Assessor(
        playbooks,
        catalog,
        affinity,
        guardrails=GuardrailPolicy(max_new_offers_per_30_days=settings.max_new_offers_per_30_days),
        listener=build_listener(catalog),
        holdout_ids=holdout_ids,
        win_chances=win_chances,
    )


def assess_chunk(
    context: PassContext,
    ledger: Ledger,
    crm: str,
    report: RunReport,
    chunk: list[AccountRecord],
    read: ReadReport,
    store: bool,
) -> list[tuple[Opportunity, FollowUpTask]]:
    """Step 2 of a pass, for one chunk of accounts (already de-duplicated by
    `worker.pipeline.dedupe.first_listings`): assess and tally each account; when `store`
    (not a dry run), record outcome observations, today's usage snapshots and the baskets.
    Returns the new (opportunity, task) pairs for the write step."""
    now = context.now
    snapshot_ids = [r.account.id for r in chunk if r.usage_is_snapshot]
    stored = ledger.snapshots(crm, snapshot_ids) if snapshot_ids else {}
    said = context.conversations([r.account.id for r in chunk]) if context.conversations else None
    known = recall_heard(context, ledger, crm, [r.account.id for r in chunk]) if said is not None else {}
    assessments = []
    new: list[tuple[Opportunity, FollowUpTask]] = []
    for record in chunk:
        report.accounts_read += 1
        account = with_owner(record.account, context.owners, read)
        series = usage_series(record, stored, now)
        history = context.histories.get(account.id, AccountHistory())
        assessment = context.assessor.assess(
            account,
            series,
            history,
            now,
            context.last_run_at,
            None if said is None else said.get(account.id, []),
            known.get(account.id, ()),
        )
        tally(
            report,
            assessment,
            record.provenance,
            lambda o: rank_value(o, context.assessor.win_chances, context.money),
        )
        assessments.append(assessment)
        for outcome in assessment.new:
            assert outcome.opportunity is not None and outcome.task is not None
            new.append((outcome.opportunity, outcome.task))
    if store:
        observe_chunk(ledger, crm, report.run_id, now, assessments)
        ledger.store_snapshots(
            crm,
            now.date(),
            ((p.account_id, p.metric, p.value) for r in chunk if r.usage_is_snapshot for p in r.usage),
        )
        ledger.store_baskets(crm, ((r.account.id, r.account.products) for r in chunk))
        if said is not None:
            ledger.mentions.remember(
                crm, (m for a in assessments if a.heard for m in to_stored(a.account.id, a.heard.mentions))
            )
    return new


def recall_heard(
    context: PassContext, ledger: Ledger, crm: str, account_ids: list[str]
) -> dict[str, list[HeardIntent]]:
    """On a pass that reads only new conversations, what these accounts said before, in the window."""
    listener = context.assessor.listener
    if not context.recall_mentions or listener is None:
        return {}
    since = listener.since(context.now).date()
    return {a: from_stored(rows) for a, rows in ledger.mentions.recall(crm, account_ids, since).items()}
