"""Reading through the connector from the sandbox: cursor paging, incremental reads, field keys by
name, owners, products from won deals (archived ones included), our deals and their outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.base import ReadReport
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox


def test_organizations_page_by_cursor_with_the_limit_asked(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    ids = sandbox.generate_accounts(23, seed=3)
    report = ReadReport()
    records = list(make_connector(page_limit=10).read_accounts(None, report))
    assert [r.account.id for r in records] == [str(i) for i in ids]
    assert sandbox.calls.count(("GET", "/api/v2/organizations")) == 3  # 10 + 10 + 3
    assert report.read == 23 and not report.skipped


def test_incremental_read_asks_for_updated_since_and_reads_only_the_changed(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    ids = sandbox.generate_accounts(30, seed=4)
    full = make_connector()
    list(full.read_accounts(None, ReadReport()))
    cursor = full.next_cursor()
    assert cursor is not None
    sandbox.update_org(ids[3], {"seats_used": 1})
    sandbox.update_org(ids[7], {"seats_used": 2})
    again = make_connector()
    records = list(again.read_accounts(cursor, ReadReport()))
    changed = {r.account.id for r in records}
    assert changed == {str(ids[3]), str(ids[7])}
    assert again.next_cursor() > cursor


def test_the_cursor_never_passes_the_start_of_the_pass(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    """An organization edited while the scan runs must be read again next time."""
    sandbox.generate_accounts(5, seed=5)
    future = datetime.now(UTC) + timedelta(hours=1)
    sandbox.add_organization("Edited mid-scan", when=future)
    start = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    connector = make_connector(incremental_overlap_seconds=60)
    connector._now = lambda: start
    list(connector.read_accounts(None, ReadReport()))
    assert connector.next_cursor() == "pipedrive:orgs:updated_since:2026-11-29T11:59:00Z"


def test_custom_field_keys_differ_per_company_and_are_found_by_name(make_connector: ConnectorFactory) -> None:
    values = []
    for _ in range(2):  # two companies: the same field names, different 40-character keys
        with PipedriveSandbox() as other:
            other.add_user("A", "a@example.com")
            other.generate_accounts(1, seed=6)
            code = other.code("organization", "seats_purchased")
            connector_values = {"api_token": other.token, "base_url": other.url}
            from tests.pipedrive.conftest import connector_factory

            make, built = connector_factory(other)
            (record,) = list(make(**connector_values).read_accounts(None, ReadReport()))
            values.append((code, record.account.seats_purchased))
            for c in built:
                c.close()
    assert values[0][0] != values[1][0] and len(values[0][0]) == 40
    assert values[0][1] == values[1][1] is not None


def test_owners_come_from_users(sandbox: PipedriveSandbox, make_connector: ConnectorFactory) -> None:
    owners = list(make_connector().read_owners())
    assert [(o.name, o.email) for o in owners] == [
        ("Casey CSM", "casey@example.com"),
        ("Robin Rep", "robin@example.com"),
    ]
    assert ("GET", "/v1/users") in sandbox.calls


def test_products_owned_come_from_won_deals_including_archived_ones(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    org = sandbox.add_organization("Acme")
    sandbox.add_won_deal(org["id"], ["translate"])
    sandbox.add_won_deal(org["id"], ["glossary"], archived=True)  # lists no longer return it
    lost = sandbox.add_won_deal(org["id"], ["analytics"])
    sandbox.set_deal_status(lost["id"], "lost")
    baskets = dict(make_connector().read_baskets(ReadReport()))
    assert baskets == {str(org["id"]): frozenset({"translate", "glossary"})}
    assert ("GET", "/api/v2/deals/archived") in sandbox.calls


def test_a_bad_record_is_skipped_and_counted_and_the_rest_read(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    sandbox.generate_accounts(3, seed=8)
    sandbox.add_raw_organization({"id": 9999, "name": "Deleted", "is_deleted": True, "custom_fields": {}})
    seats = sandbox.code("organization", "seats_used")
    sandbox.add_raw_organization(
        {
            "id": 9998,
            "name": "Bad seats",
            "custom_fields": {seats: "many"},
            "update_time": "2026-01-01T00:00:00Z",
        }
    )
    report = ReadReport()
    records = list(make_connector().read_accounts(None, report))
    assert len(records) == 4 and report.read == 4  # the sandbox does not list deleted organizations
    assert report.defaulted["unreadable_seats_used"] == 1


def test_our_deals_and_their_outcomes_are_read_back(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    org = sandbox.add_organization("Acme")
    code = sandbox.code("deal", "Opportunity key")
    won = sandbox._store_deal(
        {
            "title": "Upsell",
            "org_id": org["id"],
            "value": 900.5,
            "custom_fields": {code: f"{org['id']}:seat_expansion:seats"},
        }
    )
    lost = sandbox._store_deal(
        {"title": "X-sell", "org_id": org["id"], "custom_fields": {code: f"{org['id']}:cross_sell:api"}}
    )
    sandbox._store_deal({"title": "Someone else's", "org_id": org["id"]})
    sandbox.set_deal_status(won["id"], "won", archive=True)
    sandbox.set_deal_status(lost["id"], "lost", lost_reason="No budget")
    connector = make_connector()
    existing = {e.key: e for e in connector.read_opportunities()}
    assert {e.status.value for e in existing.values()} == {"won", "lost"} and len(existing) == 2
    facts = connector.read_deal_facts(list(existing) + ["1:nope:x"])
    assert facts[f"{org['id']}:seat_expansion:seats"].amount == 900.5
    assert facts[f"{org['id']}:cross_sell:api"].lost_reason == "No budget"
    assert "1:nope:x" not in facts


def test_organizations_link_to_their_page_when_the_company_domain_is_known(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    ids = sandbox.generate_accounts(2, seed=5)
    linked = list(make_connector(company_domain="acme").read_accounts(None, ReadReport()))
    assert [r.account.crm_url for r in linked] == [
        f"https://acme.pipedrive.com/organization/{i}" for i in ids
    ]
    assert {r.account.crm_url for r in make_connector().read_accounts(None, ReadReport())} == {None}
