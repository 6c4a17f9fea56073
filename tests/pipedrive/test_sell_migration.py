"""Issue 12's end-to-end migration: a pass on the Sell sandbox; its data imported into the Pipedrive
sandbox the way Pipedrive's importer does (organizations by name with the Sell id mapped into a
"Zendesk Sell id" field, deals with their opportunity key mapped into the key field, tasks as activities);
`oppworker migrate --from zendesk-sell --to pipedrive`; then a Pipedrive pass. Carried offers get no
second deal or activity, a newly planted need still gets its offer, control accounts stay control,
and the outcome report is one history."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.limits import DailyTokenBudget
from connectors.pipedrive.settings import PipedriveSettings
from connectors.ratelimit import NoLimit
from connectors.zendesk_sell.connector import ZendeskSellConnector
from connectors.zendesk_sell.settings import ZendeskSellSettings
from playbooks.holdout import in_control_group
from playbooks.loader import builtin_playbook_dir
from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.sandboxes.zendesk_sell import SellSandbox
from tests.uncapped import UNCAPPED
from worker.cli import cli
from worker.outcomes.report import build_report
from worker.pipeline.run import run_pass
from worker.pipeline.settings import load_settings
from worker.store.ledger import Ledger
from worker.store.outcomes import OutcomeStore

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
N = 150
FAST = {"backoff_base": 0.01, "backoff_max": 0.05}
HOLDOUT, HELD = 0.3, ("seat_expansion", "plan_upgrade", "usage_milestone")


def sell_connector(sell: SellSandbox) -> ZendeskSellConnector:
    settings = ZendeskSellSettings(access_token=sell.token, base_url=sell.url, **FAST)
    return ZendeskSellConnector(settings, limiter=NoLimit(), today=lambda: NOW.date())


def pipedrive_connector(box: PipedriveSandbox) -> PipedriveConnector:
    settings = PipedriveSettings(api_token=box.token, base_url=box.url, incremental_overlap_seconds=0, **FAST)
    return PipedriveConnector(
        settings,
        limiter=NoLimit(),
        search_limiter=NoLimit(),
        budget=DailyTokenBudget(10_000_000),
        today=lambda: NOW.date(),
    )


def sell_date(text: str | None) -> str | None:
    """Sell's M/D/YYYY dates as the ISO dates Pipedrive's date fields hold."""
    if not text or "/" not in text:
        return text
    month, day, year = (int(p) for p in text.split("/"))
    return date(year, month, day).isoformat()


def import_sell_export(sell: SellSandbox, box: PipedriveSandbox) -> dict[str, int]:
    """What the customer's import does: one organization per Sell organization (custom fields keep
    their names, the Sell id goes into "Zendesk Sell id"), products owned as won deals, every Sell deal as
    a deal with its opportunity key, every Sell task as an activity with its content as the note."""
    box.define_account_fields()
    box.define_field("organization", "Zendesk Sell id", "varchar")
    org_of: dict[str, int] = {}
    for contact in sorted(sell.contacts.values(), key=lambda c: c["id"]):
        if not contact.get("is_organization"):
            continue
        custom = dict(contact.get("custom_fields") or {})
        fields: dict[str, Any] = {"Zendesk Sell id": str(contact["id"])}
        for name in (
            "plan_rank",
            "seats_purchased",
            "seats_used",
            "nps",
            "csat",
            "open_escalations",
            "active_users",
            "api_calls",
            "words_translated",
            "premium_feature_attempts",
        ):
            if custom.get(name) not in (None, ""):
                fields[name] = float(custom[name])
        if custom.get("plan"):
            fields["plan"] = box.option_id("organization", "plan", custom["plan"])
        if custom.get("mrr"):
            fields["mrr"] = {"value": float(custom["mrr"]), "currency": custom.get("currency") or "USD"}
        fields["customer_since"] = sell_date(custom.get("customer_since"))
        fields["contract_end_date"] = custom.get("contract_end_date")
        org = box.add_organization(contact["name"], fields=fields, when=datetime(2026, 11, 20, tzinfo=UTC))
        org_of[str(contact["id"])] = org["id"]
        if custom.get("products"):
            box.add_won_deal(org["id"], list(custom["products"]))
    key_code = box.code("deal", "Opportunity key")
    deal_of: dict[int, int] = {}
    for deal in sorted(sell.deals.values(), key=lambda d: d["id"]):
        key = (deal.get("custom_fields") or {}).get("opportunity_key")
        org = org_of.get(str(deal.get("contact_id")))
        if not key or org is None:
            continue
        with box.lock:
            imported = box._store_deal(
                {
                    "title": deal["name"],
                    "org_id": org,
                    "value": float(deal.get("value") or 0),
                    "custom_fields": {key_code: key},
                }
            )
        deal_of[deal["id"]] = imported["id"]
    for task in sell.tasks.values():
        if task.get("resource_type") == "deal" and task.get("resource_id") in deal_of:
            deal_id = deal_of[task["resource_id"]]
            with box.lock:
                activity_id = box._new_id()
                box.activities[activity_id] = {
                    "id": activity_id,
                    "type": "task",
                    "deal_id": deal_id,
                    "org_id": box.deals[deal_id]["org_id"],
                    "subject": "Imported task",
                    "note": str(task.get("content") or "").replace("\n", "<br>"),
                    "done": bool(task.get("completed")),
                }
    return {sell_id: org for sell_id, org in org_of.items()}


@pytest.fixture
def sandboxes():
    sell, box = SellSandbox(), PipedriveSandbox(burst_limit=100_000, search_limit=100_000)
    sell.start()
    box.start()
    try:
        sell.add_user("Casey CSM", "casey@example.com")
        box.add_user("Casey CSM", "casey@example.com", me=True)
        yield sell, box
    finally:
        sell.stop()
        box.stop()


def test_a_sell_customer_moves_to_pipedrive_without_a_second_offer(sandboxes, tmp_path: Path) -> None:
    sell, box = sandboxes
    sell.generate_accounts(N, seed=11)
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    for path in sorted(builtin_playbook_dir().glob("*.yaml")):  # the built-ins, three with control groups
        extra = f"\nholdout: {HOLDOUT}\n" if path.stem in HELD else ""
        (playbooks / path.name).write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "playbook_dirs": [str(playbooks)],
                "include_builtin_playbooks": False,
                **UNCAPPED,
                "database_url": f"sqlite:///{tmp_path}/ledger.db",
                "output_dir": str(tmp_path / "out"),
                "crm": {
                    "zendesk-sell": {"access_token": sell.token, "base_url": sell.url, **FAST},
                    "pipedrive": {"api_token": box.token, "base_url": box.url, **FAST},
                },
            }
        )
    )
    settings = load_settings(config)
    first = run_pass(settings, crm="zendesk-sell", connector=sell_connector(sell), now=NOW)
    assert first.deals_created > 0 and first.holdout > 0
    ledger = Ledger(settings.ledger_url)
    store = OutcomeStore(ledger.engine)
    controls = {(h["account_id"], h["playbook"]) for h in store.holdouts("zendesk-sell")}
    sell_keys = {r["key"] for r in ledger.written("zendesk-sell")}

    org_of = import_sell_export(sell, box)
    writes_before = len(box.writes)

    runner = CliRunner()
    preview = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "migrate",
            "--from",
            "zendesk-sell",
            "--to",
            "pipedrive",
            "--dry-run",
            "--json",
        ],
        obj={},
    )
    assert preview.exit_code == 0, preview.output
    planned = json.loads(preview.output)
    assert planned["accounts"]["by_carried_id"] == N and not planned["accounts"]["ambiguous"]
    assert planned["deals"]["by_carried_id"] == len(sell_keys) and not planned["deals"]["missing"]
    assert planned["rows"]["would_move"]["ow_opportunities"] == len(sell_keys)
    assert {r["key"] for r in ledger.written("zendesk-sell")} == sell_keys  # the dry run changed nothing

    done = runner.invoke(
        cli,
        ["--config", str(config), "migrate", "--from", "zendesk-sell", "--to", "pipedrive", "--json"],
        obj={},
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["rows"]["moved"]["ow_opportunities"] == len(sell_keys)
    carried = {r["key"]: r for r in ledger.written("pipedrive")}
    assert set(carried) == sell_keys and not list(ledger.written("zendesk-sell"))
    assert all(r["account_id"] == str(org_of[k.split(":")[0]]) and r["deal_id"] for k, r in carried.items())
    assert {(h["account_id"], h["playbook"]) for h in store.holdouts("pipedrive")} == {
        (str(org_of[a]), p) for a, p in controls
    }
    assert len(box.writes) == writes_before  # migrate writes nothing to the CRM

    # A new need planted after the move: every seat filled on three accounts that had no seat offer.
    offered_seats = {k.split(":")[0] for k in sell_keys if ":seat_expansion:" in k}
    control_seats = {a for a, p in controls if p == "seat_expansion"}
    planted = [
        s
        for s in sorted(org_of)
        if s not in offered_seats
        and s not in control_seats
        and not in_control_group(s, "seat_expansion", HOLDOUT)
    ][:3]
    for sell_id in planted:
        box.update_org(
            org_of[sell_id],
            {
                "seats_purchased": 20,
                "seats_used": 20,
                "active_users": 20,
                "nps": 9,
                "csat": 4.8,
                "open_escalations": 0,
            },
        )
    deals_before = {d["id"] for d in box.deals.values()}
    activities_before = set(box.activities)

    second = run_pass(settings, crm="pipedrive", connector=pipedrive_connector(box), now=NOW.replace(day=26))
    code = box.code("deal", "Opportunity key")
    new_deals = [d for d in box.deals.values() if d["id"] not in deals_before]
    new_keys = [d["custom_fields"][code] for d in new_deals]
    assert not set(new_keys) & sell_keys
    carried_accounts_needs = {(r["account_id"], r["playbook"]) for r in carried.values()}
    assert not [k for k in new_keys if tuple(k.split(":")[:2]) in carried_accounts_needs], (
        "an open offer was made again"
    )
    new_activity_deals = {box.activities[a]["deal_id"] for a in set(box.activities) - activities_before}
    assert new_activity_deals <= {d["id"] for d in new_deals}  # no activity on a carried deal
    assert Counter(new_keys).most_common(1)[0][1] == 1 if new_keys else True
    planted_orgs = {str(org_of[s]) for s in planted}
    assert any(k.split(":")[0] in planted_orgs and ":seat_expansion:" in k for k in new_keys), (
        "a planted need went unoffered"
    )
    pipedrive_controls = {(str(org_of[a]), p) for a, p in controls}
    assert not [k for k in new_keys if tuple(k.split(":")[:2]) in pipedrive_controls], (
        "a control account got an offer"
    )
    assert second.holdout > 0  # control accounts still qualify, and are still held out

    # The next pass records the new deals' outcomes beside the carried ones: one history.
    third = run_pass(settings, crm="pipedrive", connector=pipedrive_connector(box), now=NOW.replace(day=27))
    report = build_report(store, NOW.replace(day=28), crm="pipedrive")
    assert (
        sum(f.created for f in report.by_playbook)
        == len(sell_keys) + second.deals_created + third.deals_created
    )
    assert not store.outcomes("zendesk-sell")
