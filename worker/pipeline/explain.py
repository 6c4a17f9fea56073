"""`oppworker explain`: one account's stage and every playbook's verdict, with the full reasoning.

Uses the same `Assessor` and history as a pass, so what it shows is what a pass would do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base import ReadReport
from connectors.registry import build_connector
from domain import ExistingOpportunity
from playbooks.assess import ALREADY_OPEN, AccountAssessment, PlaybookOutcome
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog
from worker.pipeline.assess import usage_series, with_owner
from worker.pipeline.prepare import chunk_history, load_definitions, merge_history, prepare_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger


def explain_account(
    settings: Settings,
    account_id: str,
    crm: str = "files",
    now: datetime | None = None,
    provenance: dict[str, str] | None = None,
) -> AccountAssessment | None:
    """Assess one account in exactly the context a pass would build (a dry run: nothing stored).
    `provenance`, when given, receives which SQL source each field or usage metric came from."""
    playbooks = load_definitions(settings)
    catalog = load_catalog(settings.catalog)
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": True})
    try:
        now = now or connector.data_as_of() or datetime.now(UTC)
        report = ReadReport()
        context, _ = prepare_pass(
            settings, ledger, connector, crm, playbooks, catalog, report, now, dry_run=True
        )
        for record in connector.read_accounts(None, report):
            if record.account.id != account_id:
                continue
            if provenance is not None:
                provenance.update(record.provenance)
            stored = ledger.snapshots(crm, [account_id]) if record.usage_is_snapshot else {}
            if context.scoped:  # a CRM read per chunk: this account's deals, as a pass reads them
                ids = [account_id]
                merge_history(
                    context, ledger, crm, ids, chunk_history(connector, ledger, crm, ids, now, True)
                )
            history = context.histories.get(account_id, AccountHistory())
            assessment = context.assessor.assess(
                with_owner(record.account, context.owners, report),
                usage_series(record, stored, now),
                history,
                now,
                context.last_run_at,
                context.conversations([account_id]).get(account_id, []) if context.conversations else None,
            )
            return mark_open(assessment, history)
        return None
    finally:
        connector.close()


def mark_open(assessment: AccountAssessment, history: AccountHistory) -> AccountAssessment:
    """An offer we already wrote is "already open", whatever today's score: a milestone is news
    only once, so the playbook may no longer fire, but the deal is there for the CSM to work, and
    "does not fire" would read as if nothing had ever been offered."""
    for index, outcome in enumerate(assessment.outcomes):
        deal = history.open_for(outcome.playbook.id)
        if deal is None:
            continue
        assessment.open_deals[outcome.playbook.id] = deal
        if outcome.status != ALREADY_OPEN:
            assessment.outcomes[index] = PlaybookOutcome(outcome.score, ALREADY_OPEN, deal.key)
    return assessment


def describe_open_deal(deal: ExistingOpportunity) -> str:
    """`deal acc-1:seat_expansion:seats (CRM id 901, written 2026-11-02)`."""
    facts = [f"CRM id {deal.crm_id}"] if deal.crm_id else []
    if deal.created_at is not None:
        facts.append(f"written {deal.created_at.date().isoformat()}")
    return f"deal {deal.key}" + (f" ({', '.join(facts)})" if facts else "")
