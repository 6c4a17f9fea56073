"""Reads against the live sandbox: list paging, owners, our deals, incremental search windowing."""

from __future__ import annotations

import time

from connectors.base import ReadReport
from tests.hubspot.conftest import connector_for, install, opportunity, seed_companies
from tests.sandboxes.hubspot import OBJECTS, HubSpotSandbox

DAY_MS = 86_400_000


def test_full_read_follows_paging_across_many_pages(sandbox: HubSpotSandbox) -> None:
    ids = seed_companies(sandbox, 345)
    connector = connector_for(sandbox)
    report = ReadReport()
    records = list(connector.read_accounts(None, report))
    assert [r.account.id for r in records] == ids
    assert report.read == 345 and sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)"] == 4
    assert connector.next_cursor() is not None
    first = records[0]
    assert first.account.seats_used == 9 and first.account.products == frozenset({"translate", "api"})
    assert {p.metric for p in first.usage} == {"active_users", "words_translated"}


def test_baskets_then_accounts_list_the_companies_once(sandbox: HubSpotSandbox) -> None:
    seed_companies(sandbox, 250)
    connector = connector_for(sandbox)
    report = ReadReport()
    baskets = dict(connector.read_baskets(report))
    assert len(baskets) == 250 and all(b == frozenset({"translate", "api"}) for b in baskets.values())
    records = list(connector.read_accounts(None, report))
    assert len(records) == 250
    assert sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)"] == 3  # 3 pages, read once
    # A second full read (a later pass with the same connector) lists again: the spool is one-shot.
    assert len(list(connector.read_accounts(None, ReadReport()))) == 250
    assert sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)"] == 6


def test_malformed_company_is_counted_and_the_read_goes_on(sandbox: HubSpotSandbox) -> None:
    seed_companies(sandbox, 3)
    sandbox.add_record("companies", {"name": "Bad", "seats_purchased": "twelve", "active_users": "n/a"})
    report = ReadReport()
    records = list(connector_for(sandbox).read_accounts(None, report))
    assert len(records) == 4
    assert (
        report.defaulted["invalid_seats_purchased"] == 1 and report.defaulted["non_numeric_active_users"] == 1
    )


def test_owners_are_streamed_across_pages(sandbox: HubSpotSandbox) -> None:
    for i in range(130):
        sandbox.add_owner(str(500 + i), f"csm{i}@example.com", "Csm", str(i))
    owners = list(connector_for(sandbox).read_owners())
    assert len(owners) == 130 and owners[1].id == "501" and owners[1].email == "csm1@example.com"
    assert owners[1].name == "Csm 1"


def test_incremental_reads_only_changed_companies_past_the_10000_cap(sandbox: HubSpotSandbox) -> None:
    old = int(time.time() * 1000) - 2 * DAY_MS
    ids = seed_companies(sandbox, 10_150, modified_ms=old)
    seed_companies(sandbox, 5, modified_ms=old - DAY_MS)  # unchanged since before the cursor
    connector = connector_for(sandbox)
    cursor = "2020-01-01T00:00:00+00:00"  # everything above changed after this
    report = ReadReport()
    seen = [r.account.id for r in connector.read_accounts(cursor, report)]
    assert len(seen) == 10_155 and len(set(seen)) == 10_155  # no page lost or repeated at the cap
    # 10,155 results at 200 a page: 50 pages up to the cap, then a fresh window for the rest.
    assert sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)/search"] == 51
    assert sandbox.rate_limited == 0

    # One day later: two companies edited since the stored cursor; only they come back.
    stored = connector.next_cursor()
    assert stored is not None
    # Edited a moment before this run starts (an edit in the run's own millisecond is next run's).
    edited = int(time.time() * 1000) - 5
    sandbox.touch("companies", ids[7], at_ms=edited, seats_used="10")
    sandbox.touch("companies", ids[9000], at_ms=edited, plan="Business")
    changed = list(connector_for(sandbox).read_accounts(stored, ReadReport()))
    assert sorted(r.account.id for r in changed) == sorted([ids[7], ids[9000]])
    assert {r.account.id: r.account.plan for r in changed}[ids[9000]] == "Business"


