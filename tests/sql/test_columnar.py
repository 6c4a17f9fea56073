"""DuckDB's columnar path (connectors/sql/columnar.py) reads exactly what the row path reads, takes
the row path for column types it cannot convert exactly, and leaves bad cells to the row path's
errors (source, column, first offending row), word for word."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.sql import SourceError
from connectors.sql.settings import UsageSourceSettings
from connectors.sql.source import SqlSource
from domain import FailureKind, Series

QUERY = "SELECT account_id AS account_key, metric, period_start, value FROM usage WHERE coalesce(period_start >= :since, true)"
SINCE = date(2026, 1, 1)


def duckdb_file(path: Path, types: str, rows: list[tuple[Any, ...]]) -> str:
    with duckdb.connect(str(path)) as db:
        db.execute(f"CREATE TABLE usage (account_id VARCHAR, metric VARCHAR, {types})")
        if rows:
            db.executemany("INSERT INTO usage VALUES (?, ?, ?, ?)", rows)
    return f"duckdb:///{path}"


def read(url: str, keys: list[str], columnar: bool) -> tuple[SqlSource, Any]:
    """The source after reading `keys`, and what it read, through the columnar or the row path."""
    source = SqlSource(UsageSourceSettings(name="warehouse", url=url, usage_query=QUERY))
    if not columnar:
        source._columnar = False  # the row path, as a source whose types do not fit takes it
    try:
        return source, source.usage_for(keys, SINCE)
    finally:
        source.close()


# Rows out of order, ties on a day (ordered by value, as the row path's sort orders them), keys
# not asked for, an account with one metric, values that are integers in the file.
ROWS = [
    ("b", "api_calls", "2026-03-02", 5.0),
    ("a", "seats", "2026-03-09", 3.0),
    ("a", "api_calls", "2026-03-09", 3.0),
    ("c", "api_calls", "2026-03-02", 9.0),
    ("a", "api_calls", "2026-03-02", 7.0),
    ("a", "api_calls", "2026-03-09", 1.0),
    ("a", "seats", "2026-03-02", 4.0),
    ("zz", "api_calls", "2026-03-02", 1.0),
    ("a", "api_calls", "2025-12-29", 100.0),  # before :since
]
EXPECTED = {
    "a": {
        "api_calls": Series.from_points(
            [(date(2026, 3, 2), 7.0), (date(2026, 3, 9), 1.0), (date(2026, 3, 9), 3.0)]
        ),
        "seats": Series.from_points([(date(2026, 3, 2), 4.0), (date(2026, 3, 9), 3.0)]),
    },
    "b": {"api_calls": Series.from_points([(date(2026, 3, 2), 5.0)])},
}


@pytest.mark.parametrize(
    "types",
    [
        "period_start DATE, value DOUBLE",
        "period_start TIMESTAMP, value BIGINT",
        "period_start DATE, value FLOAT",
        "period_start DATE, value INTEGER",
    ],
)
def test_columnar_reads_what_the_row_path_reads(tmp_path: Path, types: str) -> None:
    url = duckdb_file(tmp_path / "u.duckdb", types, ROWS)
    source, (found, count) = read(url, ["a", "b", "missing"], columnar=True)
    assert source._columnar is True, "these types take the columnar path"
    assert (found, count) == (EXPECTED, 6)
    assert all(
        type(d) is date and type(v) is float
        for s in found.values()
        for p in s.values()
        for d, v in zip(p.days, p.values, strict=True)
    )
    assert read(url, ["a", "b", "missing"], columnar=False)[1] == (EXPECTED, 6)


def test_types_it_cannot_convert_exactly_take_the_row_path(tmp_path: Path) -> None:
    """DECIMAL: float(Decimal) is the row path's value; the columnar path is not tried again."""
    url = duckdb_file(tmp_path / "u.duckdb", "period_start DATE, value DECIMAL(18, 3)", ROWS)
    source, (found, count) = read(url, ["a", "b"], columnar=True)
    assert source._columnar is False
    assert (found, count) == (EXPECTED, 6)


def test_no_rows_and_no_keys(tmp_path: Path) -> None:
    url = duckdb_file(tmp_path / "u.duckdb", "period_start DATE, value DOUBLE", ROWS)
    assert read(url, ["nobody"], columnar=True)[1] == ({}, 0)
    assert read(url, [], columnar=True)[1] == ({}, 0)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            ("a", "api_calls", "2026-03-16", float("nan")),
            "column value of the row for account_key 'a': nan is not a finite number",
        ),
        (
            ("a", "api_calls", "2026-03-16", float("inf")),
            "column value of the row for account_key 'a': inf is not a finite number",
        ),
        (
            ("b", "api_calls", "2026-03-16", None),
            "column value of the row for account_key 'b': None is not numeric",
        ),
        (
            ("b", "api_calls", None, 1.0),
            "column period_start of the row for account_key 'b': None is not a date",
        ),
        (
            ("a", None, "2026-03-16", 1.0),
            "column metric of the row for account_key 'a': None is not a metric name",
        ),
        (
            ("a", "", "2026-03-16", 1.0),
            "column metric of the row for account_key 'a': '' is not a metric name",
        ),
    ],
)
def test_a_bad_cell_gets_the_row_paths_error(tmp_path: Path, bad: tuple[Any, ...], error: str) -> None:
    url = duckdb_file(tmp_path / "u.duckdb", "period_start DATE, value DOUBLE", [*ROWS, bad])
    messages = []
    for columnar in (True, False):
        with pytest.raises(SourceError) as caught:
            read(url, ["a", "b"], columnar=columnar)
        assert caught.value.kind is FailureKind.PERMANENT
        messages.append(str(caught.value))
    assert messages == [f"usage source 'warehouse': {error}"] * 2
