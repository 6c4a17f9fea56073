"""`:since` on an incremental pass (issue #14): bound to the last clean pass's watermark it finds the
accounts with new usage rows, which the worker re-reads by id although the CRM did not change them;
their series are still read over the whole history window (a trend needs it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import AccountRecord, ReadReport
from connectors.capabilities import ListsAccountsWithNewUsage
from connectors.sql.enriched import enrich
from domain import Account, Series
from tests.sql.conftest import make_duckdb, source
from worker.pipeline.revisits import accounts_to_revisit, read_with_revisits

pytestmark = pytest.mark.services
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)
LAST_PASS = datetime(2026, 10, 30, 6, 0, tzinfo=UTC)  # the watermark: the last clean pass's start
OLD = [("2026-06-01", 10.0), ("2026-06-08", 12.0)]


class CursorCrm:
    """A CRM whose cursor sees only acc-3 changed, and which cannot read accounts by id."""

    name = "stub"

    def __init__(self) -> None:
        self.ids = ["acc-1", "acc-2", "acc-3"]
        self.asked_by_id: list[list[str]] = []

    def data_as_of(self) -> datetime:
        return AS_OF

    def _records(self, ids: Sequence[str]) -> Iterator[AccountRecord]:
        for account_id in ids:
            yield AccountRecord(Account(id=account_id, name=account_id))

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        return self._records(self.ids if cursor is None else ["acc-3"])

    def close(self) -> None:
        pass


class Crm(CursorCrm):
    """The same, with capability `ReadsAccountsById`."""

    def read_accounts_by_id(self, account_ids: Sequence[str], report: ReadReport) -> Iterator[AccountRecord]:
        self.asked_by_id.append(list(account_ids))
        return self._records([a for a in account_ids if a in self.ids])


def usage_file(tmp_path: Path) -> str:
    rows: list[tuple[Any, ...]] = []
    for account in ("acc-1", "acc-2", "acc-3"):
        rows += [(account, "active_users", day, value) for day, value in OLD]
    rows.append(("acc-2", "active_users", "2026-10-26", 30.0))  # a week still open at the last pass
    rows.append(("ghost", "active_users", "2026-10-26", 1.0))  # no such account in the CRM
    return make_duckdb(tmp_path / "u.duckdb", usage=rows)


def test_accounts_with_new_usage_are_re_read_with_their_whole_window(tmp_path: Path) -> None:
    crm = Crm()
    connector = enrich(crm, [source(usage_file(tmp_path))])  # type: ignore[arg-type]
    assert isinstance(connector, ListsAccountsWithNewUsage)
    revisit = accounts_to_revisit(connector, LAST_PASS)
    # acc-2's row of the week from 2026-10-26 is within the overlap (7 days) before the watermark.
    assert revisit == ["acc-2", "ghost"]
    report = ReadReport()
    records = list(read_with_revisits(connector, "cursor", report, revisit))
    assert [r.account.id for r in records] == ["acc-3", "acc-2"]
    assert crm.asked_by_id == [["acc-2", "ghost"]]  # ghost: the CRM leaves out ids it does not know
    acc2 = records[1]
    assert acc2.series == {
        "active_users": Series.from_points(
            [(date(2026, 6, 1), 10.0), (date(2026, 6, 8), 12.0), (date(2026, 10, 26), 30.0)]
        )
    }
    assert acc2.provenance == {"active_users": "warehouse"} and not acc2.usage_is_snapshot
    assert records[0].series == {
        "active_users": Series.from_points([(date(2026, 6, 1), 10.0), (date(2026, 6, 8), 12.0)])
    }
    connector.close()


def test_the_watermark_and_overlap_bound_what_is_new(tmp_path: Path) -> None:
    url = usage_file(tmp_path)
    tight = enrich(Crm(), [source(url, new_usage_overlap_days=0)])  # type: ignore[arg-type]
    assert tight.accounts_with_new_usage(LAST_PASS) == []
    assert tight.accounts_with_new_usage(datetime(2026, 10, 26, tzinfo=UTC)) == ["acc-2", "ghost"]
    tight.close()


def test_sources_that_cannot_name_accounts_list_none(tmp_path: Path) -> None:
    url = usage_file(tmp_path)
    by_name = enrich(Crm(), [source(url, account_key="name")])  # type: ignore[arg-type]
    assert by_name.accounts_with_new_usage(LAST_PASS) == []
    without_by_id = enrich(CursorCrm(), [source(url)])  # type: ignore[arg-type]
    assert without_by_id.accounts_with_new_usage(LAST_PASS) == []
    assert accounts_to_revisit(without_by_id, LAST_PASS) == []
    by_name.close()
    without_by_id.close()
