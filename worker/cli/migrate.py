"""`oppworker migrate --from zendesk-sell --to pipedrive [--dry-run]`: carry this tool's state across
a CRM switch (issue 12, item 2), after the customer imported the old CRM's export into the new one.

1. Map accounts: the new CRM's accounts carry the old id in a custom field (Pipedrive: "Zendesk Sell id");
   failing that, an exact name match; ambiguities and misses are listed, never guessed
   (worker/pipeline/crm_migration.py).
2. Map deals: every opportunity the ledger holds for the old CRM, to the new CRM's deal carrying its
   key (the import mapped the key field), else the one deal with its exact title (account mapped).
3. Carry the ledger (worker/store/migration.py), in one transaction: opportunities with the new deal
   ids, cooldown and per-need history, holdout assignment, outcomes, usage snapshots and baskets.
`--dry-run` prints the mapping and the row counts that would move, and changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from connectors.base import ReadReport
from connectors.capabilities import ReadsImportedRecords
from connectors.registry import available, build_connector
from domain import ConnectorError
from worker.cli.console import console
from worker.cli.console import settings_from as _settings
from worker.pipeline.crm_migration import Matching, SourceRecord, TargetRecord, match_records
from worker.store.ledger import Ledger
from worker.store.migration import CarryPlan, MigrationStore


def _accounts(source: Any) -> list[SourceRecord]:
    return [SourceRecord(r.account.id, r.account.name) for r in source.read_accounts(None, ReadReport())]


def _deals(store: MigrationStore, crm: str, accounts: Matching, target: ReadsImportedRecords) -> Matching:
    """Ledger opportunities of the old CRM -> deals of the new one. By the carried key; else by an
    exact title no other deal shares, and only for an opportunity whose account was mapped."""
    rows = store.ledger_deals(crm)
    imported = [TargetRecord(i, title, key) for i, title, key in target.imported_deals()]
    by_key = match_records([SourceRecord(r["key"], "") for r in rows], imported)
    found = Matching(
        mapped=dict(by_key.mapped),
        how=dict(by_key.how),
        ambiguous=[a for a in by_key.ambiguous if a.reason == "several records carry this id"],
    )
    titled = {
        r["key"]: r
        for r in rows
        if r["key"] not in found.mapped and r["key"] not in {a.source_id for a in found.ambiguous}
    }
    taken = set(found.mapped.values())
    by_title = match_records(
        [SourceRecord(k, r["title"]) for k, r in titled.items()], [t for t in imported if t.id not in taken]
    )
    for key, deal_id in by_title.mapped.items():
        if accounts.mapped.get(titled[key]["account_id"]) is not None:
            found.mapped[key], found.how[key] = deal_id, "name"
        else:
            found.missing.append(key)
    found.ambiguous += by_title.ambiguous
    found.missing += by_title.missing
    return found


def _print(
    accounts: Matching, deals: Matching, counts: Any, as_json: bool, dry_run: bool, names: dict[str, str]
) -> None:
    summary = {
        "dry_run": dry_run,
        "accounts": {
            **accounts.counts(),
            "mapped": accounts.mapped,
            "how": accounts.how,
            "ambiguous": [a.__dict__ | {"candidates": list(a.candidates)} for a in accounts.ambiguous],
            "missing": accounts.missing,
        },
        "deals": {
            **deals.counts(),
            "mapped": deals.mapped,
            "how": deals.how,
            "ambiguous": [a.__dict__ | {"candidates": list(a.candidates)} for a in deals.ambiguous],
            "missing": deals.missing,
        },
        "rows": {
            "moved" if not dry_run else "would_move": dict(counts.moved),
            "left_behind": dict(counts.left),
            "open_opportunities": counts.open_opportunities,
        },
    }
    if as_json:
        click.echo(json.dumps(summary, default=str))
        return
    verb = "would move" if dry_run else "moved"
    console.print(f"[bold]Accounts[/]: {accounts.counts()}")
    for source_id, target_id in sorted(accounts.mapped.items()):
        console.print(
            f"  {source_id} ({names.get(source_id, '')}) -> {target_id} by {accounts.how[source_id]}"
        )
    for doubt in accounts.ambiguous:
        console.print(
            f"  [yellow]ambiguous[/] {doubt.source_id} ({doubt.name}): {doubt.reason}: {', '.join(doubt.candidates)}"
        )
    for source_id in accounts.missing:
        console.print(
            f"  [red]missing[/] {source_id} ({names.get(source_id, '')}): no counterpart; its rows stay"
        )
    console.print(f"[bold]Deals[/]: {deals.counts()}")
    for doubt in deals.ambiguous:
        console.print(
            f"  [yellow]ambiguous[/] {doubt.source_id}: {doubt.reason}: {', '.join(doubt.candidates)}"
        )
    for key in deals.missing:
        console.print(f"  [red]missing[/] {key}: no deal carries this key; its ledger row stays")
    console.print(f"[bold]Ledger rows {verb}[/]: {dict(counts.moved)}; left behind: {dict(counts.left)}")


@click.command("migrate")
@click.option(
    "--from", "source_crm", type=click.Choice(available()), required=True, help="The CRM left behind."
)
@click.option(
    "--to", "target_crm", type=click.Choice(available()), required=True, help="The CRM the export went to."
)
@click.option("--dry-run", is_flag=True, help="Print the mapping and what would move; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the mapping and counts as JSON.")
@click.pass_context
def migrate_cmd(ctx: click.Context, source_crm: str, target_crm: str, dry_run: bool, as_json: bool) -> None:
    """Carry open offers, cooldowns, holdouts, outcomes and usage history to the new CRM's ids."""
    if source_crm == target_crm:
        raise click.UsageError("--from and --to name the same CRM")
    settings = _settings(ctx)
    source = build_connector(source_crm, {**settings.connector_options(source_crm), "dry_run": True})
    target = build_connector(target_crm, {**settings.connector_options(target_crm), "dry_run": True})
    if not isinstance(target, ReadsImportedRecords):
        raise click.ClickException(
            f"{target_crm} cannot list imported records (no ReadsImportedRecords): not a migration target"
        )
    try:
        sources = _accounts(source)
        accounts = match_records(sources, [TargetRecord(i, n, c) for i, n, c in target.imported_accounts()])
        store = MigrationStore(Ledger(settings.ledger_url).engine)
        deals = _deals(store, source_crm, accounts, target)
    except ConnectorError as exc:
        raise click.ClickException(f"({exc.kind.value}): {exc}") from None
    finally:
        for connector in (source, target):
            close = getattr(connector, "close", None)
            if close:
                close()
    plan = CarryPlan(source_crm, target_crm, dict(accounts.mapped), dict(deals.mapped))
    counts = store.carry(plan, datetime.now(UTC), dry_run=dry_run)
    _print(accounts, deals, counts, as_json, dry_run, {s.id: s.name for s in sources})


commands = [migrate_cmd]
