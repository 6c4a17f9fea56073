"""The `usage` table, spilled to a temporary SQLite file and looked up one account at a time.

The usage table is not sorted by account, and accounts are read in their own table's order, so the
file connector needs every account's points by id. Holding them as validated objects cost 3.7 GB at
50,000 accounts of 26 weekly points for 4 metrics (5.2 million rows); here each row is validated as
it streams past (bad rows are skipped and counted exactly as before) and only its four plain values
go to an indexed table on disk, so memory holds one account's points whatever the table's size
(`bench/files_memory.py` measures it). SQLite is in the standard library: nothing to install.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import ReadReport
from domain import UsagePoint

log = logging.getLogger(__name__)

BATCH = 10_000  # rows per insert: memory holds one batch of plain tuples


class UsageIndex:
    """Points by account id, from a usage table read once. Close it (or use it as a context
    manager) to delete the temporary file."""

    def __init__(
        self,
        rows: Iterator[tuple[int, dict[str, Any]]],
        report: ReadReport,
        describe: Callable[[ValidationError], str],
    ) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="oppworker-usage-")
        self._db = sqlite3.connect(Path(self._folder.name) / "usage.sqlite3")
        # A scratch file rebuilt on every read: durability would only cost time.
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;"
            "CREATE TABLE usage (account_id TEXT NOT NULL, metric TEXT NOT NULL,"
            " period_start TEXT NOT NULL, value REAL NOT NULL);"
        )
        batch: list[tuple[str, str, str, float]] = []
        for number, row in rows:
            try:
                point = UsagePoint.model_validate(row)
            except ValidationError as exc:
                report.skip(
                    "invalid_usage_row", row.get("account_id"), f"usage row {number}: {describe(exc)}"
                )
                continue
            batch.append((point.account_id, point.metric, point.period_start.isoformat(), point.value))
            if len(batch) >= BATCH:
                self._insert(batch)
                batch = []
        self._insert(batch)
        self._db.execute("CREATE INDEX usage_by_account ON usage (account_id)")
        self._db.commit()

    def _insert(self, batch: list[tuple[str, str, str, float]]) -> None:
        if batch:
            self._db.executemany("INSERT INTO usage VALUES (?, ?, ?, ?)", batch)

    def points(self, account_id: str) -> list[UsagePoint]:
        """The account's points in the table's order. Each was validated on the way in, so it is
        rebuilt without validating again."""
        rows = self._db.execute(
            "SELECT metric, period_start, value FROM usage WHERE account_id = ? ORDER BY rowid", (account_id,)
        )
        return [
            UsagePoint.model_construct(
                account_id=account_id, metric=metric, period_start=date.fromisoformat(day), value=value
            )
            for metric, day, value in rows
        ]

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> UsageIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
