"""The embedded default connector: a folder of CSV/JSON tables in, an outbox folder out.

Input tables (see `connectors/files/README.md` for columns): `accounts`, `usage`, `purchases`,
`owners`, and optionally `opportunities` (deals created earlier and their status: how a team
records that a CSM won or lost an offer, and how the sample carries history for cooldowns) and
`manifest.json` (the moment the data describes). Two optional tables feed the outcome loop and
backtests: extra columns of `opportunities` (`amount` won, `lost_reason`, `task_completed`, and `kind`,
`score`, `journey_stage` for deals the ledger never saw) and `account_history` (`account_id`,
`valid_from`, `plan`, `plan_rank`, `seats_purchased`, `seats_used`, `mrr`: an account's state from that
day on; blank cells mean unchanged). An optional `notes` table (`account_id, created_at, source, text`)
holds what customers said (connectors/files/notes.py). With no folder configured it reads the sample
bundled with the package. Output never goes inside the installed package.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, AccountState, DealFacts, ReadReport
from connectors.files.notes import read_notes
from connectors.files.outbox import Outbox, deal_record, task_record
from connectors.files.reading import InputFileError, check_utf8, manifest_as_of
from connectors.files.tables import find_table, fingerprint, read_rows
from connectors.files.usage_index import UsageIndex
from domain import (
    Account,
    Conversation,
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityStatus,
    Owner,
    Purchase,
    WriteResult,
)

log = logging.getLogger(__name__)

TABLES = ("accounts", "usage", "purchases", "owners", "opportunities", "account_history", "notes")
TRUE = {"1", "true", "yes", "y", "done", "completed"}


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _number(value: Any, kind: type) -> Any:
    text = _text(value)
    if text is None:
        return None
    try:
        return kind(Decimal(text)) if kind is int else kind(text)
    except (ArithmeticError, ValueError):  # InvalidOperation, and OverflowError from int(inf)
        return None


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
        self.outbox = Outbox(Path(output_dir) / "outbox", clock=self._write_clock)
        self._cursor: str | None = None

    def data_as_of(self) -> datetime | None:
        manifest = self.data_dir / "manifest.json"
        if not manifest.is_file():
            return None
        value = manifest_as_of(manifest)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InputFileError(
                manifest,
                "as_of",
                f"{value[:60]!r} is not an ISO 8601 date-time (e.g. 2026-11-02T06:00:00+00:00)",
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _write_clock(self) -> datetime:
        """When a deal is written: the moment a fixed data set describes (the pass's clock on the
        sample), else now, as a CRM stamps its deals."""
        return self.data_as_of() or datetime.now(UTC)

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
        for name in TABLES:  # a bad byte anywhere stops the pass before its first write
            path = find_table(self.data_dir, name)
            if path is not None:
                check_utf8(path)
        # The usage table is streamed into a scratch index, not held (connectors/files/usage_index.py).
        with UsageIndex(self._rows("usage"), report, _problem) as usage:
            for account in self._accounts(report):
                yield AccountRecord(account, usage.points(account.id))

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
                merged = {
                    **(known.model_dump() if known else {}),
                    **{k: v for k, v in row.items() if v not in ("", None)},
                }
                found[merged["key"]] = ExistingOpportunity.model_validate(merged)
            except (KeyError, ValidationError) as exc:
                log.warning("opportunities row %d skipped: %s", number, exc)
        yield from found.values()

    def read_deal_facts(self, keys: Sequence[str]) -> dict[str, DealFacts]:
        """Capability `ReadsDealFacts` (connectors/capabilities.py): the `opportunities` table's outcome
        columns for these keys; later rows win, blank cells keep what an earlier row said."""
        wanted = set(keys)
        merged: dict[str, dict[str, Any]] = {}
        for _, row in self._rows("opportunities"):
            key = _text(row.get("key"))
            if key is None or key not in wanted:
                continue
            merged.setdefault(key, {}).update({k: v for k, v in row.items() if _text(v) is not None})
        facts = {}
        for key, row in merged.items():
            done = _text(row.get("task_completed"))
            facts[key] = DealFacts(
                amount=_number(row.get("amount"), Decimal),
                lost_reason=_text(row.get("lost_reason")),
                task_completed=None if done is None else done.lower() in TRUE,
                kind=_text(row.get("kind")),
                score=_number(row.get("score"), int),
                journey_stage=_text(row.get("journey_stage")),
            )
        return facts

    def read_account_history(self) -> Iterator[AccountState]:
        """Capability `ReadsAccountHistory`: the `account_history` table, oldest first per account."""
        states: list[AccountState] = []
        for number, row in self._rows("account_history"):
            account_id, since = _text(row.get("account_id")), _text(row.get("valid_from"))
            try:
                valid_from = date.fromisoformat(since[:10]) if since else None
            except ValueError:
                valid_from = None
            if account_id is None or valid_from is None:
                log.warning("account_history row %d skipped: needs account_id and valid_from", number)
                continue
            states.append(
                AccountState(
                    account_id=account_id,
                    valid_from=valid_from,
                    plan=_text(row.get("plan")),
                    plan_rank=_number(row.get("plan_rank"), int),
                    seats_purchased=_number(row.get("seats_purchased"), int),
                    seats_used=_number(row.get("seats_used"), int),
                    mrr=_number(row.get("mrr"), Decimal),
                )
            )
        states.sort(key=lambda s: (s.account_id, s.valid_from))
        yield from states

    def read_conversations(
        self, account_ids: Sequence[str], since: datetime | None
    ) -> Iterator[Conversation]:
        """Optional capability (ReadsConversations): the `notes` table (connectors/files/notes.py)."""
        yield from read_notes(self.data_dir, account_ids, since)

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
