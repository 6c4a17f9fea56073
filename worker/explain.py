"""`oppworker explain`: one account's stage and every playbook's verdict, with the full reasoning.

Uses the same `Assessor` and history as a pass, so what it shows is what a pass would do.
"""

from __future__ import annotations

from datetime import datetime, timezone

from connectors.base import ReadReport
from connectors.registry import build_connector
from playbooks.assess import AccountAssessment, Assessor
from playbooks.guardrails import AccountHistory, GuardrailPolicy
from playbooks.loader import load_catalog
from worker.history import build_history
from worker.jobs import load_definitions, mine_affinity, usage_series, with_owner
from worker.ledger import Ledger
from worker.settings import Settings


def explain_account(settings: Settings, account_id: str, crm: str = "files", now: datetime | None = None) -> AccountAssessment | None:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": True})
    try:
        playbooks = load_definitions(settings)
        now = now or connector.data_as_of() or datetime.now(timezone.utc)
        report = ReadReport()
        owners = {o.id: o for o in connector.read_owners()}
        histories = build_history(connector.read_opportunities(), ledger.written(crm))
        assessor = Assessor(
            playbooks,
            load_catalog(settings.catalog),
            mine_affinity(settings, ledger, connector, crm, report, store=False),
            guardrails=GuardrailPolicy(max_new_offers_per_30_days=settings.max_new_offers_per_30_days),
        )
        for record in connector.read_accounts(None, report):
            if record.account.id != account_id:
                continue
            stored = ledger.snapshots(crm, [account_id]) if record.usage_is_snapshot else {}
            account = with_owner(record.account, owners, report)
            return assessor.assess(
                account,
                usage_series(record, ledger, crm, stored, now),
                histories.get(account_id, AccountHistory()),
                now,
                ledger.last_successful_run(crm),
            )
        return None
    finally:
        connector.close()
