"""SQL sources on real engines: a throwaway PostgreSQL database (`postgres_url`) and a DuckDB file
the test creates, both loaded with the bundled sample's usage (and a table of account fields)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from connectors.files.connector import sample_data_dir

USAGE_QUERY = "SELECT account_id AS account_key, metric, period_start, value FROM usage_weekly WHERE period_start >= :since"


def sample_rows(name: str) -> list[dict[str, str]]:
    with (sample_data_dir() / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_postgres(url: str, usage: list[tuple[Any, ...]] | None = None) -> None:
    """usage_weekly (the sample's usage, or `usage`) and product_accounts (seats per account)."""
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "CREATE TABLE usage_weekly (account_id text NOT NULL, metric text NOT NULL, "
                "period_start date NOT NULL, value double precision)"
            )
        )
        db.execute(text("CREATE INDEX ON usage_weekly (account_id)"))
        db.execute(
            text(
                "CREATE TABLE product_accounts (account_id text PRIMARY KEY, seats_used integer, seats_purchased integer)"
            )
        )
        raw = db.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy("COPY usage_weekly FROM STDIN") as copy:
            for row in usage if usage is not None else _sample_usage():
                copy.write_row(row)
    engine.dispose()


def _sample_usage() -> Iterator[tuple[Any, ...]]:
    for r in sample_rows("usage.csv"):
        yield r["account_id"], r["metric"], r["period_start"], float(r["value"])


def make_duckdb(path: Path, usage: list[tuple[Any, ...]] | None = None) -> str:
    """The same tables in a DuckDB file (closed again, as a warehouse file would be); its URL."""
    import duckdb

    staging = path.with_suffix(".csv")
    with staging.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(usage if usage is not None else _sample_usage())
    with duckdb.connect(str(path)) as db:
        db.execute(
            "CREATE TABLE usage_weekly AS SELECT column0 AS account_id, column1 AS metric, "
            "CAST(column2 AS DATE) AS period_start, CAST(column3 AS DOUBLE) AS value "
            "FROM read_csv(?, header = false, all_varchar = true)",
            [str(staging)],
        )
        db.execute(
            "CREATE TABLE product_accounts (account_id VARCHAR PRIMARY KEY, seats_used INTEGER, seats_purchased INTEGER)"
        )
    staging.unlink()
    return f"duckdb:///{path}"


@pytest.fixture
def pg_usage(postgres_url: str) -> str:
    load_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def duckdb_usage(tmp_path: Path) -> str:
    return make_duckdb(tmp_path / "usage.duckdb")


def source(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "warehouse", "url": url, "usage_query": USAGE_QUERY, **extra}
