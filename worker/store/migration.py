"""Carrying the ledger from one CRM to another (`oppworker migrate`, issue 12 item 2): the only
code that rewrites ledger rows across CRMs.

Every row the ledger keeps per CRM account moves to the new CRM's name with the account's new id:
open and closed opportunities (their deal ids replaced by the new CRM's), usage snapshots, baskets,
outcomes and their events, holdout records and account states. Opportunity *keys* stay as they
were: the customer's import carried them into the new CRM's key field, so the new CRM lists the
same keys and nothing is offered twice. Holdout groups are drawn from a hash of the account id, so
each moved account gets an alias (new id -> the id its groups were drawn with) that the assessor
uses: a control account stays control.

All of it happens in one transaction (all or nothing), and only for mapped accounts and deals:
an account or deal with no counterpart stays under the old CRM, listed by the command. Running it
again moves nothing more (the old CRM's rows are gone; the new ones are upserts).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from worker.store.outcomes import account_states, holdouts, outcome_events, outcomes
from worker.store.schema import baskets, metadata, opportunities, usage_snapshots

account_aliases = Table(
    "ow_account_aliases",
    metadata,
    Column("crm", String(40), primary_key=True),
    Column("account_id", String(120), primary_key=True),
    Column("source_crm", String(40), nullable=False),
    Column("source_account_id", String(120), nullable=False),
    Column("migrated_at", DateTime(timezone=True), nullable=False),
)

# Tables keyed by (crm, account_id, ...): each row follows its account.
BY_ACCOUNT: tuple[Table, ...] = (opportunities, usage_snapshots, baskets, outcomes, holdouts, account_states)


@dataclass(frozen=True)
class CarryPlan:
    source_crm: str
    target_crm: str
    accounts: dict[str, str]  # old account id -> new account id
    deals: dict[str, str]  # opportunity key -> new CRM deal id


@dataclass
class CarryCounts:
    """Rows per table that move (or would), and rows left behind because their account or deal has
    no counterpart."""

    moved: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    open_opportunities: int = 0  # of the moved opportunities, those still open (not yet closed)


def _upsert(db: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    module = postgresql if db.dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    db.execute(statement, rows)


def _moved_payload(payload: str, account_id: str) -> str:
    """The stored opportunity and task, now on the new account (a resumed write must target it)."""
    data = json.loads(payload)
    for part in ("opportunity", "task"):
        if isinstance(data.get(part), dict):
            data[part]["account_id"] = account_id
    return json.dumps(data)


class MigrationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, tables=[account_aliases, *BY_ACCOUNT, outcome_events])

    def ledger_deals(self, crm: str) -> list[dict[str, Any]]:
        """key, account, deal id, state and title of every opportunity the ledger holds for `crm`."""
        with self.engine.connect() as db:
            rows = db.execute(select(opportunities).where(opportunities.c.crm == crm)).mappings().all()
        found = []
        for row in rows:
            title = (json.loads(row["payload"]).get("opportunity") or {}).get("title") or row["key"]
            found.append(
                {
                    "key": row["key"],
                    "account_id": row["account_id"],
                    "deal_id": row["deal_id"],
                    "state": row["state"],
                    "title": title,
                }
            )
        return found

    def holdout_ids(self, crm: str) -> dict[str, str]:
        """account id in `crm` -> the id its holdout groups were drawn with (migrated accounts only)."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(account_aliases.c.account_id, account_aliases.c.source_account_id).where(
                    account_aliases.c.crm == crm
                )
            )
            return {account: source for account, source in rows}

    def carry(self, plan: CarryPlan, now: datetime, *, dry_run: bool = False) -> CarryCounts:
        """Move the mapped rows (or, with `dry_run`, count what would move and roll back)."""
        counts = CarryCounts()
        db = self.engine.connect()
        transaction = db.begin()
        try:
            moved_keys = self._move_accounts(db, plan, counts)
            self._move_events(db, plan, moved_keys, counts)
            aliases = [
                {
                    "crm": plan.target_crm,
                    "account_id": new,
                    "source_crm": plan.source_crm,
                    "source_account_id": old,
                    "migrated_at": now,
                }
                for old, new in plan.accounts.items()
            ]
            _upsert(db, account_aliases, aliases)
            counts.moved["account_aliases"] = len(aliases)
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        finally:
            db.close()
        return counts

    def _move_accounts(self, db: Connection, plan: CarryPlan, counts: CarryCounts) -> set[str]:
        """Move every row of a mapped account; an opportunity also needs its deal mapped, and its
        outcome stays with it when it stays. Returns the opportunity keys moved."""
        moved_keys: set[str] = set()
        stays: set[str] = set()  # opportunity keys left behind (opportunities come first in BY_ACCOUNT)
        for table in BY_ACCOUNT:
            rows = [
                dict(r) for r in db.execute(select(table).where(table.c.crm == plan.source_crm)).mappings()
            ]
            carried = []
            for row in rows:
                new_account = plan.accounts.get(row["account_id"])
                unmapped_deal = table is opportunities and row["key"] not in plan.deals
                if new_account is None or unmapped_deal or (table is outcomes and row["key"] in stays):
                    counts.left[table.name] += 1
                    if table is opportunities:
                        stays.add(row["key"])
                    continue
                old = dict(row)
                row.update(crm=plan.target_crm, account_id=new_account)
                if table is opportunities:
                    row["deal_id"] = plan.deals[row["key"]]
                    row["payload"] = _moved_payload(row["payload"], new_account)
                    row["claimed_by"] = row["claimed_until"] = None
                    moved_keys.add(row["key"])
                if table is outcomes:
                    row["deal_id"] = plan.deals.get(row["key"], row["deal_id"])
                    counts.open_opportunities += row["status"] == "open"
                carried.append((old, row))
            _upsert(db, table, [row for _, row in carried])
            keys = list(table.primary_key.columns)
            for old, _ in carried:
                db.execute(delete(table).where(*[c == old[c.name] for c in keys]))
            counts.moved[table.name] += len(carried)
        return moved_keys

    def _move_events(self, db: Connection, plan: CarryPlan, keys: set[str], counts: CarryCounts) -> None:
        carried_outcomes = set(keys) | set(
            db.execute(select(outcomes.c.key).where(outcomes.c.crm == plan.target_crm)).scalars()
        )
        rows = [
            dict(r)
            for r in db.execute(
                select(outcome_events).where(outcome_events.c.crm == plan.source_crm)
            ).mappings()
            if r["key"] in carried_outcomes
        ]
        if rows:
            db.execute(delete(outcome_events).where(outcome_events.c.id.in_([r["id"] for r in rows])))
            db.execute(
                insert(outcome_events),
                [{**{k: v for k, v in r.items() if k != "id"}, "crm": plan.target_crm} for r in rows],
            )
        counts.moved[outcome_events.name] += len(rows)