def test_read_opportunities_returns_only_our_deals_with_status(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    [cid] = seed_companies(sandbox, 1)
    sandbox.add_record("deals", {"dealname": "Someone else's deal", "dealstage": "appointmentscheduled"})
    connector = connector_for(sandbox)
    [result] = connector.write_deals([opportunity(cid)])
    sandbox.touch(
        "deals", result.crm_id, hs_is_closed="true", hs_is_closed_won="true", closedate="2026-11-01T00:00:00Z"
    )
    [existing] = list(connector.read_opportunities())
    assert existing.key == opportunity(cid).key and existing.status.value == "won"
    assert existing.account_id == cid and existing.crm_id == result.crm_id and existing.closed_at is not None


def test_read_opportunities_for_some_accounts_only(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    ids = seed_companies(sandbox, 5)
    connector = connector_for(sandbox)
    connector.write_deals([opportunity(c, offer) for c in ids for offer in ("analytics", "api")])
    found = list(connector.read_opportunities_for([ids[1], ids[3]]))
    assert sorted(o.key for o in found) == sorted(
        opportunity(c, offer).key for c in (ids[1], ids[3]) for offer in ("analytics", "api")
    )
    assert list(connector.read_opportunities_for([])) == []


def test_products_from_line_items_of_won_deals(sandbox: HubSpotSandbox) -> None:
    a, b, c = seed_companies(sandbox, 3)  # their `products` property says translate;api: ignored here

    def deal(company: str, won: bool, skus: list[str]) -> None:
        deal_id = sandbox.add_record(
            "deals",
            {
                "dealname": "d",
                "dealstage": "closedwon" if won else "qualified",
                "hs_is_closed_won": "true" if won else "false",
            },
        )
        sandbox.associate("deals", deal_id, company, 5)
        for sku in skus:
            item = sandbox.add_record("line_items", {"name": sku.title(), "hs_sku": sku})
            sandbox.associate("line_items", item, deal_id, 20)

    deal(a, True, ["glossary", "api"])
    deal(a, True, ["analytics"])
    deal(b, False, ["security"])  # open deal: not owned
    connector = connector_for(sandbox, products_source="line_items")
    report = ReadReport()
    baskets = dict(connector.read_baskets(report))
    assert baskets == {a: frozenset({"glossary", "api", "analytics"}), b: frozenset(), c: frozenset()}
    products = {r.account.id: r.account.products for r in connector.read_accounts(None, report)}
    assert products == baskets


def test_deal_facts_come_from_the_pass_listing_and_task_states_from_a_batch_read(
    sandbox: HubSpotSandbox,
) -> None:
    from tests.hubspot.conftest import task_for

    install(sandbox)
    a, b = seed_companies(sandbox, 2)
    connector = connector_for(sandbox)
    won, lost = opportunity(a), opportunity(b)
    deals = {r.key: r.crm_id for r in connector.write_deals([won, lost])}
    tasks = {r.key: r.crm_id for r in connector.write_tasks([task_for(won), task_for(lost)], deals)}
    sandbox.touch("deals", deals[won.key], hs_is_closed="true", hs_is_closed_won="true", amount="4200.50")
    sandbox.touch(
        "deals",
        deals[lost.key],
        hs_is_closed="true",
        hs_is_closed_won="false",
        closed_lost_reason="Budget cut",
    )
    sandbox.touch("tasks", tasks[won.key], hs_task_status="COMPLETED")

    reader = connector_for(sandbox)
    assert len(list(reader.read_opportunities())) == 2
    calls = reader.client.stats.calls
    facts = reader.read_deal_facts([won.key, lost.key, "no:such:key"])
    assert reader.client.stats.calls == calls + 1  # only the unknown key needed a call
    assert str(facts[won.key].amount) == "4200.50" and facts[won.key].kind == "cross_sell"
    assert facts[won.key].score == 72 and facts[lost.key].amount is None
    assert facts[lost.key].lost_reason == "Budget cut" and "no:such:key" not in facts
    states = reader.read_task_states([tasks[won.key], tasks[lost.key], "999999"])
    assert states == {tasks[won.key]: True, tasks[lost.key]: False}
    assert connector_for(sandbox, track_task_states=False).read_task_states([tasks[won.key]]) == {}


def test_account_history_from_property_history(sandbox: HubSpotSandbox) -> None:
    day = 86_400_000
    start = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    cid = sandbox.add_record(
        "companies", {"name": "A", "plan": "Team", "seats_purchased": "10", "mrr": "300"}, modified_ms=start
    )
    sandbox.touch("companies", cid, at_ms=start + 40 * day, seats_purchased="25")
    sandbox.touch("companies", cid, at_ms=start + 90 * day, plan="Business", mrr="900")
    sandbox.touch(
        "companies", cid, at_ms=start + 90 * day + 5, seats_purchased="lots"
    )  # same day, unparseable
    for i in range(60):  # more than one 50-record page
        sandbox.add_record("companies", {"name": f"B{i}", "plan": "Starter"}, modified_ms=start)
    connector = connector_for(sandbox)
    states = [s for s in connector.read_account_history() if s.account_id == cid]
    assert [(s.valid_from.isoformat(), s.plan, s.seats_purchased, str(s.mrr)) for s in states] == [
        ("2026-01-01", "Team", 10, "300"),
        ("2026-02-10", "Team", 25, "300"),
        ("2026-04-01", "Business", None, "900"),
    ]
    assert connector.client.stats.by_endpoint["GET companies.history"] == 2
    assert sum(1 for _ in connector_for(sandbox).read_account_history()) == 3 + 60


def test_companies_link_to_their_page_in_the_portal_when_the_portal_id_is_set(
    sandbox: HubSpotSandbox,
) -> None:
    ids = seed_companies(sandbox, 3)
    linked = list(connector_for(sandbox, portal_id="4242").read_accounts(None, ReadReport()))
    assert [r.account.crm_url for r in linked] == [
        f"https://app.hubspot.com/contacts/4242/record/0-2/{i}" for i in ids
    ]
    eu = list(
        connector_for(sandbox, portal_id="4242", app_domain="app-eu1.hubspot.com").read_accounts(
            None, ReadReport()
        )
    )
    assert eu[0].account.crm_url == f"https://app-eu1.hubspot.com/contacts/4242/record/0-2/{ids[0]}"
    assert {r.account.crm_url for r in connector_for(sandbox).read_accounts(None, ReadReport())} == {None}
