"""No Docker engine in CI, so the compose file is checked by reading it: every service of ours runs a
real `oppworker` command (its `--help` succeeds), every OPPWORKER_* variable it sets is a setting,
and every secret it mounts lands where pydantic-settings' secrets_dir looks for a field."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.hubspot.settings import HubSpotSettings
from connectors.pipedrive.settings import PipedriveSettings
from connectors.secret_files import secret_fields, secret_file
from connectors.zendesk_sell.settings import ZendeskSellSettings
from worker.pipeline.settings import Settings
from worker.service.settings import ServiceSettings
from worker.webhooks.pipedrive import PipedriveWebhookSettings

ROOT = Path(__file__).resolve().parents[2]
OPPWORKER = str(Path(sys.executable).with_name("oppworker"))


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def ours() -> list[tuple[str, dict[str, Any]]]:
    return [(name, svc) for name, svc in compose()["services"].items() if "build" in svc]


def test_compose_runs_the_whole_service() -> None:
    services = compose()["services"]
    assert {"redis", "postgres"} <= set(services)
    commands = {name: svc["command"][1] for name, svc in ours()}
    assert sorted(set(commands.values())) == ["beat", "webhooks", "worker"]
    queues = {
        svc["command"][svc["command"].index("--queues") + 1]
        for _, svc in ours()
        if svc["command"][1] == "worker"
    }
    assert queues == {"oppworker.crm", "oppworker.score"}  # CRM I/O and scoring scale apart


@pytest.mark.parametrize("name", [name for name, _ in ours()])
def test_each_compose_command_is_a_real_command(name: str) -> None:
    command = dict(ours())[name]["command"]
    assert command[0] == "oppworker"
    done = subprocess.run([OPPWORKER, *command[1:], "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: oppworker {command[1]}")


def _fields(model: type) -> set[str]:
    names = set(model.model_fields)
    for field in model.model_fields.values():
        choices = getattr(field.validation_alias, "choices", None) or []
        names.update(str(c).lower().removeprefix("oppworker_") for c in choices)
    return names


def _secret_file_names() -> set[str]:
    """The files the CRM tokens and the Pipedrive webhook password are read from (connectors/secret_files.py)."""
    classes = (HubSpotSettings, ZendeskSellSettings, PipedriveSettings, PipedriveWebhookSettings)
    return {secret_file(variable).name for cls in classes for variable in secret_fields(cls).values()}


def test_every_setting_and_secret_in_compose_is_known() -> None:
    known = _fields(ServiceSettings) | _fields(Settings)
    token_files = _secret_file_names()
    for name, svc in ours():
        for key in svc["environment"]:
            if key.startswith("OPPWORKER_"):
                assert key.removeprefix("OPPWORKER_").lower().split("__")[0] in known, f"{name}: {key}"
        for secret in svc.get("secrets", []):
            target = secret["target"]
            assert target in token_files or (
                target.startswith("oppworker_") and target.removeprefix("oppworker_") in known
            ), f"{name}: {target}"
    declared = compose()["secrets"]
    assert {s["source"] for _, svc in ours() for s in svc.get("secrets", [])} <= set(declared)


def test_compose_passes_every_secret_as_a_file_and_none_in_the_environment() -> None:
    every_secret = _secret_file_names() | {"oppworker_hubspot_app_secret", "oppworker_events_secret"}
    for name, svc in ours():
        assert {s["target"] for s in svc.get("secrets", [])} == every_secret, name
        for key in svc["environment"]:
            assert not re.search(r"TOKEN|SECRET|PASSWORD", key), f"{name}: {key} belongs in a secrets file"


def test_secrets_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.service.settings import load_service_settings

    (tmp_path / "oppworker_hubspot_app_secret").write_text("from-a-file")
    monkeypatch.setenv("OPPWORKER_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("OPPWORKER_HUBSPOT_APP_SECRET", raising=False)
    cfg = load_service_settings()
    assert cfg.hubspot_app_secret is not None
    assert cfg.hubspot_app_secret.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(cfg)


def test_dockerfile_installs_the_package_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install ." in text and "USER oppworker" in text
    for package in ("domain", "connectors", "playbooks", "worker"):
        assert f"COPY {package} ./{package}" in text
