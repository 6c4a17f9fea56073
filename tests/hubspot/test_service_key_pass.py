"""Done-when of issue #11: a portal connected with a Service Key (token-info unavailable) sets up and
writes exactly once, every request on a 2026-03 path and valid against the 2026-03 spec excerpt; v3
stays selectable."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.scopes import NEW_KIND
from connectors.hubspot.setup import run_setup
from tests.hubspot.conftest import TOKEN, connector_for, settings_for
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.hubspot.spec_2026_03 import violations
from tests.hubspot.test_end_to_end import assert_one_task_per_deal
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.sandboxes.server import Request
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"


def record_bodies(box: HubSpotSandbox) -> list[tuple[str, str, Any]]:
    seen: list[tuple[str, str, Any]] = []

    def hook(request: Request) -> None:
        seen.append((request.method, request.path, json.loads(request.body) if request.body else None))

    box.server.before.insert(0, hook)
    return seen


@pytest.fixture
def service_key_box() -> Any:
    with HubSpotSandbox(
        token=TOKEN, credential="service_key", burst_limit=10_000, search_limit=10_000
    ) as box:
        yield box


def test_service_key_portal_sets_up_and_writes_once_on_2026_03_paths(
    service_key_box: HubSpotSandbox, tmp_path: Path
) -> None:
    box = service_key_box
    seen = record_bodies(box)
    report = run_setup(HubSpotClient(settings_for(box)))
    assert report.ok and report.credential == NEW_KIND and len(report.created) == 6
    seed_sample(box, 120, modified_ms=int(time.time() * 1000) - 86_400_000)
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    first = run_pass(settings, crm="hubspot", connector=connector_for(box), now=sample_as_of())
    assert (
        first.new > 0 and first.deals_created == first.tasks_created == first.new and not first.write_errors
    )
    again = run_pass(settings, crm="hubspot", full=True, connector=connector_for(box), now=sample_as_of())
    assert again.new == 0 and again.deals_created == 0
    assert_one_task_per_deal(box)
    api_calls = [(m, p, b) for m, p, b in seen if p != TOKEN_INFO]
    assert api_calls and all("/2026-03" in p for _, p, _ in api_calls)
    problems = [v for m, p, b in api_calls for v in violations(m, p, b)]
    assert problems == []
    assert any(
        p.startswith("/crm/objects/2026-03/0-3/") for _, p, _ in api_calls
    )  # deals as 0-3 (deals.json)


def test_v3_is_still_selectable(sandbox: HubSpotSandbox, tmp_path: Path) -> None:
    run_setup(HubSpotClient(settings_for(sandbox, api_version="v3")))
    seed_sample(sandbox, 40, modified_ms=int(time.time() * 1000) - 86_400_000)
    settings = Settings(
        **UNCAPPED, database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out"
    )
    report = run_pass(
        settings, crm="hubspot", connector=connector_for(sandbox, api_version="v3"), now=sample_as_of()
    )
    assert report.new > 0 and report.deals_created == report.new
    paths = [p for _, p in sandbox.server.requests if p != TOKEN_INFO]
    assert paths and all(p.startswith(("/crm/v3/", "/crm/v4/")) for p in paths)
    assert_one_task_per_deal(sandbox)


def test_setup_names_the_missing_scope_from_a_service_key_403(tmp_path: Path) -> None:
    scopes = frozenset(HubSpotSandbox.__dataclass_fields__["scopes"].default) - {"crm.objects.contacts.write"}
    with HubSpotSandbox(token=TOKEN, credential="service_key", scopes=scopes) as box:
        report = run_setup(HubSpotClient(settings_for(box)))
        assert report.missing_scopes == ["crm.objects.contacts.write"] and not report.ok
        assert report.credential == NEW_KIND
        assert box.records("deals") == [] and box.records("tasks") == []  # probes wrote nothing
