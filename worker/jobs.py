"""A pass: read accounts, assess them, write what is new, exactly once. Plain functions.

The CLI's in-process run and the Celery tasks call these same functions, so behaviour does not
depend on how a pass was started. Accounts stream through in chunks: memory holds one chunk, the
index of our own deals, and the affinity counts, never every account.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

from connectors.base import AccountRecord, Connector, ReadReport
from connectors.capabilities import ReadsOpportunitiesFor
from connectors.registry import build_connector
from domain import Account, ExistingOpportunity, FollowUpTask, Opportunity, Owner
from playbooks.affinity import AffinityModel, BasketCounter
from playbooks.assess import ALREADY_OPEN, BELOW_THRESHOLD, HOLDOUT, NEW, SUPPRESSED, AccountAssessment, Assessor
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.loader import load_catalog, load_playbooks
from playbooks.model import Playbook
from playbooks.render import top_reasons
from worker.history import build_history
from worker.ledger import Ledger
from worker.listening import ConversationReader, build_listener, conversation_reader
from worker.outcomes import observe_chunk, sync_outcomes
from worker.settings import Settings
from worker.snapshots import series_from_snapshots
from worker.writeback import WriteBack

log = logging.getLogger(__name__)

CHUNK = 200


@dataclass
class RankedOpportunity:
    score: int
    account_id: str
    account_name: str
    playbook: str
    kind: str
    offer: str
    amount: str
    reasons: str
    key: str


@dataclass
class RunReport:
    run_id: str
    crm: str
    mode: str
    now: datetime
    accounts_read: int = 0
    scored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    defaulted: Counter[str] = field(default_factory=Counter)
    stages: Counter[str] = field(default_factory=Counter)
    new: int = 0
    already_open: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    below_threshold: int = 0
    new_by_playbook: Counter[str] = field(default_factory=Counter)
    holdout: int = 0  # control accounts: would have fired, nothing written (worker/outcomes.py)
    holdout_by_playbook: Counter[str] = field(default_factory=Counter)
    deals_created: int = 0
    deals_existing: int = 0
    tasks_created: int = 0
    tasks_existing: int = 0
    resumed: int = 0
    write_errors: Counter[str] = field(default_factory=Counter)
    cursor: str | None = None
    ranked: list[RankedOpportunity] = field(default_factory=list)
    dry_run_payloads: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The report as stored in the ledger and printed as JSON (without the payloads)."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Counter):  # asdict() would turn a Counter's items into tuple keys
                value = dict(value)
            data[item.name] = value
        data.pop("dry_run_payloads")
        data["ranked"] = [asdict(r) for r in self.ranked[:50]]
        data["now"] = self.now.isoformat()
        return data


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
    # account ids assessed so far (ids only); None when the caller de-duplicates before chunks
    # reach `assess_chunk` (the worker's reader does, in Redis)
    seen: set[str] | None = field(default_factory=set)
    conversations: ConversationReader | None = None  # chunk's account ids -> their notes/emails/calls


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
    plus today's (see worker/snapshots.py)."""
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


def tally(report: RunReport, assessment: AccountAssessment) -> None:
    report.scored += 1
    report.stages[assessment.stage.value] += 1
    for outcome in assessment.outcomes:
        if outcome.status == NEW:
            report.new += 1
            report.new_by_playbook[outcome.playbook.id] += 1
            opportunity = outcome.opportunity
            assert opportunity is not None
            report.ranked.append(
                RankedOpportunity(
                    opportunity.score,
                    opportunity.account_id,
                    opportunity.account_name,
                    opportunity.playbook,
                    opportunity.kind.value,
                    opportunity.offer,
                    f"{opportunity.currency} {opportunity.estimated_amount:,.0f}",
                    top_reasons(opportunity.explanation),
                    opportunity.key,
                )
            )
        elif outcome.status == HOLDOUT:
            report.holdout += 1
            report.holdout_by_playbook[outcome.playbook.id] += 1
        elif outcome.status == ALREADY_OPEN:
            report.already_open += 1
        elif outcome.status == SUPPRESSED:
            report.suppressed[outcome.reason or "unknown"] += 1
        elif outcome.status == BELOW_THRESHOLD:
            report.below_threshold += 1


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
    scoped = incremental and isinstance(connector, ReadsOpportunitiesFor)
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
    context.conversations = conversation_reader(connector, context.assessor.listener, now)
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
        listener=build_listener(catalog),
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
    """Step 2 of a pass, for one chunk of accounts: assess and tally each account; when `store`
    (not a dry run), record outcome observations, today's usage snapshots and the baskets.
    Returns the new (opportunity, task) pairs for the write step."""
    now = context.now
    # A CRM can list one account twice (a record edited while pages are read, overlapping search
    # windows): the first listing counts, repeats are skipped and counted.
    if context.seen is not None:
        unique: list[AccountRecord] = []
        for record in chunk:
            if record.account.id in context.seen:
                read.skip("duplicate_account_id", record.account.id, "listed more than once in this pass")
                continue
            context.seen.add(record.account.id)
            unique.append(record)
        chunk = unique
    snapshot_ids = [r.account.id for r in chunk if r.usage_is_snapshot]
    stored = ledger.snapshots(crm, snapshot_ids) if snapshot_ids else {}
    said = context.conversations([r.account.id for r in chunk]) if context.conversations else None
    assessments = []
    new: list[tuple[Opportunity, FollowUpTask]] = []
    for record in chunk:
        report.accounts_read += 1
        account = with_owner(record.account, context.owners, read)
        series = usage_series(record, stored, now)
        history = context.histories.get(account.id, AccountHistory())
        assessment = context.assessor.assess(
            account, series, history, now, context.last_run_at, None if said is None else said.get(account.id, [])
        )
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


