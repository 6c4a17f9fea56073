"""The file connector's write side: deals and tasks appended to JSONL files, with CSV views.

Ids are derived from the opportunity key, and the keys already in the outbox are loaded at start,
so writing a key twice returns the first record (created=False): the same idempotency contract a
CRM's upsert gives. Each deal records when it was written (`created_at`), as a CRM's deal does, so a
pass whose ledger is lost still counts it against the offer cap (the CRM is the truth, issue #16).
Each batch is flushed and fsynced before its results are returned, so a result
the ledger records is on disk.

The JSONL files are the record; `deals.csv` and `tasks.csv` are views reconciled with them on open
(connectors/files/outbox_csv.py), so a crash between the two appends cannot lose CSV rows. A line
torn by a crash (never acknowledged: the fsync comes first) is cut off on open, so the next append
starts on a line of its own. A lock file serialises appends and reconciling between processes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.files.outbox_csv import CsvView
from domain import FollowUpTask, Opportunity, WriteResult

DEAL_FIELDS = [
    "id",
    "key",
    "account_id",
    "account_name",
    "owner_id",
    "kind",
    "playbook",
    "title",
    "offer",
    "estimated_amount",
    "currency",
    "score",
    "journey_stage",
    "close_date",
    "explanation",
    "created_at",
]
TASK_FIELDS = [
    "id",
    "opportunity_key",
    "deal_id",
    "account_id",
    "owner_id",
    "subject",
    "due_date",
    "priority",
    "body",
    "covers",  # the account's other offers (deal keys) this task lists: one conversation, issue #15
]


def record_id(prefix: str, key: str) -> str:
    return f"{prefix}-{hashlib.sha1(key.encode()).hexdigest()[:16]}"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: its key is rewritten on resume
            if isinstance(item, dict):
                yield item


def deal_record(opportunity: Opportunity, created_at: datetime | None = None) -> dict[str, Any]:
    data = opportunity.model_dump(mode="json")
    record = {"id": record_id("deal", opportunity.key), **{k: data[k] for k in DEAL_FIELDS[1:-1]}}
    if created_at is not None:
        record["created_at"] = created_at.isoformat()
    return record


def wall_clock() -> datetime:
    return datetime.now(UTC)


def task_record(task: FollowUpTask, deal_id: str) -> dict[str, Any]:
    data = task.model_dump(mode="json")
    return {
        "id": record_id("task", task.opportunity_key),
        "deal_id": deal_id,
        **{k: data[k] for k in TASK_FIELDS if k not in ("id", "deal_id")},
    }


def cut_torn_tail(path: Path) -> None:
    """Drop a last line without its newline: a record torn by a crash, never acknowledged."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        size = handle.seek(0, os.SEEK_END)
        position = size
        while position > 0:  # find the last newline, reading backwards in blocks
            step = min(65536, position)
            handle.seek(position - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                position = position - step + newline + 1
                break
            position -= step
        handle.truncate(position)
        handle.flush()
        os.fsync(handle.fileno())


def unique_records(path: Path, key_field: str) -> list[dict[str, Any]]:
    """The JSONL's records, first one per key (a key written twice by two processes counts once)."""
    seen: set[str] = set()
    records = []
    for record in read_jsonl(path):
        key = record.get(key_field)
        if isinstance(key, str) and key not in seen:
            seen.add(key)
            records.append(record)
    return records


class Outbox:
    def __init__(self, folder: Path, clock: Callable[[], datetime] = wall_clock) -> None:
        self.folder = folder
        self.clock = clock  # what a deal's `created_at` says: the moment the data describes, or now
        self.folder.mkdir(parents=True, exist_ok=True)
        self.deals_path = folder / "deals.jsonl"
        self.tasks_path = folder / "tasks.jsonl"
        self._lock_path = folder / ".outbox.lock"
        self._views = {
            self.deals_path: CsvView(folder / "deals.csv", DEAL_FIELDS),
            self.tasks_path: CsvView(folder / "tasks.csv", TASK_FIELDS),
        }
        with self._locked():
            loaded = {}
            for path, key_field in ((self.deals_path, "key"), (self.tasks_path, "opportunity_key")):
                cut_torn_tail(path)
                loaded[path] = unique_records(path, key_field)
                self._views[path].reconcile(loaded[path])
        self._deals = {d["key"]: d["id"] for d in loaded[self.deals_path]}
        self._tasks = {t["opportunity_key"]: t["id"] for t in loaded[self.tasks_path]}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the outbox folder; the kernel drops it when its holder dies."""
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def deals(self) -> Iterator[dict[str, Any]]:
        """Every deal written, each with a `created_at`: deals written before the outbox recorded it
        take the file's modification time, which is no earlier than their writing (so the offer
        cap counts them rather than forgets them)."""
        if not self.deals_path.is_file():
            return
        written = datetime.fromtimestamp(self.deals_path.stat().st_mtime, UTC).isoformat()
        for deal in read_jsonl(self.deals_path):
            yield deal if deal.get("created_at") else {**deal, "created_at": written}

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        results, fresh = [], []
        for opportunity in opportunities:
            if opportunity.key in self._deals:
                results.append(WriteResult(key=opportunity.key, crm_id=self._deals[opportunity.key]))
                continue
            record = deal_record(opportunity, self.clock())
            fresh.append(record)
            self._deals[opportunity.key] = record["id"]
            results.append(WriteResult(key=opportunity.key, crm_id=record["id"], created=True))
        self._append(self.deals_path, fresh, len(self._deals) - len(fresh))
        return results

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        results, fresh = [], []
        for task in tasks:
            key = task.opportunity_key
            if key in self._tasks:
                results.append(WriteResult(key=key, crm_id=self._tasks[key]))
                continue
            if key not in deal_ids:
                results.append(WriteResult(key=key, error="no deal id for this key"))
                continue
            record = task_record(task, deal_ids[key])
            fresh.append(record)
            self._tasks[key] = record["id"]
            results.append(WriteResult(key=key, crm_id=record["id"], created=True))
        self._append(self.tasks_path, fresh, len(self._tasks) - len(fresh))
        return results

    def _append(self, jsonl: Path, records: list[dict[str, Any]], records_before: int) -> None:
        """The JSONL first (fsynced: it is the record), then the CSV view. A process killed between
        the two leaves the view's state stale, and the next open rebuilds the view."""
        if not records:
            return
        with self._locked():
            with jsonl.open("a", encoding="utf-8") as handle:
                handle.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
                handle.flush()
                os.fsync(handle.fileno())
            self._views[jsonl].append(records, records_before)
