"""Bad input from a SQL source: clear errors naming the source, the column and the first offending
row; a source that is down fails the pass before any write; the password never shows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from connectors.base import ReadReport
from connectors.registry import build_connector
from connectors.sql import SourceError
from domain import FailureKind
from tests.sql.conftest import USAGE_QUERY, make_duckdb, source
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

pytestmark = pytest.mark.services
PASSWORD = "s3cr3t-Pa55word"


def first_record(tmp_path: Path, *sources: dict[str, Any]) -> Any:
    connector = build_connector("files", {"output_dir": tmp_path / "out", "usage_sources": list(sources)})
    try:
        return next(iter(connector.read_accounts(None, ReadReport())))
    finally:
        connector.close()


def execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as db:
        for statement in statements:
            db.execute(text(statement))
    engine.dispose()


def test_a_query_that_fails_names_the_source(duckdb_usage: str, tmp_path: Path) -> None:
    query = "SELECT account_id AS account_key, metric, period_start, value FROM no_such_table WHERE period_start >= :since"
    with pytest.raises(SourceError) as caught:
        first_record(tmp_path, source(duckdb_usage, usage_query=query))
    assert "usage source 'warehouse'" in str(caught.value) and "no_such_table" in str(caught.value)
    assert caught.value.kind is FailureKind.CONFIG


def test_wrong_columns_are_named(duckdb_usage: str, tmp_path: Path) -> None:
    query = "SELECT account_id, metric, period_start, value FROM usage_weekly WHERE period_start >= :since"
    with pytest.raises(
        SourceError,
        match=r"'warehouse'.*returns columns account_id, metric, period_start, value; "
        r"expected exactly account_key, metric, period_start, value",
    ):
        first_record(tmp_path, source(duckdb_usage, usage_query=query))


def test_fields_query_with_an_unknown_field(duckdb_usage: str, tmp_path: Path) -> None:
    fields = "SELECT account_id AS account_key, seats_used AS seats_in_use FROM product_accounts"
    with pytest.raises(
        SourceError, match=r"'warehouse': fields_query column\(s\) seats_in_use are not canonical"
    ):
        first_record(tmp_path, source(duckdb_usage, fields_query=fields))


@pytest.mark.parametrize(
    ("types", "good", "bad", "error"),
    [
        (
            "period_start date, value double precision",
            "'2026-10-19', 12",
            "'2026-10-26', 'NaN'",
            "column value of the row for account_key 'acc-0002': nan is not a finite number",
        ),
        (
            "period_start text, value double precision",
            "'2026-10-19', 12",
            "'last week', 3",
            "column period_start of the row for account_key 'acc-0002': 'last week' is not a date",
        ),
        # A text column is the wrong type even where its first values look numeric: the first row names it.
        (
            "period_start date, value text",
            "'2026-10-19', '12'",
            "'2026-10-26', 'n/a'",
            "column value of the row for account_key 'acc-0001': '12' is not numeric",
        ),
    ],
)
def test_a_bad_value_names_source_column_and_first_row(
    postgres_url: str, tmp_path: Path, types: str, good: str, bad: str, error: str
) -> None:
    execute(
        postgres_url,
        f"CREATE TABLE usage_weekly (account_id text, metric text, {types})",
        f"INSERT INTO usage_weekly VALUES ('acc-0001', 'api_calls', {good})",
        f"INSERT INTO usage_weekly VALUES ('acc-0002', 'api_calls', {bad})",
    )
    query = USAGE_QUERY.replace(
        "period_start >= :since", "CAST(:since AS date) IS NOT NULL ORDER BY account_id"
    )
    with pytest.raises(SourceError) as caught:
        first_record(tmp_path, source(postgres_url, usage_query=query))
    assert str(caught.value) == f"usage source 'warehouse': {error}"
    assert caught.value.kind is FailureKind.PERMANENT


def test_an_override_the_account_rejects_names_column_and_row(duckdb_usage: str, tmp_path: Path) -> None:
    execute(duckdb_usage, "INSERT INTO product_accounts VALUES ('acc-0001', -4, 10)")
    fields = "SELECT account_id AS account_key, seats_used FROM product_accounts"
    with pytest.raises(
        SourceError,
        match=r"usage source 'warehouse': column seats_used of the row for "
        r"account_key 'acc-0001': -4 input should be greater than or equal to 0",
    ):
        first_record(tmp_path, source(duckdb_usage, fields_query=fields))


def test_a_source_that_is_down_fails_the_pass_before_any_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    down = f"postgresql+psycopg://reader:{PASSWORD}@127.0.0.1:9/analytics"  # nothing listens on port 9
    settings = Settings(
        **UNCAPPED,
        output_dir=tmp_path / "out",
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        usage_sources=[source(down, connect_timeout_seconds=2)],
    )
    with pytest.raises(SourceError) as caught:
        run_pass(settings, crm="files")
    message = str(caught.value)
    assert message.startswith(
        "usage source 'warehouse' (postgresql+psycopg://reader:***@127.0.0.1:9/analytics) is unreachable"
    )
    assert caught.value.kind is FailureKind.TRANSIENT
    assert not list((tmp_path / "out").glob("outbox/**/*.json*")), "nothing may be written"
    ledger = Ledger(settings.ledger_url)
    assert ledger.cursor("files") is None
    for text_seen in (message, repr(caught.value), caplog.text, repr(settings), str(settings.model_dump())):
        assert PASSWORD not in text_seen


def test_password_from_env_and_url_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAREHOUSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("WAREHOUSE_HOST", "127.0.0.1")
    settings = Settings(
        **UNCAPPED,
        usage_sources=[
            {
                "name": "w",
                "url": "postgresql+psycopg://reader@${WAREHOUSE_HOST}:9/a",
                "password_env": "WAREHOUSE_PASSWORD",
                "usage_query": USAGE_QUERY,
            }
        ],
    )
    (only,) = settings.usage_sources
    assert only.sqlalchemy_url().password == PASSWORD
    assert only.masked_url == "postgresql+psycopg://reader:***@127.0.0.1:9/a"
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    from_file = only.model_copy(update={"password_env": None, "password_file": secret})
    assert from_file.sqlalchemy_url().password == PASSWORD and PASSWORD not in repr(from_file)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"name": "w", "url": "duckdb:///x.duckdb", "usage_query": "SELECT * FROM u"},
            "must filter on :since",
        ),
        ({"name": "w", "url": "duckdb:///x.duckdb"}, "give a usage_query, a fields_query or both"),
        ({"name": "w", "url": "not a url", "fields_query": "SELECT 1"}, "url:"),
        (
            {"name": "w", "url": "postgresql://u@${NOT_SET_ANYWHERE}/db", "fields_query": "SELECT 1"},
            "is not set",
        ),
    ],
)
def test_settings_errors_name_the_source(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings(**UNCAPPED, usage_sources=[entry])


def test_duplicate_source_names_are_refused() -> None:
    entry = {"name": "w", "url": "duckdb:///x.duckdb", "fields_query": "SELECT 1"}
    with pytest.raises(ValueError, match="duplicate name"):
        Settings(**UNCAPPED, usage_sources=[entry, entry])


def test_usage_sources_from_the_settings_file(tmp_path: Path) -> None:
    from worker.pipeline.settings import load_settings

    url = make_duckdb(tmp_path / "u.duckdb")
    config = tmp_path / "oppworker.yaml"
    config.write_text(
        f"usage_sources:\n  - name: warehouse\n    url: {url}\n    usage_query: >\n      {USAGE_QUERY}\n"
    )
    settings = load_settings(config, output_dir=tmp_path / "out")
    assert settings.connector_options("files")["usage_sources"][0].name == "warehouse"
    report = run_pass(settings, crm="files", dry_run=True)
    assert report.accounts_read == 600 and report.new > 0


def test_a_query_that_fails_while_rows_stream_names_the_source(duckdb_usage: str, tmp_path: Path) -> None:
    """The probe (no rows) passes; the cast fails on the first real row, in DuckDB's own cursor."""
    query = (
        "SELECT account_id AS account_key, metric, period_start, CAST(metric AS DOUBLE) AS value "
        "FROM usage_weekly WHERE period_start >= :since"
    )
    with pytest.raises(SourceError) as caught:
        first_record(tmp_path, source(duckdb_usage, usage_query=query))
    assert str(caught.value).startswith(
        f"usage source 'warehouse' ({duckdb_usage}) query failed: Conversion Error"
    )
    assert caught.value.kind is FailureKind.CONFIG
