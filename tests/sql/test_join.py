"""The join on real engines: the sources' series equal the file connector's own, chunk by chunk;
field overrides carry provenance; rows of unknown accounts are counted, not fatal."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from connectors.base import AccountRecord, ReadReport
from connectors.registry import build_connector
from connectors.sql.enriched import EnrichedConnector
from tests.sql.conftest import load_postgres, make_duckdb, source

pytestmark = pytest.mark.services


def series_of(record: AccountRecord) -> dict[str, list[tuple[date, float]]]:
    if record.series is not None:
        return {m: sorted(zip(s.days, s.values, strict=True)) for m, s in record.series.items()}
    grouped: dict[str, list[tuple[date, float]]] = {}
    for point in record.usage:
        grouped.setdefault(point.metric, []).append((point.period_start, point.value))
    return {m: sorted(points) for m, points in grouped.items()}


def read_all(options: dict[str, Any]) -> tuple[list[AccountRecord], ReadReport, Any]:
    connector = build_connector("files", options)
    report = ReadReport()
    try:
        return list(connector.read_accounts(None, report)), report, connector
    finally:
        connector.close()


@pytest.mark.parametrize("engine", ["postgresql", "duckdb"])
@pytest.mark.parametrize("chunk_size", [7, 1000])
def test_series_from_sql_equal_the_files_own(
    engine: str, chunk_size: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("pg_usage" if engine == "postgresql" else "duckdb_usage")
    plain, _, _ = read_all({"output_dir": tmp_path / "a"})
    enriched, report, connector = read_all(
        {"output_dir": tmp_path / "b", "usage_sources": [source(url, chunk_size=chunk_size)]}
    )
    assert isinstance(connector, EnrichedConnector)
    assert [r.account.id for r in enriched] == [r.account.id for r in plain]
    assert all(not r.usage_is_snapshot and r.series for r in enriched)
    assert [series_of(r) for r in enriched] == [series_of(r) for r in plain]
    assert enriched[0].provenance == {m: "warehouse" for m in series_of(enriched[0])}
    # The sample's usage holds rows only for accounts the file connector reads.
    assert connector.joined["warehouse.usage"] == sum(len(p) for r in enriched for p in series_of(r).values())
    assert not [k for k in report.skipped if "unknown" in k]


@pytest.mark.parametrize("engine", ["postgresql", "duckdb"])
def test_fields_override_with_provenance_and_unknown_rows_counted(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if engine == "postgresql":
        url = request.getfixturevalue("postgres_url")
        load_postgres(
            url,
            usage=[
                ("acc-0001", "active_users", "2026-10-26", 5.0),
                ("ghost-1", "active_users", "2026-10-26", 1.0),
                ("ghost-2", "api_calls", "2026-10-19", 2.0),
            ],
        )
    else:
        url = make_duckdb(
            tmp_path / "u.duckdb",
            usage=[
                ("acc-0001", "active_users", "2026-10-26", 5.0),
                ("ghost-1", "active_users", "2026-10-26", 1.0),
                ("ghost-2", "api_calls", "2026-10-19", 2.0),
            ],
        )
    engine_ = create_engine(url)
    with engine_.begin() as db:
        db.execute(text("INSERT INTO product_accounts VALUES ('acc-0002', 48, 50), ('ghost-3', 1, 1)"))
    engine_.dispose()
    fields = "SELECT account_id AS account_key, seats_used, seats_purchased FROM product_accounts"
    records, report, connector = read_all(
        {"output_dir": tmp_path / "o", "usage_sources": [source(url, fields_query=fields)]}
    )
    by_id = {r.account.id: r for r in records}
    assert by_id["acc-0002"].account.seats_used == 48 and by_id["acc-0002"].account.seats_purchased == 50
    assert by_id["acc-0002"].provenance == {"seats_used": "warehouse", "seats_purchased": "warehouse"}
    assert series_of(by_id["acc-0001"]) == {"active_users": [(date(2026, 10, 26), 5.0)]}
    # Accounts without rows keep the connector's own usage and no provenance.
    assert by_id["acc-0003"].provenance == {} and series_of(by_id["acc-0003"])
    assert report.skipped["usage_rows_of_unknown_accounts (warehouse)"] == 2
    assert report.skipped["fields_rows_of_unknown_accounts (warehouse)"] == 1
    assert connector.unknown == {"warehouse.usage": 2, "warehouse.fields": 1}


def test_since_limits_the_history_window(duckdb_usage: str, tmp_path: Path) -> None:
    records, _, _ = read_all(
        {"output_dir": tmp_path / "o", "usage_sources": [source(duckdb_usage, history_days=30)]}
    )
    days = {day for r in records for points in series_of(r).values() for day, _ in points}
    assert days and min(days) >= date(2026, 10, 1)  # the sample's data is as of early November 2026


def test_join_on_another_canonical_field(duckdb_usage: str, tmp_path: Path) -> None:
    """account_key names the account field the rows join on: here the account's name."""
    query = (
        "SELECT 'Northwind Traders' AS account_key, metric, period_start, value FROM usage_weekly "
        "WHERE period_start >= :since AND account_id = 'acc-0002'"
    )
    plain, _, _ = read_all({"output_dir": tmp_path / "a"})
    records, _, _ = read_all(
        {
            "output_dir": tmp_path / "o",
            "usage_sources": [
                {"name": "named", "url": duckdb_usage, "account_key": "name", "usage_query": query}
            ],
        }
    )
    joined = [r for r in records if r.provenance]
    assert [r.account.id for r in joined] == ["acc-0001"]  # the account named Northwind Traders
    assert series_of(joined[0]) == series_of(next(r for r in plain if r.account.id == "acc-0002"))


def test_provenance_and_series_travel_through_the_celery_chunk_codec(
    duckdb_usage: str, tmp_path: Path
) -> None:
    from worker.service.chunk_codec import decode, encode

    records, _, _ = read_all({"output_dir": tmp_path / "o", "usage_sources": [source(duckdb_usage)]})
    again = [decode(encode(r)) for r in records[:20]]
    assert [r.provenance for r in again] == [r.provenance for r in records[:20]]
    assert [series_of(r) for r in again] == [series_of(r) for r in records[:20]]


def test_optional_methods_and_attributes_are_the_wrapped_connectors(
    duckdb_usage: str, tmp_path: Path
) -> None:
    connector = build_connector(
        "files", {"output_dir": tmp_path / "o", "usage_sources": [source(duckdb_usage)]}
    )
    try:
        assert connector.name == "files" and connector.data_dir == connector.inner.data_dir
        assert getattr(connector, "read_deal_facts", None) is not None
        assert getattr(connector, "read_opportunities_for", None) is None  # the file connector has none
    finally:
        connector.close()
