"""Writing through the connector to the sandbox: search before create, activity markers, faults
after the change was made, refusals, dry-run previews."""

from __future__ import annotations

import pytest

from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.seat_expansion import pair


@pytest.fixture
def orgs(sandbox: PipedriveSandbox) -> list[int]:
    return [sandbox.add_organization(f"Org {i}")["id"] for i in range(3)]


def write(connector, pairs, listing: bool = True):
    if listing:
        list(connector.read_opportunities())
    deals = connector.write_deals([o for o, _ in pairs])
    tasks = connector.write_tasks([t for _, t in pairs], {r.key: r.crm_id for r in deals if r.ok})
    return deals, tasks


def test_first_write_searches_then_creates_one_deal_and_one_activity_per_key(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    owner = next(iter(sandbox.users))
    pairs = [pair(org, owner_id=owner) for org in orgs]
    deals, tasks = write(make_connector(), pairs)
    assert all(r.ok and r.created for r in deals + tasks)
    deal = sandbox.deals[int(deals[0].crm_id)]
    assert deal["custom_fields"][sandbox.code("deal", "Opportunity key")] == pairs[0][0].key
    assert (deal["org_id"], deal["owner_id"], deal["value"], deal["expected_close_date"]) == (
        orgs[0],
        owner,
        4320.0,
        "2026-12-31",
    )
    activity = sandbox.activities[int(tasks[0].crm_id)]
    assert (activity["type"], activity["deal_id"], activity["org_id"], activity["due_date"]) == (
        "task",
        int(deals[0].crm_id),
        orgs[0],
        "2026-11-28",
    )
    # the documented safety net: one exact-match search per deal create, no activity lookup on new deals
    assert sandbox.calls.count(("GET", "/api/v2/deals/search")) == 3
    assert sandbox.calls.count(("GET", "/api/v2/activities")) == 0
    assert [m for m, _ in sandbox.calls].count("POST") == 6


def test_unlisted_mode_skips_the_search_after_a_complete_listing(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    write(make_connector(search_before_create="unlisted"), [pair(org) for org in orgs])
    assert sandbox.calls.count(("GET", "/api/v2/deals/search")) == 0 and len(sandbox.deals) == 3


def test_org_mode_looks_in_the_organization_deals_instead_of_searching(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    pairs = [pair(org) for org in orgs]
    first, _ = write(make_connector(search_before_create="org"), pairs, listing=False)
    again, _ = write(make_connector(search_before_create="org"), pairs, listing=False)
    assert [r.crm_id for r in again] == [r.crm_id for r in first] and not any(r.created for r in again)
    assert sandbox.calls.count(("GET", "/api/v2/deals/search")) == 0 and len(sandbox.deals) == 3
    assert sandbox.calls.count(("GET", "/api/v2/deals")) == 6  # one look per deal, each pass


def test_rerun_finds_existing_deals_and_activities_instead_of_duplicating(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    pairs = [pair(org) for org in orgs]
    first_deals, first_tasks = write(make_connector(), pairs)
    for listing in (True, False):  # with our deals listed first, and without (the search finds them)
        deals, tasks = write(make_connector(), pairs, listing=listing)
        assert [(r.crm_id, r.created) for r in deals] == [(r.crm_id, False) for r in first_deals]
        assert [(r.crm_id, r.created) for r in tasks] == [(r.crm_id, False) for r in first_tasks]
    assert len(sandbox.deals) == 3 and len(sandbox.activities) == 3


def test_a_create_whose_answer_was_lost_is_found_not_repeated(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    sandbox.add_fault("POST", "/api/v2/deals", 503, after=True)  # made, then the answer is lost
    sandbox.add_fault("POST", "/api/v2/activities", 502, after=True)
    deals, tasks = write(make_connector(), [pair(orgs[0])])
    assert deals[0].ok and tasks[0].ok
    assert len(sandbox.deals) == 1 and len(sandbox.activities) == 1


def test_a_429_on_create_is_resent_as_is(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    sandbox.add_fault("POST", "/api/v2/deals", 429)
    deals, _ = write(make_connector(), [pair(orgs[0])])
    assert deals[0].ok and len(sandbox.deals) == 1


def test_a_refused_deal_is_reported_for_its_key_and_the_others_still_written(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    pairs = [pair(orgs[0]), pair(987654), pair(orgs[1])]  # 987654: no such organization -> 400
    deals, tasks = write(make_connector(), pairs)
    assert [r.ok for r in deals] == [True, False, True]
    assert "HTTP 400" in deals[1].error and "Organization not found" in deals[1].error
    assert [r.ok for r in tasks] == [True, False, True] and "write the deal first" in tasks[1].error


def test_each_deal_carries_its_currency_and_an_unknown_code_is_refused_alone(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    (eur, eur_task), (xyz, xyz_task), (gbp, gbp_task) = (pair(org) for org in orgs)
    eur, xyz, gbp = (
        o.model_copy(update={"currency": c}) for o, c in ((eur, "EUR"), (xyz, "XYZ"), (gbp, "GBP"))
    )
    deals, _ = write(make_connector(), [(eur, eur_task), (xyz, xyz_task), (gbp, gbp_task)])
    assert [r.ok for r in deals] == [True, False, True]
    assert "HTTP 400" in deals[1].error and "currency" in deals[1].error
    sent = [body for method, path, body in sandbox.writes if (method, path) == ("POST", "/api/v2/deals")]
    assert [(b["org_id"], b["value"], b["currency"]) for b in sent] == [
        (orgs[0], 4320.0, "EUR"),
        (orgs[2], 4320.0, "GBP"),
    ]
    assert sorted(d["currency"] for d in sandbox.deals.values()) == ["EUR", "GBP"]


def test_dry_run_preview_makes_no_write_call(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    connector = make_connector(dry_run=True)
    list(connector.read_opportunities())
    payloads = connector.preview_writes(*zip(*[pair(org) for org in orgs]))
    assert [p["path"] for p in payloads] == ["/api/v2/deals"] * 3 + ["/api/v2/activities"] * 3
    assert payloads[3]["json"]["deal_id"].startswith("<deal id of")
    assert not sandbox.writes
