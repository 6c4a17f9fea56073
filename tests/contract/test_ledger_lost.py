"""Contract: the CRM is the truth. A pass whose ledger is lost or replaced (a new database, a wiped
volume) must see the deals and tasks we wrote earlier by reading them back from the CRM (the file
connector reads its outbox), treat them as open offers, and so write nothing new and decide every
guardrail the same way as a pass over the intact ledger (issue #16, "The CRM is the truth")."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from connectors.base import ReadReport
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog
from tests.contract.harnesses import Harness
from tests.uncapped import UNCAPPED
from worker.pipeline.prepare import load_definitions, prepare_pass
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger


def what_guardrails_see(settings: Settings, harness: Harness, now: datetime) -> dict[str, object]:
    """Per account, what the guardrails decide on: our deals by key with their status and playbook
    and offer (one open offer per playbook and per need), and how many count against the offer cap."""
    connector = harness.build()
    try:
        context, _ = prepare_pass(
            settings,
            Ledger(settings.ledger_url),
            connector,
            harness.name,
            load_definitions(settings),
            load_catalog(settings.catalog),
            ReadReport(),
            now,
            dry_run=True,
        )
    finally:
        connector.close()
    month_ago = now - timedelta(days=30)

    def seen(history: AccountHistory) -> tuple[object, ...]:
        deals = sorted((o.key, o.playbook, o.offer, o.status.value) for o in history.opportunities)
        return (deals, history.created_since(month_ago))

    return {account: seen(history) for account, history in context.histories.items()}


def test_a_lost_ledger_writes_nothing_new_and_decides_the_same(harness: Harness, tmp_path: Path) -> None:
    harness.seed_for_pass(60)

    def settings(ledger: str) -> Settings:
        # Caps lifted (issue #15): the account at the offer cap is the case a lost ledger used to break.
        return Settings(
            **UNCAPPED, database_url=f"sqlite:///{tmp_path / ledger}", output_dir=tmp_path / "pass"
        )

    first = run_pass(settings("ledger.db"), crm=harness.name, connector=harness.build(), now=harness.now)
    assert first.deals_created > 0 and first.tasks_created > 0, "the first pass wrote offers"
    deals, tasks = Counter(harness.deal_keys()), Counter(harness.task_keys())
    now = first.now

    kept = what_guardrails_see(settings("ledger.db"), harness, now)
    lost = what_guardrails_see(settings("fresh.db"), harness, now)
    assert lost == kept, "a fresh ledger sees our deals differently from the CRM"
    capped = [account for account, (_, recent) in lost.items() if recent >= 2]
    assert capped, "some account reached the offer cap: the case the lost ledger used to break"

    again = run_pass(settings("fresh.db"), crm=harness.name, full=True, connector=harness.build(), now=now)
    assert (again.deals_created, again.tasks_created) == (0, 0), "a fresh ledger wrote again"
    assert Counter(harness.deal_keys()) == deals and Counter(harness.task_keys()) == tasks
