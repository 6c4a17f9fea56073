"""The file connector's write side: deals and tasks appended to JSONL and CSV files.

Ids are derived from the opportunity key, and the keys already in the outbox are loaded at start,
so writing a key twice returns the first record (created=False): the same idempotency contract a
CRM's upsert gives. Each deal records when it was written (`created_at`), as a CRM's deal does, so a
pass whose ledger is lost still counts it against the offer cap (the CRM is the truth, issue #16).
Each batch is flushed and fsynced before its results are returned, so a result the ledger records
is on disk. A line torn by a crash is ignored on the next read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domain import FollowUpTask, Opportunity, WriteResult

DEAL_FIELDS = ["id", "key", "account_id", "account_name", "owner_id", "kind", "playbook", "title", "offer",
               "estimated_amount", "currency", "score", "journey_stage", "close_date", "explanation", "created_at"]
TASK_FIELDS = ["id", "opportunity_key", "deal_id", "account_id", "owner_id", "subject", "due_date",
               "priority", "body"]


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
    return datetime.now(timezone.utc)


def task_record(task: FollowUpTask, deal_id: str) -> dict[str, Any]:
    data = task.model_dump(mode="json")
    return {"id": record_id("task", task.opportunity_key), "deal_id": deal_id,
            **{k: data[k] for k in TASK_FIELDS if k not in ("id", "deal_id")}}


class Outbox:
    def __init__(self, folder: Path, clock: Callable[[], datetime] = wall_clock) -> None:
        self.folder = folder
        self.clock = clock  # what a deal's `created_at` says: the moment the data describes, or now
        self.folder.mkdir(parents=True, exist_ok=True)
        self.deals_path = folder / "deals.jsonl"
        self.tasks_path = folder / "tasks.jsonl"
        self._deals = {d["key"]: d["id"] for d in read_jsonl(self.deals_path) if "key" in d}
        self._tasks = {t["opportunity_key"]: t["id"] for t in read_jsonl(self.tasks_path) if "opportunity_key" in t}

    def deals(self) -> Iterator[dict[str, Any]]:
        """Every deal written, each with a `created_at`: deals written before the outbox recorded it
        take the file's modification time, which is no earlier than their writing (so the offer
        cap counts them rather than forgets them)."""
        if not self.deals_path.is_file():
            return
        written = datetime.fromtimestamp(self.deals_path.stat().st_mtime, timezone.utc).isoformat()
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
        self._append(self.deals_path, self.folder / "deals.csv", DEAL_FIELDS, fresh)
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
        self._append(self.tasks_path, self.folder / "tasks.csv", TASK_FIELDS, fresh)
        return results

    @staticmethod
    def _append(jsonl: Path, csv_path: Path, fields: list[str], records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with jsonl.open("a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        new_file = not csv_path.exists()
        with csv_path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            for record in records:
                row = dict(record)
                if isinstance(row.get("explanation"), list):
                    row["explanation"] = "; ".join(
                        f"{c['signal']} +{c['points']}" for c in row["explanation"] if c.get("points")
                    )
                writer.writerow(row)
