"""Contract: reads. Every registered connector streams accounts, reads incrementally from its cursor,
and skips or defaults a bad record (counted in the ReadReport) without losing the others."""

from __future__ import annotations

from connectors.base import Connector, ReadReport
from connectors.registry import SHIPPED
from tests.contract.harnesses import HARNESSES, Harness


def test_every_registered_connector_has_a_harness() -> None:
    # A CRM added to the registry without a harness would skip the whole contract: fail instead.
    assert set(HARNESSES) >= SHIPPED, (
        f"add a Harness to tests/contract/harnesses.py for {SHIPPED - set(HARNESSES)}"
    )


def test_connector_implements_the_required_protocol(harness: Harness) -> None:
    connector = harness.build()
    assert isinstance(connector, Connector)
    assert connector.name == harness.name


def test_full_read_streams_every_account_and_yields_a_cursor(harness: Harness) -> None:
    ids = harness.seed_accounts(5)
    connector = harness.build()
    report = ReadReport()
    records = list(connector.read_accounts(None, report))
    assert [r.account.id for r in records] == ids
    assert report.read == 5 and not report.skipped and not report.defaulted
    assert all(r.account.seats_purchased == 10 and r.account.products >= {"translate"} for r in records)
    assert connector.next_cursor() is not None
    connector.close()


def test_incremental_read_from_the_cursor_returns_what_changed(harness: Harness) -> None:
    ids = harness.seed_accounts(6)
    first = harness.build()
    assert len(list(first.read_accounts(None, ReadReport()))) == 6
    cursor = first.next_cursor()
    first.close()

    unchanged = harness.build()
    assert list(unchanged.read_accounts(cursor, ReadReport())) == []
    assert unchanged.next_cursor() is not None
    unchanged.close()

    harness.change_account(ids[2])
    later = harness.build()
    changed = [r.account.id for r in later.read_accounts(cursor, ReadReport())]
    assert ids[2] in changed
    if harness.incremental_reads_only_changes:
        assert changed == [ids[2]]
    else:
        assert sorted(changed) == sorted(ids)  # a changed source is read whole
    later.close()


def test_bad_record_is_counted_and_the_read_goes_on(harness: Harness) -> None:
    ids = harness.seed_accounts(3)
    harness.plant_bad_record()
    report = ReadReport()
    connector = harness.build()
    read = [r.account.id for r in connector.read_accounts(None, report)]
    assert read[:3] == ids  # the good ones, in order
    counted = report.skipped if harness.bad_record_counted_as == "skipped" else report.defaulted
    assert sum(counted.values()) == 1, (report.skipped, report.defaulted)
    assert len(read) == (3 if harness.bad_record_counted_as == "skipped" else 4)
    connector.close()
