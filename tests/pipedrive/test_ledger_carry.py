"""worker/store/migration.py on PostgreSQL: rows follow their account to the new CRM in one
transaction; a dry run rolls back; an opportunity whose deal has no counterpart stays with its
outcome; running it again moves nothing twice; moved accounts keep their holdout draw."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from worker.store.ledger import Ledger
from worker.store.migration import CarryPlan, MigrationStore
from worker.store.outcomes import OutcomeStore

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def opportunity(key: str, account: str) -> dict:
    payload = {
        "opportunity": {"account_id": account, "title": f"Title {key}"},
        "task": {"account_id": account},
    }
    return {
        "key": key,
        "account_id": account,
        "playbook": key.split(":")[1],
        "offer": key.split(":")[2],
        "kind": "upsell",
        "score": 80,
        "payload": json.dumps(payload),
    }


def outcome(key: str, account: str, status: str) -> dict:
    return {
        "key": key,
        "account_id": account,
        "playbook": key.split(":")[1],
        "offer": key.split(":")[2],
        "kind": "upsell",
        "score": 80,
        "deal_id": "sell-deal",
        "created_at": NOW,
        "status": status,
        "task_completed": False,
        "first_seen_at": NOW,
        "updated_at": NOW,
    }


def test_rows_follow_their_account_and_stay_when_unmapped(postgres_url: str) -> None:
    ledger = Ledger(postgres_url)
    store, carry = OutcomeStore(ledger.engine), MigrationStore(ledger.engine)
    ledger.record_pending(
        "zendesk-sell",
        "run-1",
        [
            opportunity("s1:seat_expansion:seats", "s1"),
            opportunity("s2:plan_upgrade:plan", "s2"),
            opportunity("s3:seat_expansion:seats", "s3"),
        ],
        NOW,
    )
    ledger.record_deals("zendesk-sell", {"s1:seat_expansion:seats": "11", "s2:plan_upgrade:plan": "12"}, NOW)
    store.save(
        "zendesk-sell",
        [outcome("s1:seat_expansion:seats", "s1", "open"), outcome("s2:plan_upgrade:plan", "s2", "lost")],
        [],
        [{"key": "s2:plan_upgrade:plan", "field": "status", "old": "open", "new": "lost", "seen_at": NOW}],
    )
    store.record_holdouts(
        "zendesk-sell",
        "run-1",
        [
            {
                "account_id": "s3",
                "playbook": "seat_expansion",
                "key": "s3:seat_expansion:seats",
                "offer": "seats",
                "kind": "upsell",
                "score": 80,
            }
        ],
        NOW,
    )
    ledger.store_snapshots(
        "zendesk-sell", date(2026, 11, 24), [("s1", "active_users", 9.0), ("s9", "active_users", 1.0)]
    )
    # s2's deal was not imported: its opportunity and its outcome stay under Sell.
    plan = CarryPlan(
        "zendesk-sell",
        "pipedrive",
        {"s1": "p1", "s2": "p2", "s3": "p3"},
        {"s1:seat_expansion:seats": "901", "s3:seat_expansion:seats": "903"},
    )

    preview = carry.carry(plan, NOW, dry_run=True)
    assert preview.moved["ow_opportunities"] == 2 and preview.left["ow_opportunities"] == 1
    assert not list(ledger.written("pipedrive")) and not carry.holdout_ids("pipedrive")

    done = carry.carry(plan, NOW)
    assert dict(done.moved) == dict(preview.moved) and done.open_opportunities == 1
    moved = {r["key"]: r for r in ledger.written("pipedrive")}
    assert {k: (r["account_id"], r["deal_id"]) for k, r in moved.items()} == {
        "s1:seat_expansion:seats": ("p1", "901"),
        "s3:seat_expansion:seats": ("p3", "903"),
    }
    assert json.loads(moved["s1:seat_expansion:seats"]["payload"])["task"]["account_id"] == "p1"
    assert [r["key"] for r in ledger.written("zendesk-sell")] == ["s2:plan_upgrade:plan"]
    assert [(o["key"], o["account_id"], o["deal_id"]) for o in store.outcomes("pipedrive")] == [
        ("s1:seat_expansion:seats", "p1", "901")
    ]
    assert [o["key"] for o in store.outcomes("zendesk-sell")] == ["s2:plan_upgrade:plan"]
    assert [e["key"] for e in store.events("zendesk-sell")] == [
        "s2:plan_upgrade:plan"
    ]  # stays with its outcome
    assert [(h["account_id"], h["playbook"]) for h in store.holdouts("pipedrive")] == [
        ("p3", "seat_expansion")
    ]
    assert ledger.snapshots("pipedrive", ["p1"]) == {"p1": {"active_users": [(date(2026, 11, 24), 9.0)]}}
    assert ledger.snapshots("zendesk-sell", ["s9"])  # no counterpart: left as it was
    assert carry.holdout_ids("pipedrive") == {"p1": "s1", "p2": "s2", "p3": "s3"}

    again = carry.carry(plan, NOW)
    assert again.moved["ow_opportunities"] == 0 and len(list(ledger.written("pipedrive"))) == 2
