"""Issue #16: one precedence rule (flags over environment over file), one list rule, empty secrets
are "not configured", and an unknown name anywhere is refused with the nearest valid one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors.hubspot.settings import load_settings as load_hubspot
from worker.pipeline.settings import load_settings
from worker.pipeline.settings_check import ConfigurationError, check_environment
from worker.service.settings import ServiceSettings, known_environment, load_service_settings
from worker.webhooks import create_app


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "settings.yaml"
    path.write_text(
        "max_new_offers_per_30_days: 5\noutput_dir: from-file\ncrm:\n  hubspot:\n"
        "    burst_limit: 150\n    deal_stage: from-file\n"
    )
    return path


def test_environment_beats_the_file_at_the_top_level_and_in_crm_sections(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPPWORKER_MAX_NEW_OFFERS_PER_30_DAYS", "3")
    monkeypatch.setenv("HUBSPOT_BURST_LIMIT", "190")
    settings = load_settings(settings_file)
    hubspot = load_hubspot(settings.connector_options("hubspot"))
    assert settings.max_new_offers_per_30_days == 3
    assert hubspot.burst_limit == 190  # the environment, not the file's 150
    assert hubspot.deal_stage == "from-file"  # what the environment does not set still comes from the file


def test_flags_beat_the_environment(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_OUTPUT_DIR", "from-env")
    assert load_settings(settings_file).output_dir == Path("from-env")
    assert load_settings(settings_file, output_dir=Path("from-flag")).output_dir == Path("from-flag")
    # A connector's own CLI flags are passed as values and beat its environment too.
    monkeypatch.setenv("HUBSPOT_BASE_URL", "http://from-env")
    assert load_hubspot({"base_url": "http://from-flag"}).base_url == "http://from-flag"


@pytest.mark.parametrize("value", ['["hubspot", "files"]', "hubspot,files", " hubspot , files ,"])
def test_every_list_setting_takes_json_or_a_comma_list(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_CRMS", value)
    monkeypatch.setenv("OPPWORKER_PLAYBOOK_DIRS", value)
    assert ServiceSettings().crms == ["hubspot", "files"]
    assert load_settings().playbook_dirs == [Path("hubspot"), Path("files")]


def test_unknown_service_setting_in_a_schedule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPWORKER_SCHEDULES", '{"hubspot": {"incremental_minuts": 5}}')
    with pytest.raises(ConfigurationError) as caught:
        load_service_settings()
    assert (
        "schedules.hubspot.incremental_minuts: unknown setting (did you mean `incremental_minutes`?)"
        in str(caught.value)
    )


def test_nested_environment_names_and_test_names_are_not_refused() -> None:
    check_environment(
        known_environment(),
        {"OPPWORKER_SCHEDULES__HUBSPOT__POLL_MINUTES": "2", "OPPWORKER_TEST_ANYTHING": "1", "PATH": "/bin"},
    )
    with pytest.raises(ConfigurationError, match="OPPWORKER_CRM_S: no such setting"):
        check_environment(known_environment(), {"OPPWORKER_CRM_S": "x"})


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_blank_secrets_from_env_or_files_are_not_configured(
    blank: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPPWORKER_EVENTS_SECRET", blank)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "oppworker_hubspot_app_secret").write_text(blank)
    monkeypatch.setenv("OPPWORKER_SECRETS_DIR", str(secrets))
    settings = load_service_settings()
    assert settings.hubspot_app_secret is None and settings.events_secret is None


def test_a_secrets_file_is_stripped_of_its_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "oppworker_hubspot_app_secret").write_text("the-secret\n")
    monkeypatch.setenv("OPPWORKER_SECRETS_DIR", str(tmp_path))
    secret = load_service_settings().hubspot_app_secret
    assert secret is not None and secret.get_secret_value() == "the-secret"


def _signed(secret: str, body: bytes, timestamp: str, uri: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), f"POST{uri}".encode() + body + timestamp.encode(), hashlib.sha256).digest()
    ).decode()


def test_a_body_signed_with_an_empty_key_is_not_accepted() -> None:
    calls: list[object] = []
    cfg = ServiceSettings(hubspot_app_secret="  ", events_secret="")
    client = TestClient(
        create_app(cfg, rescore=lambda *a: calls.append(a) or 1, redis_client=object(), ledger=None)
    )  # type: ignore[arg-type]
    body = json.dumps(
        [
            {
                "eventId": 1,
                "subscriptionId": 1,
                "portalId": 1,
                "occurredAt": 1,
                "objectId": 7,
                "subscriptionType": "company.propertyChange",
                "attemptNumber": 0,
            }
        ]
    ).encode()
    timestamp = str(int(time.time() * 1000))
    uri = "http://testserver/webhooks/hubspot"
    answer = client.post(
        "/webhooks/hubspot",
        content=body,
        headers={
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": _signed("", body, timestamp, uri),
        },
    )
    assert answer.status_code == 503 and "not configured" in answer.text
    events = client.post(
        "/webhooks/events", content=b"{}", headers={"X-Zendesk-Webhook-Signature-Timestamp": "1"}
    )
    assert events.status_code == 503
    assert calls == []
