"""Reading through the connector from the sandbox over real sockets: paging, Firehose, errors."""

from __future__ import annotations

import pytest

from connectors.base import ReadReport
from domain import ConnectorError, FailureKind, OpportunityStatus
from tests.sandboxes.zendesk_sell import SellSandbox
from tests.zendesk_sell.conftest import ConnectorFactory


def _orgs(sandbox: SellSandbox, n: int) -> list[int]:
    return [
        sandbox.add_organization(f"Org {i}", custom_fields={"seats_purchased": "10", "active_users": str(i)})[
            "id"
        ]
        for i in range(n)
    ]


def test_full_scan_pages_through_every_organisation_100_at_a_time(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    ids = _orgs(sandbox, 250)
    sandbox.add_person("Pat", "Person")  # a person contact is not an account
    # Counts the organisation scan; the persons listing for main contacts is tested on its own.
    connector = make_connector(incremental="full", read_main_contacts=False)
    report = ReadReport()
    records = list(connector.read_accounts(None, report))
    assert sorted(int(r.account.id) for r in records) == ids
    assert report.read == 250 and not report.skipped
    assert sandbox.calls.count(("GET", "/v2/contacts")) == 3  # 100 + 100 + 50, stop at no next_page
    assert connector.next_cursor() is None  # incremental: full -> no cursor


def test_sandbox_enforces_the_documented_page_cap(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    connector = make_connector()
    with pytest.raises(ConnectorError) as caught:
        connector.client.get("/v2/contacts", {"per_page": 101})
    assert caught.value.kind is FailureKind.PERMANENT and "per_page" in str(caught.value)


def test_owners_are_sell_users(sandbox: SellSandbox, make_connector: ConnectorFactory) -> None:
    owners = list(make_connector().read_owners())
    assert {o.email for o in owners} == {"casey@example.com", "robin@example.com"}


def test_incremental_pass_reads_only_changes_from_the_firehose_stream(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    ids = _orgs(sandbox, 30)
    connector = make_connector(stream_limit=2, read_main_contacts=False)  # counts org scans only
    assert len(list(connector.read_accounts(None, ReadReport()))) == 30
    cursor = connector.next_cursor()
    assert cursor and cursor.startswith("firehose:contacts:")

    sandbox.update_contact(ids[0], custom_fields={"active_users": "100"})
    sandbox.update_contact(ids[0], custom_fields={"active_users": "101"})  # newest sequence wins
    sandbox.update_contact(ids[5], name="Org Five Renamed")
    new_id = sandbox.add_organization("Newcomer")["id"]
    sandbox.add_person("Pat", "Person")  # changes to people are not accounts
    sandbox.delete_contact(ids[9])
    sandbox.empty_stream_pages = 2  # Firehose may answer empty pages before top: keep polling

    report = ReadReport()
    records = {r.account.id: r for r in connector.read_accounts(cursor, report)}
    assert set(records) == {str(ids[0]), str(ids[5]), str(new_id)}
    assert [p.value for p in records[str(ids[0])].usage if p.metric == "active_users"] == [101.0]
    assert records[str(ids[5])].account.name == "Org Five Renamed"
    assert not report.skipped
    assert sandbox.calls.count(("GET", "/v2/contacts")) == 1  # only the first full pass scanned
    next_cursor = connector.next_cursor()
    assert next_cursor and next_cursor != cursor

    assert list(connector.read_accounts(next_cursor, ReadReport())) == []  # nothing changed since
    assert connector.next_cursor() == next_cursor


def test_expired_position_falls_back_to_a_full_scan(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    _orgs(sandbox, 12)
    connector = make_connector()
    list(connector.read_accounts(None, ReadReport()))
    cursor = connector.next_cursor()
    sandbox.add_organization("Late")
    sandbox.expire_stream()  # retention passed: the stored position now answers 410

    records = list(connector.read_accounts(cursor, ReadReport()))
    assert len(records) == 13
    assert connector.stream_fallbacks == 1
    assert connector.next_cursor() not in (None, cursor)


def test_without_firehose_access_runs_stay_full(make_connector: ConnectorFactory) -> None:
    with SellSandbox(firehose=False) as sell:
        sell.add_organization("Solo")
        connector = make_connector(base_url=sell.url, access_token=sell.token)
        assert len(list(connector.read_accounts(None, ReadReport()))) == 1
        assert connector.next_cursor() is None


def test_malformed_contact_is_skipped_or_defaulted_and_counted(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    good = sandbox.add_organization("Good", custom_fields={"seats_purchased": "5"})["id"]
    sandbox.add_raw_contact(
        {
            "id": 500,
            "is_organization": True,
            "name": "Junk fields",
            "custom_fields": {"seats_purchased": "many", "mrr": "-3", "products": 7},
        }
    )
    sandbox.add_raw_contact({"id": 501, "is_organization": True, "name": "Weird", "custom_fields": "garbage"})
    report = ReadReport()
    connector = make_connector()
    baskets = dict(connector.read_baskets(report))  # the runner's first pass: same report for both
    assert baskets["500"] == frozenset()
    records = {r.account.id: r.account for r in connector.read_accounts(None, report)}
    assert set(records) == {str(good), "500", "501"}
    assert records["500"].seats_purchased is None and records["500"].mrr is None
    # counted once, although the first pass looks at each contact for baskets and for accounts
    assert report.defaulted == {"unreadable_seats_purchased": 1, "invalid_mrr": 1, "unreadable_products": 1}


def test_baskets_come_from_the_products_field(sandbox: SellSandbox, make_connector: ConnectorFactory) -> None:
    a = sandbox.add_organization(
        "A", custom_fields={"products": [{"id": 1, "name": "api"}, {"id": 2, "name": "glossary"}]}
    )
    b = sandbox.add_organization("B", custom_fields={"products": "translate; api"})
    c = sandbox.add_organization("C")
    baskets = dict(make_connector().read_baskets(ReadReport()))
    assert baskets == {
        str(a["id"]): frozenset({"api", "glossary"}),
        str(b["id"]): frozenset({"translate", "api"}),
        str(c["id"]): frozenset(),
    }


def test_existing_opportunities_are_our_deals_only_with_status(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    org = sandbox.add_organization("Acme")["id"]
    with sandbox.lock:
        ours = sandbox._create_deal(
            {
                "name": "Seats",
                "contact_id": org,
                "value": "10.50",
                "custom_fields": {"opportunity_key": f"{org}:seat_expansion:seats"},
            }
        )
        sandbox._create_deal({"name": "Manual deal", "contact_id": org, "value": 5})
    sandbox.set_deal_stage(ours["id"], 3)  # won
    found = list(make_connector().read_opportunities())
    assert [(e.key, e.status, e.crm_id) for e in found] == [
        (f"{org}:seat_expansion:seats", OpportunityStatus.WON, str(ours["id"]))
    ]
    assert found[0].closed_at is not None


def test_5xx_and_429_are_retried_until_success(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    _orgs(sandbox, 3)
    sandbox.add_fault("GET", "/v2/contacts", 503, times=2)
    sandbox.add_fault("GET", "/v2/users", 429, times=2)
    connector = make_connector()
    assert len(list(connector.read_accounts(None, ReadReport()))) == 3
    assert len(list(connector.read_owners())) == 2
    stats = connector.client.stats
    assert stats.retries == 4 and stats.rate_limited == 2 and stats.by_status[503] == 2


def test_real_rolling_limit_429s_are_backed_off_and_succeed(make_connector: ConnectorFactory) -> None:
    with SellSandbox(rate_limit=4, rate_window=0.2) as sell:
        sell.add_user("U", "u@example.com")
        for i in range(12):
            sell.add_organization(f"O{i}")
        connector = make_connector(
            base_url=sell.url, access_token=sell.token, per_page=1, max_attempts=12, incremental="full"
        )
        assert len(list(connector.read_accounts(None, ReadReport()))) == 12
        assert sell.rate_limited >= 1  # the unpaced client did trip the limit
        assert connector.client.stats.rate_limited == sell.rate_limited


def test_paced_client_stays_under_the_limit(make_connector: ConnectorFactory) -> None:
    from connectors.ratelimit import PacedLimiter

    with SellSandbox(rate_limit=10, rate_window=0.25) as sell:  # 40 requests/s
        for i in range(30):
            sell.add_organization(f"O{i}")
        connector = make_connector(
            base_url=sell.url,
            access_token=sell.token,
            per_page=1,
            incremental="full",
            limiter=PacedLimiter(36.0),
        )
        assert len(list(connector.read_accounts(None, ReadReport()))) == 30
        assert sell.rate_limited == 0


def test_bad_token_is_an_auth_error_that_names_the_problem_without_the_token(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    connector = make_connector(access_token="wrong-token-value-123")
    with pytest.raises(ConnectorError) as caught:
        list(connector.read_owners())
    error = caught.value
    assert error.kind is FailureKind.AUTH and error.status == 401
    assert "unauthorized" in str(error) and "logref" in str(error) and error.correlation_id
    assert "wrong-token-value-123" not in str(error) and "wrong-token-value-123" not in repr(
        connector.settings
    )
    assert connector.client.stats.calls == 1  # not retried


def test_missing_token_is_a_config_error() -> None:
    from connectors.zendesk_sell.connector import from_options

    with pytest.raises(ConnectorError) as caught:
        from_options({"access_token": "", "base_url": "http://127.0.0.1:9"})
    assert caught.value.kind is FailureKind.CONFIG


def test_first_pass_reads_contacts_once_for_baskets_and_accounts(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    ids = _orgs(sandbox, 150)
    connector = make_connector(read_main_contacts=False)  # counts org scans only
    assert len(dict(connector.read_baskets(ReadReport()))) == 150
    sandbox.add_organization("Added between the two reads")  # seen by the next incremental pass
    records = list(connector.read_accounts(None, ReadReport()))
    assert sorted(int(r.account.id) for r in records) == ids
    assert sandbox.calls.count(("GET", "/v2/contacts")) == 2 and connector.spool_replays == 1
    changed = list(connector.read_accounts(connector.next_cursor(), ReadReport()))
    assert [r.account.name for r in changed] == ["Added between the two reads"]


def test_a_spool_is_never_replayed_into_a_later_pass(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    _orgs(sandbox, 5)
    connector = make_connector()
    list(connector.read_baskets(ReadReport()))
    list(connector.read_owners())  # the next pass begins
    sandbox.add_organization("New")
    assert len(list(connector.read_accounts(None, ReadReport()))) == 6
    assert connector.spool_replays == 0


def test_owned_products_can_come_from_won_deals_orders_and_line_items(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    api, glossary, security = (
        sandbox.add_product(n, sku)
        for n, sku in (("Translation API", "api"), ("Glossary", "glossary"), ("SSO", "security"))
    )
    a = sandbox.add_organization("A", custom_fields={"products": ["ignored"]})["id"]
    b = sandbox.add_organization("B")["id"]
    c = sandbox.add_organization("C")["id"]
    sandbox.add_deal_with_order(a, [api["id"], glossary["id"]])  # won
    sandbox.add_deal_with_order(a, [security["id"]], stage_id=4)  # lost: not a purchase
    sandbox.add_deal_with_order(b, [security["id"]], stage_id=1)  # still open: not a purchase
    sandbox.add_deal_with_order(c, [security["id"]])
    connector = make_connector(products_source="orders")
    list(connector.read_owners())
    baskets = dict(connector.read_baskets(ReadReport()))
    assert baskets == {
        str(a): frozenset({"api", "glossary"}),
        str(b): frozenset(),
        str(c): frozenset({"security"}),
    }
    accounts = {r.account.id: r.account.products for r in connector.read_accounts(None, ReadReport())}
    assert accounts == baskets
    # one line-items call per order of a won deal, and the history is read once per pass
    assert sum(1 for m, p in sandbox.calls if p.endswith("/line_items")) == 2
    assert sandbox.calls.count(("GET", "/v2/orders")) == 1


def test_only_deals_created_by_the_token_user_are_listed_unless_turned_off(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    org = sandbox.add_organization("Acme")["id"]
    other_user = list(sandbox.users)[1]
    with sandbox.lock:
        mine = sandbox._create_deal(
            {
                "name": "Mine",
                "contact_id": org,
                "custom_fields": {"opportunity_key": f"{org}:plan_upgrade:next_plan"},
            }
        )
        theirs = sandbox._create_deal(
            {
                "name": "Theirs",
                "contact_id": org,
                "custom_fields": {"opportunity_key": f"{org}:seat_expansion:seats"},
            }
        )
        theirs["creator_id"] = other_user
    assert [e.crm_id for e in make_connector().read_opportunities()] == [str(mine["id"])]
    everything = make_connector(deals_by_creator=False).read_opportunities()
    assert sorted(e.crm_id for e in everything) == sorted([str(mine["id"]), str(theirs["id"])])


def test_read_ahead_scan_yields_in_order_and_stops_cleanly_when_abandoned(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    ids = _orgs(sandbox, 9)
    connector = make_connector(per_page=2)
    scan = connector.client.collection("/v2/contacts", {"sort_by": "id"}, read_ahead=True)
    assert [c["id"] for c in scan] == ids
    calls = len(sandbox.calls)
    abandoned = connector.client.collection("/v2/contacts", {"sort_by": "id"}, read_ahead=True)
    assert next(abandoned)["id"] == ids[0]
    abandoned.close()
    assert len(sandbox.calls) - calls <= 2  # the page in hand and at most the one fetched ahead


def test_deal_facts_give_won_amount_and_lost_reason_from_the_listing(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    from decimal import Decimal

    org = sandbox.add_organization("Acme")["id"]
    with sandbox.lock:
        won = sandbox._create_deal(
            {"name": "W", "contact_id": org, "custom_fields": {"opportunity_key": f"{org}:a:x"}}
        )
        lost = sandbox._create_deal(
            {"name": "L", "contact_id": org, "custom_fields": {"opportunity_key": f"{org}:b:y"}}
        )
        sandbox._create_deal(
            {"name": "O", "contact_id": org, "custom_fields": {"opportunity_key": f"{org}:c:z"}}
        )
    sandbox.set_deal_stage(won["id"], 3, value="1200.50")
    sandbox.set_deal_stage(lost["id"], 4, loss_reason_id=2)
    connector = make_connector()
    list(connector.read_opportunities())
    facts = connector.read_deal_facts([f"{org}:a:x", f"{org}:b:y", f"{org}:c:z", "unknown:k:k"])
    assert facts[f"{org}:a:x"].amount == Decimal("1200.50")
    assert facts[f"{org}:b:y"].lost_reason == "No budget this year" and facts[f"{org}:b:y"].amount is None
    assert facts[f"{org}:c:z"].amount is None and facts[f"{org}:c:z"].task_completed is None
    assert "unknown:k:k" not in facts


def test_connectors_for_the_same_token_share_one_pacer() -> None:
    from connectors.zendesk_sell.client import paced_limiter_for
    from connectors.zendesk_sell.settings import ZendeskSellSettings

    one = ZendeskSellSettings(access_token="token-a", base_url="http://127.0.0.1:1")
    assert paced_limiter_for(one) is paced_limiter_for(one.model_copy())
    other = ZendeskSellSettings(access_token="token-b", base_url="http://127.0.0.1:1")
    assert paced_limiter_for(one) is not paced_limiter_for(other)
