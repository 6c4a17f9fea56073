"""Comparing the file outbox's CSV views with its JSONL record, row by row (the kill test and
bench/outbox_kill.py share it)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from connectors.files.outbox import DEAL_FIELDS, TASK_FIELDS, unique_records
from connectors.files.outbox_csv import csv_row


@dataclass
class Comparison:
    records: int = 0  # JSONL records compared with their CSV rows
    missing_in_csv: int = 0
    extra_in_csv: int = 0
    different: int = 0
    acked_lost: int = 0  # keys a batch acknowledged that the JSONL does not hold

    @property
    def lost(self) -> int:
        return self.missing_in_csv + self.acked_lost


def compare_outbox(folder: Path, acked: set[str] | None = None) -> Comparison:
    result = Comparison()
    for name, key_field, fields in (("deals", "key", DEAL_FIELDS), ("tasks", "opportunity_key", TASK_FIELDS)):
        records = unique_records(folder / f"{name}.jsonl", key_field)
        with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        by_id = {row["id"]: row for row in rows}
        result.extra_in_csv += len(rows) - len({r["id"] for r in records} & set(by_id))
        for record in records:
            result.records += 1
            row = by_id.get(record["id"])
            if row is None:
                result.missing_in_csv += 1
                continue
            expected = {f: "" if v is None else str(v) for f, v in csv_row(record).items() if f in fields}
            if {f: row[f] for f in expected} != expected:
                result.different += 1
        if acked is not None and name == "deals":
            result.acked_lost = len(acked - {r["key"] for r in records})
    return result
