"""The steps of a pass, plain functions with no Celery and no Redis: prepare (owners, our deals,
outcome sync, affinity), assess a chunk, record what it found.

Both drivers, the in-process `worker.pipeline.run.run_pass` and the Celery graph in
worker/service/, call these same functions, so behaviour does not depend on how a pass was
started. Accounts stream through in chunks: memory holds one chunk, the index of our own deals,
and the affinity counts, never every account.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from connectors.base import AccountRecord, Connector, ReadReport
from domain import Account, ExistingOpportunity, FollowUpTask, Opportunity, Owner
from playbooks.affinity import AffinityModel, BasketCounter
from playbooks.assess import Assessor
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.loader import load_playbooks
from playbooks.model import Playbook
from worker.pipeline.history import build_history
from worker.store.ledger import Ledger
from worker.outcomes.sync import observe_chunk, sync_outcomes
from worker.pipeline.report import RunReport, tally
from worker.pipeline.settings import Settings
from worker.pipeline.snapshots import series_from_snapshots

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


def load_definitions(settings: Settings) -> list[Playbook]:
    return load_playbooks(settings.playbook_dirs, include_builtin=settings.include_builtin_playbooks)


def chunked(items: Iterable[AccountRecord], size: int) -> Iterator[list[AccountRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def mine_affinity(settings: Settings, ledger: Ledger, connector: Connector, crm: str, report: ReadReport, store: bool) -> AffinityModel:
    """Rules from the baskets the ledger holds; on a CRM's first pass, from the connector."""
    counter = BasketCounter()
    if ledger.has_baskets(crm):
        for basket in ledger.iter_baskets(crm):
            counter.add(basket)
    else:
        pending: list[tuple[str, frozenset[str]]] = []
        for account_id, products in connector.read_baskets(report):
            counter.add(products)
            pending.append((account_id, products))
            if store and len(pending) >= 1000:
                ledger.store_baskets(crm, pending)
                pending = []
        if store:
            ledger.store_baskets(crm, pending)
    return AffinityModel(
        counter.rules(min_support=settings.affinity_min_support, min_confidence=settings.affinity_min_confidence),
        min_lift=settings.affinity_min_lift,
    )


def usage_series(
    record: AccountRecord, stored: dict[str, dict[str, list[Any]]], now: datetime
) -> dict[str, list[tuple[Any, float]]]:
    """The series the engine reads: a file source's own points, or a CRM's stored 30-day snapshots
    plus today's (see worker/pipeline/snapshots.py)."""
    if not record.usage_is_snapshot:
        if record.series is not None:
            return record.series
        series: dict[str, list[tuple[Any, float]]] = {}
        for point in record.usage:
            series.setdefault(point.metric, []).append((point.period_start, point.value))
        return series
    history = stored.get(record.account.id, {})
    today = now.date()
    merged: dict[str, list[tuple[Any, float]]] = {}
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


def prepare_pass(
    settings: Settings,
    ledger: Ledger,
    connector: Connector,
    crm: str,
    playbooks: list[Playbook],
    catalog: Any,
    read: ReadReport,
    now: datetime,
    dry_run: bool,
    incremental: bool = False,
) -> tuple[PassContext, AffinityModel]:
    """Step 1 of a pass (in-process and on the workers): owners, our deals as the CRM and the
    ledger know them, outcome sync, affinity. Returns the context every chunk is assessed in, and
    the affinity model (the worker ships its rules to the scoring tasks).

    A full pass reads every deal we created (and so also notices deals deleted in the CRM). An
    incremental pass scores only the accounts that changed, so where the connector offers
    `read_opportunities_for` it reads only their deals, chunk by chunk: with 1% of accounts changed
    that is a few calls instead of one per 200 deals ever created."""
    owners = {o.id: o for o in connector.read_owners()}
    scoped = incremental and callable(getattr(connector, "read_opportunities_for", None))
    existing = [] if scoped else list(connector.read_opportunities())
    histories = build_history(existing, ledger.written(crm))
    if not dry_run and not scoped:
        sync_outcomes(ledger, crm, connector, existing, now)
    affinity = mine_affinity(settings, ledger, connector, crm, read, store=not dry_run)
    context = PassContext(
        assessor=build_assessor(settings, playbooks, catalog, affinity),
        histories=histories,
        owners=owners,
        now=now,
        last_run_at=ledger.last_successful_run(crm),
        scoped=scoped,
    )
    return context, affinity


def chunk_history(
    connector: Connector, ledger: Ledger, crm: str, account_ids: list[str], now: datetime, dry_run: bool
) -> list[ExistingOpportunity]:
    """On a scoped pass, the CRM's view of our deals on one chunk's accounts, with the outcome sync
    for exactly those accounts. A CRM I/O step: the worker runs it where it reads the chunk."""
    existing = list(connector.read_opportunities_for(account_ids))  # type: ignore[attr-defined]
    if not dry_run:
        sync_outcomes(ledger, crm, connector, existing, now, accounts=set(account_ids))
    return existing


def merge_history(context: PassContext, ledger: Ledger, crm: str, account_ids: list[str], existing: list[ExistingOpportunity]) -> None:
    """Replace the chunk's accounts' histories with what the CRM says now (plus the ledger)."""
    context.histories.update(build_history(existing, ledger.written_for(crm, account_ids)))


def build_assessor(settings: Settings, playbooks: list[Playbook], catalog: Any, affinity: AffinityModel) -> Assessor:
    return Assessor(
        playbooks,
        catalog,
        affinity,
        guardrails=GuardrailPolicy(max_new_offers_per_30_days=settings.max_new_offers_per_30_days),
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
    assessments = []
    new: list[tuple[Opportunity, FollowUpTask]] = []
    for record in chunk:
        report.accounts_read += 1
        account = with_owner(record.account, context.owners, read)
        series = usage_series(record, stored, now)
        history = context.histories.get(account.id, AccountHistory())
        assessment = context.assessor.assess(account, series, history, now, context.last_run_at)
        tally(report, assessment)
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
    return new


