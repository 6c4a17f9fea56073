"""`oppworker config show`: effective values, their source by the one precedence rule, secrets
masked (issue #16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import cli


def test_config_show_names_each_source_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPPWORKER_DATABASE_URL", "OPPWORKER_OUTPUT_DIR", "OPPWORKER_REDIS_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPPWORKER_SECRETS_DIR", str(tmp_path / "secrets"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "oppworker_hubspot_app_secret").write_text("app-SECRET-1\n")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "max_new_offers_per_30_days: 4\nwrite_batch_size: 50\n"
        "crm:\n  hubspot:\n    burst_limit: 150\n    deal_stage: won\n    access_token: tok-SECRET-2\n"
    )
    monkeypatch.setenv("OPPWORKER_WRITE_BATCH_SIZE", "20")
    monkeypatch.setenv("OPPWORKER_DATABASE_URL", "postgresql+psycopg://me:db-SECRET-3@db/oppworker")
    monkeypatch.setenv("HUBSPOT_BURST_LIMIT", "190")
    monkeypatch.setenv("OPPWORKER_EVENTS_SECRET", "events-SECRET-4")
    result = CliRunner().invoke(
        cli, ["--config", str(settings), "config", "show", "--json"], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "SECRET-" not in result.output
    shown = json.loads(result.output)
    assert shown["max_new_offers_per_30_days"] == {"value": 4, "source": f"file {settings}"}
    assert shown["write_batch_size"] == {"value": 20, "source": "env OPPWORKER_WRITE_BATCH_SIZE"}
    assert shown["include_builtin_playbooks"] == {"value": True, "source": "default"}
    assert shown["database_url"]["value"] == "postgresql+psycopg://me:***@db/oppworker"
    assert shown["crm.hubspot.burst_limit"] == {"value": 190, "source": "env HUBSPOT_BURST_LIMIT"}
    assert shown["crm.hubspot.deal_stage"] == {"value": "won", "source": f"file {settings}"}
    assert shown["crm.hubspot.access_token"]["value"] == "***"
    assert shown["service.hubspot_app_secret"] == {
        "value": "***",
        "source": f"secrets file {tmp_path / 'secrets' / 'oppworker_hubspot_app_secret'}",
    }
    assert shown["service.events_secret"] == {"value": "***", "source": "env OPPWORKER_EVENTS_SECRET"}
