"""Preparing a pass, its CRM I/O step before any account is assessed: the definitions, owners, our
deals as the CRM and the ledger know them, the outcome sync, the affinity model. Both drivers call
`prepare_pass` (worker/pipeline/run.py in-process, worker/service/read.py on the workers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.base import Connector, ReadReport
from connectors.capabilities import ReadsOpportunitiesFor
from domain import ExistingOpportunity
from playbooks.affinity import AffinityModel, BasketCounter
from playbooks.loader import load_playbooks
from playbooks.model import Playbook
from worker.outcomes.money import MoneyBasis
from worker.outcomes.sync import sync_outcomes
from worker.pipeline.assess import PassContext, build_assessor
from worker.pipeline.history import build_history
from worker.pipeline.listening import conversation_reader
from worker.pipeline.revisits import heard_watermark
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger
from worker.store.migration import MigrationStore
from worker.store.win_rates import win_chances


def load_definitions(settings: Settings) -> list[Playbook]:
    return load_playbooks(settings.playbook_dirs, include_builtin=settings.include_builtin_playbooks)


def mine_affinity(
    settings: Settings, ledger: Ledger, connector: Connector, crm: str, report: ReadReport, store: bool
) -> AffinityModel:
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
        counter.rules(
            min_support=settings.affinity_min_support, min_confidence=settings.affinity_min_confidence
        ),
        min_lift=settings.affinity_min_lift,
    )


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
    synced = None
    if not scoped:  # a dry run compares too, storing nothing, so it calibrates as the pass would
        synced = sync_outcomes(ledger, crm, connector, existing, now, save=not dry_run)
    affinity = mine_affinity(settings, ledger, connector, crm, read, store=not dry_run)
    context = PassContext(
        assessor=build_assessor(
            settings,
            playbooks,
            catalog,
            affinity,
            MigrationStore(ledger.engine).holdout_ids(crm),
            # after the sync: this pass's closes count (a dry run adds what it would have stored)
            win_chances(ledger.engine, crm, now, synced.changed if dry_run and synced else ()),
        ),
        histories=histories,
        owners=owners,
        now=now,
        last_run_at=ledger.last_successful_run(crm),
        scoped=scoped,
        money=MoneyBasis.from_settings(settings),
    )
    # An incremental pass hears only what is new, once the ledger holds what earlier passes heard.
    heard_since = None
    if incremental and ledger.mentions.any(crm):
        heard_since = heard_watermark(ledger.last_successful_start(crm))
    context.conversations = conversation_reader(connector, context.assessor.listener, now, heard_since)
    context.recall_mentions = heard_since is not None and context.conversations is not None
    return context, affinity


def chunk_history(
    connector: Connector, ledger: Ledger, crm: str, account_ids: list[str], now: datetime, dry_run: bool
) -> list[ExistingOpportunity]:
    """On a scoped pass, the CRM's view of our deals on one chunk's accounts, with the outcome sync
    for exactly those accounts. A CRM I/O step: the worker runs it where it reads the chunk."""
    if not isinstance(connector, ReadsOpportunitiesFor):
        raise TypeError(f"{type(connector).__name__} cannot read deals per account")
    existing = list(connector.read_opportunities_for(account_ids))
    if not dry_run:
        sync_outcomes(ledger, crm, connector, existing, now, accounts=set(account_ids))
    return existing


def merge_history(
    context: PassContext,
    ledger: Ledger,
    crm: str,
    account_ids: list[str],
    existing: list[ExistingOpportunity],
) -> None:
    """Replace the chunk's accounts' histories with what the CRM says now (plus the ledger)."""
    context.histories.update(build_history(existing, ledger.written_for(crm, account_ids)))
