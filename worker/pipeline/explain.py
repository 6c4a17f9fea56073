"""`oppworker explain`: one account's stage and every playbook's verdict, with the full reasoning.

Uses the same `Assessor` and history as a pass, so what it shows is what a pass would do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base import ReadReport
from connectors.registry import build_connector
from playbooks.assess import AccountAssessment
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog
from worker.pipeline.assess import usage_series, with_owner
from worker.pipeline.prepare import load_definitions, prepare_pass
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
            return context.assessor.assess(
                with_owner(record.account, context.owners, report),
                usage_series(record, stored, now),
                context.histories.get(account_id, AccountHistory()),
                now,
                context.last_run_at,
                context.conversations([account_id]).get(account_id, []) if context.conversations else None,
            )
        return None
    finally:
        connector.close()
