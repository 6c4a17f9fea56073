"""The HubSpot project shipped in connectors/hubspot/project: valid JSON of the 2026.03 schemas, and
scopes that cover every call the connector makes (proved by a pass against a sandbox that grants the
app exactly those scopes, so any call needing another one would be refused with a 403)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.base import ReadReport
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.scopes import LINE_ITEMS_PROBE, REQUIRED_SCOPES
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.setup import run_setup
from tests.hubspot.conftest import TOKEN, connector_for, opportunity, seed_companies, settings_for, task_for
from tests.sandboxes.hubspot import HubSpotSandbox

PROJECT = Path(__file__).resolve().parents[2] / "connectors" / "hubspot" / "project"


def load(relative: str) -> dict[str, Any]:
    return json.loads((PROJECT / relative).read_text(encoding="utf-8"))


def app_scopes() -> list[str]:
    return load("src/app/app-hsmeta.json")["config"]["auth"]["requiredScopes"]


def test_project_files_follow_the_2026_03_schemas() -> None:
    # hubspot-project-components 2026.03/defaultFiles/hsproject.json
    assert load("hsproject.json") == {
        "name": "opportunity-worker",
        "srcDir": "src",
        "platformVersion": "2026.03",
    }
    app = load("src/app/app-hsmeta.json")
    # Required: uid (<= 64 chars), type, name, description, distribution; static auth needs private.
    assert app["type"] == "app" and 0 < len(app["uid"]) <= 64
    config = app["config"]
    assert config["name"] and config["description"] and config["distribution"] == "private"
    assert config["auth"]["type"] == "static" and config["auth"]["optionalScopes"] == []
    assert config["permittedUrls"]["fetch"] == ["https://api.hubapi.com"]
    assert "oauth" in config["auth"]["requiredScopes"]  # the template's static-private app has it too


def test_app_scopes_are_every_scope_the_connector_needs_and_no_more() -> None:
    needed = {*REQUIRED_SCOPES, LINE_ITEMS_PROBE.scope, "oauth"}
    assert set(app_scopes()) == needed and len(app_scopes()) == len(needed)


def test_webhooks_subscribe_to_scored_company_properties_and_deal_stage() -> None:
    hooks = load("src/app/webhooks/webhooks-hsmeta.json")
    assert hooks["type"] == "webhooks" and len(hooks["uid"]) <= 64
    settings = hooks["config"]["settings"]
    assert settings["targetUrl"].startswith("https://") and "YOUR-RECEIVER" in settings["targetUrl"]
    assert settings["targetUrl"].endswith("/webhooks/hubspot")  # the receiver's route (worker/webhooks.py)
    subscriptions = hooks["config"]["subscriptions"]
    assert set(subscriptions) == {"crmObjects", "legacyCrmObjects", "hubEvents"}
    crm = subscriptions["crmObjects"]
    assert all(
        s["subscriptionType"] in {"object.creation", "object.propertyChange"} and s["active"] for s in crm
    )
    read_by_connector = set(HubSpotSettings(access_token="x").company_properties)
    company_props = [s["propertyName"] for s in crm if s["objectType"] == "company" and "propertyName" in s]
    assert company_props and set(company_props) <= read_by_connector
    assert len(company_props) == len(set(company_props))
    assert [s["propertyName"] for s in crm if s["objectType"] == "deal"] == ["dealstage"]
    assert len(crm) <= 1000  # at most 1000 subscriptions per app


def test_a_token_with_exactly_the_app_scopes_runs_every_call() -> None:
    scopes = frozenset(s for s in app_scopes() if s != "oauth")
    with HubSpotSandbox(
        token=TOKEN, scopes=scopes, credential="static_app", burst_limit=10_000, search_limit=10_000
    ) as box:
        client = HubSpotClient(settings_for(box))
        report = run_setup(client)
        assert report.ok and report.missing_scopes == [], report
        companies = seed_companies(box, 12, modified_ms=int(time.time() * 1000) - 60_000)
        deal = box.add_record(
            "deals", {"dealname": "won", "dealstage": "closedwon", "hs_is_closed_won": "true"}
        )
        item = box.add_record("line_items", {"hs_sku": "api"})
        box.associate("deals", deal, companies[0], 341)
        box.associate("deals", deal, item, 19)
        connector = connector_for(box, products_source="line_items")
        read = list(connector.read_accounts(None, ReadReport()))
        incremental = list(connector.read_accounts("2026-01-01T00:00:00+00:00", ReadReport()))
        list(connector.read_owners())
        list(connector.read_opportunities())
        opps = [opportunity(c) for c in companies]
        deals = connector.write_deals(opps)
        tasks = connector.write_tasks([task_for(o) for o in opps], {r.key: r.crm_id for r in deals})
        connector.read_task_states([t.crm_id for t in tasks])
        connector.read_deal_facts([o.key for o in opps])
        assert len(read) == len(incremental) == 12 and all(r.ok for r in deals + tasks)
        statuses = Counter(status for status in connector.client.stats.by_status)
        assert 403 not in statuses and 401 not in statuses


def test_the_receiver_reads_the_project_apps_object_events_as_company_events() -> None:
    from worker.webhooks.models import HubSpotEvent

    # crmObjects subscriptions deliver generic `object.*` events with the object type id.
    event = HubSpotEvent(
        eventId=7,
        subscriptionId=3,
        subscriptionType="object.propertyChange",
        objectTypeId="0-2",
        objectId=1234,
        occurredAt=1,
    )
    assert event.object_type == "company"
    deal = HubSpotEvent(eventId=8, subscriptionType="object.propertyChange", objectTypeId="0-3", objectId=9)
    assert deal.object_type == "deal"
    assert (
        HubSpotEvent(eventId=9, subscriptionType="company.propertyChange", objectId=1).object_type
        == "company"
    )
