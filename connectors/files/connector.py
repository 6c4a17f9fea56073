"""The embedded default connector: a folder of CSV/JSON tables in, an outbox folder out.

Input tables (see `connectors/files/README.md` for columns): `accounts`, `usage`, `purchases`,
`owners`, and optionally `opportunities` (deals created earlier and their status: how a team
records that a CSM won or lost an offer, and how the sample carries history for cooldowns) and
`manifest.json` (the moment the data describes). With no folder configured it reads the sample
bundled with the package. Output never goes inside the installed package.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, ReadReport
from connectors.files.outbox import Outbox, deal_record, task_record
from connectors.files.tables import find_table, fingerprint, read_rows
from domain import (
    Account,
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityStatus,
    Owner,
    Purchase,
    UsagePoint,
    WriteResult,
)

log = logging.getLogger(__name__)

TABLES = ("accounts", "usage", "purchases", "owners", "opportunities")


def sample_data_dir() -> Path:
    return Path(str(resources.files("connectors.files") / "sample_data"))


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


class FileConnector:
    name = "files"

    def __init__(self, data_dir: Path | None, output_dir: Path) -> None:
        self.data_dir = Path(data_dir) if data_dir else sample_data_dir()
        if find_table(self.data_dir, "accounts") is None:
            raise FileNotFoundError(f"{self.data_dir}: no accounts.csv, accounts.json or accounts.jsonl")
        self.outbox = Outbox(Path(output_dir) / "outbox")
        self._cursor: str | None = None

    def data_as_of(self) -> datetime | None:
        manifest = self.data_dir / "manifest.json"
        if not manifest.is_file():
            return None
        value = json.loads(manifest.read_text(encoding="utf-8")).get("as_of")
        if not value:
            return None
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def _rows(self, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        path = find_table(self.data_dir, name)
        if path is not None:
            yield from read_rows(path)

    def read_owners(self) -> Iterator[Owner]:
        for number, row in self._rows("owners"):
            try:
                yield Owner.model_validate(row)
            except ValidationError as exc:
                log.warning("owners row %d skipped: %s", number, _problem(exc))

    def _usage_by_account(self, report: ReadReport) -> dict[str, list[UsagePoint]]:
        usage: dict[str, list[UsagePoint]] = defaultdict(list)
        for number, row in self._rows("usage"):
            try:
                point = UsagePoint.model_validate(row)
            except ValidationError as exc:
                report.skip("invalid_usage_row", row.get("account_id"), f"usage row {number}: {_problem(exc)}")
                continue
            usage[point.account_id].append(point)
        return usage

    def _products_by_account(self) -> dict[str, set[str]]:
        owned: dict[str, set[str]] = defaultdict(set)
        for number, row in self._rows("purchases"):
            try:
                purchase = Purchase.model_validate(row)
            except ValidationError as exc:
                log.warning("purchases row %d skipped: %s", number, _problem(exc))
                continue
            owned[purchase.account_id].add(purchase.product)
        return owned

    def _accounts(self, report: ReadReport) -> Iterator[Account]:
        seen: set[str] = set()
        purchases = self._products_by_account()
        for number, row in self._rows("accounts"):
            record_id = str(row.get("id") or f"row {number}")
            try:
                account = Account.model_validate(row)
            except ValidationError as exc:
                report.skip("invalid_account", record_id, f"accounts row {number}: {_problem(exc)}")
                continue
            if account.id in seen:
                report.skip("duplicate_account_id", account.id, f"accounts row {number}")
                continue
            seen.add(account.id)
            extra = purchases.get(account.id)
            if extra and not extra <= account.products:
                account = account.model_copy(update={"products": account.products | extra})
            report.read += 1
            yield account

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        """Everything, unless the input is byte-for-byte what the cursor describes."""
        current = fingerprint(self.data_dir, TABLES)
        self._cursor = current
        if cursor == current:
            return
        usage = self._usage_by_account(report)
        for account in self._accounts(report):
            yield AccountRecord(account, usage.get(account.id, []))

    def next_cursor(self) -> str | None:
        return self._cursor

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        for account in self._accounts(ReadReport()):
            yield account.id, account.products

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        """Earlier deals: the `opportunities` table (history and status updates, later rows win)
        overlaid on the outbox (open until a status row closes them)."""
        found: dict[str, ExistingOpportunity] = {}
        for deal in self.outbox.deals():
            try:
                found[deal["key"]] = ExistingOpportunity(
                    key=deal["key"],
                    account_id=deal["account_id"],
                    playbook=deal["playbook"],
                    offer=deal["offer"],
                    status=OpportunityStatus.OPEN,
                    created_at=deal.get("created_at"),
                    crm_id=deal["id"],
                )
            except (KeyError, ValidationError) as exc:
                log.warning("outbox deal skipped: %s", exc)
        for number, row in self._rows("opportunities"):
            try:
                known = found.get(str(row.get("key")))
                merged = {**(known.model_dump() if known else {}), **{k: v for k, v in row.items() if v not in ("", None)}}
                found[merged["key"]] = ExistingOpportunity.model_validate(merged)
            except (KeyError, ValidationError) as exc:
                log.warning("opportunities row %d skipped: %s", number, exc)
        yield from found.values()

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        return self.outbox.write_deals(opportunities)

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        return self.outbox.write_tasks(tasks, deal_ids)

    def preview_writes(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        deals = [{"append": "deals.jsonl", "record": deal_record(o)} for o in opportunities]
        ids = {o.key: deal_record(o)["id"] for o in opportunities}
        return deals + [
            {"append": "tasks.jsonl", "record": task_record(t, ids.get(t.opportunity_key, ""))} for t in tasks
        ]

    def close(self) -> None:
        return None


def from_options(options: Mapping[str, Any]) -> FileConnector:
    output = options.get("output_dir") or "oppworker-out"
    return FileConnector(options.get("data_dir"), Path(output))
