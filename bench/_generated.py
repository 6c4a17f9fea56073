"""A connector for the scale benchmark: accounts streamed from the sample generator, a sink for writes.

Loaded into worker processes through `OPPWORKER_CONNECTOR_PLUGINS=generated=bench._generated:from_options`.
`OPPWORKER_BENCH_ACCOUNTS` accounts come straight from `connectors.files.sample.iter_accounts` (no
files: a million accounts' weekly usage would be 100 million CSV rows), each account validated as
the file connector validates it, its usage handed over as `series` (the generator's values are
plain floats). Owners are the bundled sample's. Affinity is mined from the first 20,000 generated
baskets (every account's basket would make the reader generate each account twice).

Writes go to a sink that returns each key's id without storing anything, so the benchmark measures
the worker (scoring, the ledger's exactly-once bookkeeping, the task graph) and not a CRM or the
file outbox, which loads every key it holds when opened and is meant for samples and small folders.
It is not idempotent across processes; the benchmark runs no faults, so no write is repeated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, ReadReport
from connectors.files.connector import FileConnector
from connectors.files.outbox import record_id
from connectors.files.sample import AS_OF, iter_accounts
from domain import Account, ExistingOpportunity, FollowUpTask, Opportunity, WriteResult

SEED = 7
BASKET_SAMPLE = 20_000


class GeneratedConnector(FileConnector):
    name = "generated"

    def __init__(self, accounts: int, output: Path) -> None:
        super().__init__(None, output)
        self.accounts = accounts

    def data_as_of(self):  # type: ignore[no-untyped-def]
        return AS_OF

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        self._cursor = f"generated:{self.accounts}:{SEED}"
        if cursor == self._cursor:
            return
        for _, row, usage in iter_accounts(self.accounts, SEED, as_of=AS_OF, showcase=False):
            try:
                account = Account.model_validate(row)
            except ValidationError as exc:
                report.skip("invalid_account", row.get("id"), str(exc.errors()[0]["msg"]))
                continue
            report.read += 1
            yield AccountRecord(account, [], False, usage)

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        for _, row, _ in iter_accounts(min(self.accounts, BASKET_SAMPLE), SEED, as_of=AS_OF, showcase=False):
            yield row["id"], frozenset(p for p in row["products"].split(";") if p)

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        return iter(())

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        return [WriteResult(key=o.key, crm_id=record_id("deal", o.key), created=True) for o in opportunities]

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        return [
            WriteResult(key=t.opportunity_key, crm_id=record_id("task", t.opportunity_key), created=True)
            for t in tasks
        ]


def from_options(options: Mapping[str, Any]) -> GeneratedConnector:
    output = options.get("output_dir") or os.environ.get("OPPWORKER_OUTPUT_DIR") or "oppworker-out"
    return GeneratedConnector(int(os.environ.get("OPPWORKER_BENCH_ACCOUNTS", "10000")), Path(output))
