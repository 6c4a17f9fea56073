"""Issue #16: every mistake a new user makes gets a clear message and a non-zero exit, never a
traceback. Each test runs the real `oppworker` entry point in a child process (so what is asserted
is exactly what a terminal shows), with an environment holding no OPPWORKER_* setting of ours."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

FOREIGN = ("OPPWORKER_", "HUBSPOT_", "ZENDESK_SELL_", "PIPEDRIVE_", "REDIS_URL", "CELERY_")


def oppworker(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    clean["OPPWORKER_SECRETS_DIR"] = str(cwd / "no-secrets")  # never the machine's /run/secrets
    return subprocess.run(
        [sys.executable, "-m", "worker.cli.main", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The output of a run that failed cleanly; every needle must be in it."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output
    return output


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url_with_a_closed_port(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres:pw-SECRET@127.0.0.1:{closed_port()}/oppworker"
    output = refused(
        oppworker("runs", cwd=tmp_path, env={"OPPWORKER_DATABASE_URL": url}),
        "cannot use the database",
        "Connection refused",
        "OPPWORKER_DATABASE_URL",
    )
    assert "pw-SECRET" not in output


def test_database_url_naming_an_unknown_database(tmp_path: Path) -> None:
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.skip("DATABASE_URL (a reachable PostgreSQL) is not set")
    url = make_url(base).set(database="oppworker_no_such_database").render_as_string(hide_password=False)
    refused(
        oppworker("runs", cwd=tmp_path, env={"OPPWORKER_DATABASE_URL": url}),
        'database "oppworker_no_such_database" does not exist',
        "OPPWORKER_DATABASE_URL",
    )


def test_database_url_with_the_postgres_scheme(tmp_path: Path) -> None:
    refused(
        oppworker("runs", cwd=tmp_path, env={"OPPWORKER_DATABASE_URL": "postgres://u@127.0.0.1/db"}),
        "`postgres://` is not supported",
        "postgresql+psycopg://",
    )


def test_database_url_that_is_not_a_url(tmp_path: Path) -> None:
    refused(
        oppworker("runs", cwd=tmp_path, env={"OPPWORKER_DATABASE_URL": "not a url"}),
        "is not a URL",
        "OPPWORKER_DATABASE_URL",
    )


@pytest.mark.parametrize("command", [["runs"], ["report"], ["report", "--output-dir", "no/such/folder"]])
def test_runs_and_report_before_the_first_run(tmp_path: Path, command: list[str]) -> None:
    refused(oppworker(*command, cwd=tmp_path), "no passes yet", "run `oppworker run` first")
    assert not (tmp_path / "oppworker-out").exists()  # asking created nothing


def test_run_with_a_data_dir_that_does_not_exist(tmp_path: Path) -> None:
    refused(oppworker("run", "--data-dir", "no-such-folder", cwd=tmp_path), "--data-dir", "does not exist")


def test_data_dir_without_accounts(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    refused(oppworker("run", "--data-dir", "empty", cwd=tmp_path), "no accounts.csv", "--data-dir")


def test_explain_on_hubspot_without_a_token(tmp_path: Path) -> None:
    refused(
        oppworker("explain", "ACC-1", "--crm", "hubspot", cwd=tmp_path),
        "configuration problem",
        "HUBSPOT_ACCESS_TOKEN is not set",
    )


def test_whitespace_token_counts_as_no_token(tmp_path: Path) -> None:
    refused(
        oppworker("explain", "ACC-1", "--crm", "hubspot", cwd=tmp_path, env={"HUBSPOT_ACCESS_TOKEN": "   "}),
        "HUBSPOT_ACCESS_TOKEN is not set",
    )


def test_run_as_of_an_impossible_date(tmp_path: Path) -> None:
    refused(
        oppworker("run", "--as-of", "2026-13-01", cwd=tmp_path),
        "--as-of",
        "'2026-13-01' is not a date",
        "month must be in 1..12",
    )


def test_beat_with_a_comma_list_of_crms_and_redis_down(tmp_path: Path) -> None:
    # The comma list is read like playbook_dirs (no JSON error); what stops beat is Redis, said so.
    env = {"OPPWORKER_CRMS": "hubspot", "OPPWORKER_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    output = refused(oppworker("beat", cwd=tmp_path, env=env), "cannot reach Redis", "OPPWORKER_REDIS_URL")
    assert "crms" not in output


def test_run_enqueue_with_redis_down(tmp_path: Path) -> None:
    env = {"OPPWORKER_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    refused(
        oppworker("run", "--enqueue", cwd=tmp_path, env=env, timeout=20),
        "cannot reach Redis",
        "Connection refused",
    )


def test_unreachable_crm_host_is_a_configuration_problem(tmp_path: Path) -> None:
    port = closed_port()
    env = {"HUBSPOT_ACCESS_TOKEN": "tok-SECRET-1", "HUBSPOT_BASE_URL": f"http://127.0.0.1:{port}"}
    output = refused(
        oppworker("run", "--crm", "hubspot", cwd=tmp_path, env=env, timeout=20),
        f"cannot reach 127.0.0.1:{port} (connection refused)",
        "check the base URL",
        "config",
    )
    assert "transient" not in output and "tok-SECRET-1" not in output


def test_crm_host_that_does_not_resolve(tmp_path: Path) -> None:
    env = {"HUBSPOT_ACCESS_TOKEN": "tok", "HUBSPOT_BASE_URL": "http://oppworker-no-such-host.invalid"}
    refused(
        oppworker("run", "--crm", "hubspot", cwd=tmp_path, env=env, timeout=20),
        "cannot reach oppworker-no-such-host.invalid (DNS",
        "check the base URL",
    )


def test_misspelt_settings_are_refused_with_the_nearest_name(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(
        "max_new_offers_per_30_day: 3\n"
        "crm:\n  hubspt: {}\n  hubspot:\n    burst_limt: 5\n    deal_pipline: sales\n    access_token: tok-SECRET-2\n"
    )
    output = refused(
        oppworker("--config", "settings.yaml", "runs", cwd=tmp_path),
        "max_new_offers_per_30_day: unknown setting (did you mean `max_new_offers_per_30_days`?)",
        "crm.hubspt: no such CRM (did you mean `hubspot`?)",
        "crm.hubspot.burst_limt: unknown setting (did you mean `burst_limit`?)",
        "crm.hubspot.deal_pipline: unknown setting (did you mean `deal_pipeline`?)",
    )
    assert "tok-SECRET-2" not in output


def test_unknown_environment_variable_is_refused(tmp_path: Path) -> None:
    refused(
        oppworker("runs", cwd=tmp_path, env={"OPPWORKER_OUTPUT_DIRS": "x"}),
        "environment variable OPPWORKER_OUTPUT_DIRS: no such setting (did you mean `OPPWORKER_OUTPUT_DIR`?)",
    )


def test_bad_value_in_a_crm_section_is_plain_and_masks_the_token(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(
        "crm:\n  hubspot:\n    burst_limit: lots\n    access_token: tok-SECRET-3\n"
    )
    output = refused(
        oppworker("--config", "settings.yaml", "run", "--crm", "hubspot", cwd=tmp_path),
        "config",
        "crm.hubspot",
        "burst_limit",
    )
    assert "valid integer" in output.lower()
    assert "tok-SECRET-3" not in output and "input_value" not in output


def test_version(tmp_path: Path) -> None:
    result = oppworker("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("oppworker 0."), result.stdout + result.stderr


def test_an_offer_without_a_price_in_the_catalog_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text(
        "plans:\n  - {name: Starter, rank: 0, seat_price: 15}\n  - {name: Team, rank: 1, seat_price: 30}\n"
        "products:\n  - {code: translate, name: Workspace, monthly_price: 0}\n"
        "  - {code: api, name: API, monthly_price: 400}\n"
    )
    (tmp_path / "settings.yaml").write_text("catalog: catalog.yaml\n")
    refused(
        oppworker("--config", "settings.yaml", "run", cwd=tmp_path),
        "playbook premium_support: offer.code: product 'premium_support' has no price in catalog.yaml",
        "playbook security_addon: offer.code: product 'security' has no price",
        "term 'multi_year' is not in catalog.yaml's terms",
    )
    assert not (tmp_path / "oppworker-out").exists()  # refused before any write
