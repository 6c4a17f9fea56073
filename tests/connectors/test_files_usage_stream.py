"""The file connector streams its usage table (connectors/files/usage_index.py): points arrive per
account whatever the table's order, bad rows are skipped and counted, and nothing is left behind in
the temporary folder."""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path

import pytest

from connectors.base import ReadReport
from connectors.files.connector import FileConnector

ACCOUNTS = "id,name,owner_id,plan,plan_rank,products,seats_purchased,seats_used,mrr,customer_since,nps\n"


def folder_with_shuffled_usage(tmp_path: Path, accounts: int, weeks: int) -> tuple[Path, list[str]]:
    data = tmp_path / "data"
    data.mkdir()
    ids = [f"acc-{i:03d}" for i in range(accounts)]
    (data / "accounts.csv").write_text(
        ACCOUNTS + "".join(f"{a},Company {a},1,Team,1,translate,10,9,1200,2025-01-01,9\n" for a in ids)
    )
    rows = [
        f"{a},active_users,{date(2026, 1, 5 + w).isoformat()},{i * 100 + w}\n"
        for i, a in enumerate(ids)
        for w in range(weeks)
    ]
    random.Random(7).shuffle(rows)
    rows.insert(len(rows) // 2, "acc-001,active_users,not-a-date,3\n")
    rows.insert(len(rows) // 3, "acc-002,active_users,2026-01-20,nan\n")
    (data / "usage.csv").write_text("account_id,metric,period_start,value\n" + "".join(rows))
    return data, ids


def test_each_account_gets_exactly_its_points_from_a_shuffled_table(tmp_path: Path) -> None:
    data, ids = folder_with_shuffled_usage(tmp_path, accounts=40, weeks=5)
    report = ReadReport()
    records = list(FileConnector(data, tmp_path / "out").read_accounts(None, report))

    assert [r.account.id for r in records] == ids  # the accounts table's order
    for index, record in enumerate(records):
        assert {p.account_id for p in record.usage} == {record.account.id}
        assert sorted(p.value for p in record.usage) == [index * 100 + w for w in range(5)]
        assert sorted(p.period_start for p in record.usage) == [date(2026, 1, 5 + w) for w in range(5)]
    assert report.skipped["invalid_usage_row"] == 2  # the bad date and the NaN, counted, not fatal


def test_the_temporary_index_is_deleted_after_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = folder_with_shuffled_usage(tmp_path, accounts=3, weeks=2)
    scratch = tmp_path / "scratch"  # this test's own temporary folder: parallel runs cannot interfere
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    reader = FileConnector(data, tmp_path / "out").read_accounts(None, ReadReport())
    next(reader)
    assert len(list(scratch.glob("oppworker-usage-*/usage.sqlite3"))) == 1, "spilled while accounts are read"
    list(reader)
    assert list(scratch.iterdir()) == [], "and removed when the read ends"