def run_pass(
    settings: Settings,
    crm: str = "files",
    *,
    full: bool = False,
    dry_run: bool = False,
    connector: Connector | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    run_id: str | None = None,
) -> RunReport:
    """One pass over a CRM. Incremental when the ledger holds a cursor for it and `full` is False."""
    # Definitions first: a malformed playbook stops everything before any folder, ledger or CRM call.
    playbooks = load_definitions(settings)
    catalog = load_catalog(settings.catalog)
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    owns_connector = connector is None
    connector = connector or build_connector(crm, {**settings.connector_options(crm), "dry_run": dry_run})
    try:
        return _run(settings, crm, ledger, connector, playbooks, catalog, full, dry_run, now, progress, run_id)
    finally:
        if owns_connector:
            connector.close()


def _run(
    settings: Settings,
    crm: str,
    ledger: Ledger,
    connector: Connector,
    playbooks: list[Playbook],
    catalog: Any,
    full: bool,
    dry_run: bool,
    now: datetime | None,
    progress: Callable[[int], None] | None,
    run_id: str | None,
) -> RunReport:
    as_of = connector.data_as_of()
    now = now or as_of or datetime.now(timezone.utc)
    cursor = None if full else ledger.cursor(crm)
    mode = "dry-run" if dry_run else ("incremental" if cursor else "full")
    report = RunReport(run_id or uuid.uuid4().hex, crm, mode, now)
    ledger.start_run(report.run_id, crm, mode, datetime.now(timezone.utc), now)
    log.info("pass %s started", report.run_id, extra={"run_id": report.run_id, "crm": crm, "mode": mode})
    try:
        _pass(settings, crm, ledger, connector, report, playbooks, catalog, cursor, dry_run, now, progress)
    except BaseException as exc:
        ledger.finish_run(report.run_id, "failed", report.summary(), error=str(exc) or type(exc).__name__)
        raise
    ledger.finish_run(report.run_id, "succeeded", report.summary())
    return report


def _pass(
    settings: Settings,
    crm: str,
    ledger: Ledger,
    connector: Connector,
    report: RunReport,
    playbooks: list[Playbook],
    catalog: Any,
    cursor: str | None,
    dry_run: bool,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    writer = WriteBack(
        connector, ledger, crm, report.run_id, now, settings.write_batch_size, dry_run,
        lease=timedelta(seconds=settings.write_lease_seconds),
    )
    if not dry_run:
        writer.resume_unfinished()
    read = ReadReport()
    context, _ = prepare_pass(settings, ledger, connector, crm, playbooks, catalog, read, now, dry_run, cursor is not None)
    for chunk in chunked(connector.read_accounts(cursor, read), CHUNK):
        if context.scoped:
            ids = [r.account.id for r in chunk]
            merge_history(context, ledger, crm, ids, chunk_history(connector, ledger, crm, ids, now, dry_run))
        for opportunity, task in assess_chunk(context, ledger, crm, report, chunk, read, store=not dry_run):
            writer.add(opportunity, task)
        if progress:
            progress(report.accounts_read)
    writer.flush()
    report.ranked.sort(key=lambda r: (-r.score, r.account_id, r.playbook))
    report.skipped, report.defaulted = read.skipped, read.defaulted
    tally_writes(report, writer)
    report.cursor = connector.next_cursor()
    if not dry_run and report.cursor:
        ledger.store_cursor(crm, report.cursor, report.run_id)


def tally_writes(report: RunReport, writer: WriteBack) -> None:
    t = writer.tally
    report.deals_created, report.deals_existing = t.deals_created, t.deals_existing
    report.tasks_created, report.tasks_existing = t.tasks_created, t.tasks_existing
    report.resumed, report.write_errors = t.resumed, t.errors
    report.dry_run_payloads = writer.previews
