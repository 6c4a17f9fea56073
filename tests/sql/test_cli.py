"""`oppworker sources check` and `oppworker explain` with a SQL source, as a user types them; the
bundled sample's DuckDB file works with the README's one-line config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from connectors.files.connector import sample_data_dir
from tests.sql.conftest import USAGE_QUERY, load_postgres
from worker.cli import cli

pytestmark = pytest.mark.services
PASSWORD = "w4rehouse-Secret"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)


@pytest.fixture
def config(postgres_url: str, tmp_path: Path) -> Path:
    """A PostgreSQL source whose reader role has a password (given through password_env)."""
    load_postgres(
        postgres_url,
        usage=[
            ("acc-0002", "active_users", "2026-10-26", 9.0),
            ("ghost-1", "active_users", "2026-10-26", 1.0),
        ],
    )
    engine = create_engine(postgres_url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO product_accounts VALUES ('acc-0002', 48, 50)"))
        db.execute(
            text(f"CREATE ROLE reader LOGIN PASSWORD '{PASSWORD}'")
            if not db.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'reader'")).first()
            else text(f"ALTER ROLE reader PASSWORD '{PASSWORD}'")
        )
        db.execute(text("GRANT SELECT ON usage_weekly, product_accounts TO reader"))
    engine.dispose()
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(username="reader", password=None).render_as_string(hide_password=False)
    path = tmp_path / "oppworker.yaml"
    path.write_text(
        f"output_dir: {tmp_path / 'out'}\n"
        "usage_sources:\n"
        "  - name: warehouse\n"
        f"    url: {url}\n"
        "    password_env: OPPWORKER_TEST_WAREHOUSE_PASSWORD\n"
        f"    usage_query: {USAGE_QUERY}\n"
        "    fields_query: SELECT account_id AS account_key, seats_used FROM product_accounts\n"
    )
    return path


def test_sources_check_prints_sample_types_and_join(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_TEST_WAREHOUSE_PASSWORD", PASSWORD)
    result = invoke("--config", str(config), "sources", "check", "--limit", "2")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "source warehouse (postgresql+psycopg://reader:***@" in out and PASSWORD not in out
    assert "600 accounts in files, 0 without a key" in out
    assert "usage_query columns: account_key (str), metric (str), period_start (date), value (float)" in out
    assert "acc-0002 | active_users | 2026-10-26 | 9.0" in out
    assert "usage: 1 rows join 1 accounts; 1 rows match no account (e.g. ghost-1)" in out
    assert "fields_query columns: account_key (str), seats_used (int)" in out
    assert "fields: 1 rows join 1 accounts; 0 rows match no account" in out


def test_sources_check_of_a_source_that_is_down_masks_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (The local server trusts loopback connections, so a wrong password would not be refused:
    # a port nothing listens on stands for a source that is down.)
    monkeypatch.setenv("OPPWORKER_TEST_WAREHOUSE_PASSWORD", PASSWORD)
    path = tmp_path / "down.yaml"
    path.write_text(
        "usage_sources:\n  - name: warehouse\n    url: postgresql+psycopg://reader@127.0.0.1:9/analytics\n"
        f"    password_env: OPPWORKER_TEST_WAREHOUSE_PASSWORD\n    connect_timeout_seconds: 2\n"
        f"    usage_query: {USAGE_QUERY}\n"
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "sources", "check"], obj={})
    assert result.exit_code == 1, result.output
    assert (
        "usage source 'warehouse' (postgresql+psycopg://reader:***@127.0.0.1:9/analytics) is unreachable"
        in result.output
    )
    assert PASSWORD not in result.output


def test_explain_says_where_a_number_came_from(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_TEST_WAREHOUSE_PASSWORD", PASSWORD)
    result = invoke("--config", str(config), "explain", "acc-0002")
    assert result.exit_code == 0, result.output
    assert "From SQL sources: active_users series (warehouse), seats_used 48 (warehouse)" in result.output


def test_the_run_summary_says_what_each_source_gave(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_TEST_WAREHOUSE_PASSWORD", PASSWORD)
    result = invoke("--config", str(config), "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "from SQL sources: warehouse: accounts 1, warehouse: seats_used 1" in result.output
    assert "usage_rows_of_unknown_accounts (warehouse) 1" in result.output


def test_the_bundled_sample_duckdb_file_reads_with_the_readme_config(tmp_path: Path) -> None:
    path = tmp_path / "oppworker.yaml"
    path.write_text(
        f"output_dir: {tmp_path / 'out'}\nusage_sources: [{{name: sample, url: "
        f"'duckdb:///{sample_data_dir() / 'usage.duckdb'}', usage_query: "
        "'SELECT * FROM usage WHERE period_start >= :since'}]\n"
    )
    check = invoke("--config", str(path), "sources", "check")
    assert "usage: 62400 rows join 600 accounts; 0 rows match no account" in check.output
    with_sql = invoke("--config", str(path), "run", "--json", "--dry-run")
    without = invoke("run", "--output-dir", str(tmp_path / "plain"), "--json", "--dry-run")
    assert with_sql.exit_code == 0, with_sql.output
    assert json.loads(with_sql.output)["new"] == json.loads(without.output)["new"] > 0
