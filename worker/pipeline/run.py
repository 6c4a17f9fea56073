"""The in-process driver: one whole pass in this process (`oppworker run`, tests, benches).

It runs the same steps as the Celery graph in worker/service/ (prepare, de-duplicate, assess,
write back) and ends the same way: the ranked list in `rank_key` order and the sync cursor stored
only after a clean pass (`cursor_to_store`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector, ReadReport
from connectors.registry import build_connector
from domain import FollowUpTask, Opportunity
from playbooks.catalog_check import require_priced_offers
from playbooks.loader import load_catalog
from playbooks.model import Playbook
from worker.pipeline.assess import CHUNK, assess_chunk, chunked
from worker.pipeline.capacity import Plan, plan_in_memory, plan_pass, record_candidates
from worker.pipeline.dedupe import first_listings, seen_in_memory
from worker.pipeline.pass_lock import hold_pass_lock
from worker.pipeline.prepare import chunk_history, load_definitions, merge_history, prepare_pass
from worker.pipeline.report import RunReport, cursor_to_store, rank_key
from worker.pipeline.revisits import accounts_to_revisit, heard_watermark, read_with_revisits
from worker.pipeline.settings import Settings
from worker.pipeline.writeback import WriteBack, from_payload
from worker.store.ledger import Ledger

log = logging.getLogger(__name__)


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
    require_priced_offers(playbooks, catalog, str(settings.catalog or "the bundled catalog"))
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    with hold_pass_lock(settings.output_dir):
        ledger = Ledger(settings.ledger_url)
        owns_connector = connector is None
        connector = connector or build_connector(crm, {**settings.connector_options(crm), "dry_run": dry_run})
        try:
            return _run(
                settings, crm, ledger, connector, playbooks, catalog, full, dry_run, now, progress, run_id
            )
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
    now = now or as_of or datetime.now(UTC)
    cursor = None if full else ledger.cursor(crm)
    mode = "dry-run" if dry_run else ("incremental" if cursor else "full")
    report = RunReport(run_id or uuid.uuid4().hex, crm, mode, now)
    ledger.start_run(report.run_id, crm, mode, datetime.now(UTC), now)
    log.info("pass %s started", report.run_id, extra={"run_id": report.run_id, "crm": crm, "mode": mode})
    try:
        _pass(settings, crm, ledger, connector, report, playbooks, catalog, cursor, dry_run, now, progress)
    except BaseException as exc:
        ledger.finish_run(report.run_id, "failed", report.summary(), error=str(exc) or type(exc).__name__)
        raise
    # Keys a writer still holds (a crashed pass's lease, until it expires) are not lost, but this pass
    # could not finish them: it says so and when, and stores no cursor (`cursor_to_store`).
    ledger.finish_run(report.run_id, "incomplete" if report.unfinished else "succeeded", report.summary())
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
        connector,
        ledger,
        crm,
        report.run_id,
        now,
        settings.write_batch_size,
        dry_run,
        lease=timedelta(seconds=settings.write_lease_seconds),
    )
    if not dry_run:
        writer.resume_unfinished()
    read = ReadReport()
    mark_seen = seen_in_memory()
    context, _ = prepare_pass(
        settings, ledger, connector, crm, playbooks, catalog, read, now, dry_run, cursor is not None
    )
    revisit = (
        []
        if cursor is None
        else accounts_to_revisit(connector, heard_watermark(ledger.last_successful_start(crm)))
    )
    found: list[tuple[Opportunity, FollowUpTask]] = []  # a dry run plans in memory
    for listed in chunked(read_with_revisits(connector, cursor, read, revisit), CHUNK):
        chunk = first_listings(listed, read, mark_seen)
        ids = [r.account.id for r in chunk]
        if context.scoped:
            merge_history(context, ledger, crm, ids, chunk_history(connector, ledger, crm, ids, now, dry_run))
        new = assess_chunk(context, ledger, crm, report, chunk, read, store=not dry_run)
        if dry_run:
            found.extend(new)
        else:
            record_candidates(
                ledger, crm, report.run_id, ids, new, now, context.assessor.win_chances, context.money
            )
        if progress:
            progress(report.accounts_read)
    if dry_run:
        chosen, plan = plan_in_memory(ledger, crm, settings, now, found, context.assessor.win_chances)
        for opportunity, task in chosen:
            writer.add(opportunity, task)
    else:
        plan = plan_pass(ledger, crm, report.run_id, settings, now)
        for row in ledger.unfinished(crm):
            writer.add(*from_payload(row["payload"]))
    writer.flush()
    tally_plan(report, plan)
    report.ranked.sort(key=rank_key)
    report.skipped, report.defaulted = read.skipped, read.defaulted
    report.skipped_records = list(read.skipped_records)
    tally_writes(report, writer)
    if not dry_run:
        report.unfinished = ledger.count_unfinished(crm)
        if report.unfinished:
            report.unfinished_until = ledger.lease_until(crm)
        report.cursor = cursor_to_store(connector.next_cursor(), report.write_errors, report.unfinished)
        if report.cursor:
            ledger.store_cursor(crm, report.cursor, report.run_id)


def tally_plan(report: RunReport, plan: Plan) -> None:
    report.planned, report.waiting, report.waiting_no_owner = plan.planned, plan.waiting, plan.no_owner


def tally_writes(report: RunReport, writer: WriteBack) -> None:
    t = writer.tally
    report.deals_created, report.deals_existing = t.deals_created, t.deals_existing
    report.tasks_created, report.tasks_existing = t.tasks_created, t.tasks_existing
    report.resumed, report.write_errors = t.resumed, t.errors
    report.dry_run_payloads = writer.previews
