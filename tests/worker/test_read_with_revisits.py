"""Reading a pass's accounts keeps no id per account: only the ids to revisit are looked for."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from connectors.base import ReadReport
from worker.pipeline.revisits import read_with_revisits

LISTED = 50_000


class Listing:
    """Lists LISTED accounts, and reads by id what it is asked (ReadsAccountsById)."""

    def __init__(self) -> None:
        self.asked_by_id: list[list[str]] = []

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[Any]:
        for n in range(LISTED):
            yield SimpleNamespace(account=SimpleNamespace(id=f"account-{n:08d}"))

    def read_accounts_by_id(self, account_ids: Sequence[str], report: ReadReport) -> Iterator[Any]:
        self.asked_by_id.append(list(account_ids))
        for account_id in account_ids:
            yield SimpleNamespace(account=SimpleNamespace(id=account_id))


def _listed_with_peak(cursor: str | None, revisit: list[str]) -> tuple[int, list[str], int]:
    connector = Listing()
    tracemalloc.start()
    count, extra = 0, []
    for record in read_with_revisits(connector, cursor, ReadReport(), revisit):  # type: ignore[arg-type]
        count += 1
        if count > LISTED:
            extra.append(record.account.id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert connector.asked_by_id == ([] if not extra else [extra])
    return count, extra, peak


def test_a_full_pass_lists_everything_once_and_holds_no_id_per_account() -> None:
    count, extra, peak = _listed_with_peak(None, ["account-00000007", "elsewhere"])
    assert (count, extra) == (LISTED, [])
    # 50,000 ids kept in a set took 5.4 MB here; one record at a time takes a few KB.
    assert peak < 1_000_000, peak


def test_an_incremental_pass_revisits_only_the_ids_it_did_not_list() -> None:
    count, extra, peak = _listed_with_peak("cursor", ["account-00000007", "elsewhere", "account-00049999"])
    assert (count, extra) == (LISTED + 1, ["elsewhere"])
    assert peak < 1_000_000, peak
