"""What the ledger keeps of the accounts themselves between passes: daily usage snapshots (trends
and milestones need yesterday's values, which a CRM property does not keep) and product baskets
(the affinity model's input)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from worker.store.probes import select_each
from worker.store.schema import baskets, replace_rows, usage_snapshots


class UsageAndBaskets:
    """Mixed into `Ledger` (worker/store/ledger.py), which owns the engine."""

    engine: Engine

    def store_snapshots(self, crm: str, taken_on: date, values: Iterable[tuple[str, str, float]]) -> None:
        """One value per (account, metric, day): a later pass the same day replaces the value."""
        unique = {(a, m): v for a, m, v in values}  # an account listed twice: its last value counts
        rows = [
            {"crm": crm, "account_id": a, "metric": m, "taken_on": taken_on, "value": v}
            for (a, m), v in unique.items()
        ]
        replace_rows(self.engine, usage_snapshots, rows)

    def replace_snapshots(self, crm: str, values: Sequence[tuple[str, str, date, float]]) -> None:
        """Webhook usage: each (account, metric, day) value replaces what was stored for that day,
        all in one transaction."""
        with self.engine.begin() as db:
            for account_id, metric, day, value in values:
                db.execute(
                    usage_snapshots.delete().where(
                        usage_snapshots.c.crm == crm,
                        usage_snapshots.c.account_id == account_id,
                        usage_snapshots.c.metric == metric,
                        usage_snapshots.c.taken_on == day,
                    )
                )
                db.execute(
                    insert(usage_snapshots).values(
                        crm=crm, account_id=account_id, metric=metric, taken_on=day, value=value
                    )
                )

    def snapshots(
        self, crm: str, account_ids: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[date, float]]]]:
        """account -> metric -> [(taken_on, value)], oldest first."""
        found: dict[str, dict[str, list[tuple[date, float]]]] = {}
        if not account_ids:
            return found
        t = usage_snapshots.c
        # By one index probe per account (worker/store/probes.py): the table holds every account's
        # metrics for 30 days, and an IN list of a chunk's accounts was planned, without table
        # statistics, as a read of the whole CRM's snapshots for every chunk.
        each = select_each(
            self.engine.dialect,
            t.account_id,
            account_ids,
            (t.account_id, t.metric, t.taken_on, t.value),
            t.crm == crm,
        )
        with self.engine.connect() as db:
            result = db.execute(each.order_by(each.selected_columns.taken_on))
            for account_id, metric, taken_on, value in result:
                found.setdefault(account_id, {}).setdefault(metric, []).append((taken_on, value))
        return found

    def has_baskets(self, crm: str) -> bool:
        with self.engine.connect() as db:
            return (
                db.execute(select(baskets.c.account_id).where(baskets.c.crm == crm).limit(1)).first()
                is not None
            )

    def store_baskets(self, crm: str, items: Iterable[tuple[str, frozenset[str]]]) -> None:
        rows = {a: ";".join(sorted(p)) for a, p in items}
        replace_rows(
            self.engine, baskets, [{"crm": crm, "account_id": a, "products": p} for a, p in rows.items()]
        )

    def iter_baskets(self, crm: str) -> Iterator[frozenset[str]]:
        with self.engine.connect() as db:
            for (products,) in db.execute(select(baskets.c.products).where(baskets.c.crm == crm)).yield_per(
                2000
            ):
                yield frozenset(p for p in products.split(";") if p)
