"""The outbox's CSV files: a spreadsheet-friendly view of the JSONL record, never the record itself.

Why a view (#17): the outbox used to append each batch to the JSONL file and then to the CSV file; a
SIGKILL between the two left the CSV missing that batch for good, since the rerun found every key in
the JSONL and wrote nothing. Now the JSONL is the one record and the CSV is reconciled with it
whenever the outbox opens: a small state file remembers how many records and bytes the CSV held after
its last complete append, and any disagreement (a kill between the appends, a torn CSV line, a record
removed from the JSONL) rebuilds the CSV from the JSONL into a temporary file that replaces it in one
rename.

Why cells are neutralised (#16): a spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return as a formula, so an account named `=HYPERLINK("http://evil.example","x")` became
a live link in `deals.csv`. Following OWASP's CSV-injection guidance
(https://owasp.org/www-community/attacks/CSV_Injection) such a cell is prefixed with a single quote.
Only the CSV is changed: the JSONL keeps the true value, and the CRM-facing data never sees the quote.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate, made inert with a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    """One JSONL record as its CSV row: the explanation flattened, every text cell neutralised."""
    row = dict(record)
    if isinstance(row.get("explanation"), list):
        row["explanation"] = "; ".join(
            f"{c.get('signal')} +{c.get('points')}"
            for c in row["explanation"]
            if isinstance(c, dict) and c.get("points")
        )
    if isinstance(row.get("covers"), list):
        row["covers"] = "; ".join(str(k) for k in row["covers"])
    return {key: neutralise(value) for key, value in row.items()}


def _rows_text(fields: Sequence[str], records: Iterable[dict[str, Any]], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore")
    if header:
        writer.writeheader()
    for record in records:
        writer.writerow(csv_row(record))
    return buffer.getvalue()


class CsvView:
    """`deals.csv` or `tasks.csv`, kept equal to the unique records of its JSONL file."""

    def __init__(self, path: Path, fields: Sequence[str]) -> None:
        self.path = path
        self.fields = list(fields)
        self.state_path = path.with_name(f".{path.name}.state")

    def reconcile(self, records: Sequence[dict[str, Any]]) -> bool:
        """Make the CSV hold exactly `records` (the JSONL's, in order); True when it was rebuilt.
        Call with the outbox lock held."""
        if not records and not self.path.exists():
            return False  # nothing written yet: no CSV until the first record
        if self._state() == {"records": len(records), "bytes": self._size(), "fields": self.fields}:
            return False
        text = _rows_text(self.fields, records, header=True)
        temporary = self.path.with_name(f".{self.path.name}.rebuild")
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self._save_state(len(records))
        return True

    def append(self, records: Sequence[dict[str, Any]], records_before: int) -> None:
        """Append rows for records just appended to the JSONL (lock held), then record the state.
        A crash anywhere in here leaves the state stale, so the next open rebuilds."""
        new_file = not self.path.exists()
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            handle.write(_rows_text(self.fields, records, header=new_file))
        self._save_state(records_before + len(records))

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return -1

    def _state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _save_state(self, records: int) -> None:
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps({"records": records, "bytes": self._size(), "fields": self.fields}))
        os.replace(temporary, self.state_path)
