"""Writing through the connector to the sandbox: upsert idempotency, task markers, faults, dry-run.
What every CRM must do (rerun finds, a lost deal answer is found, not duplicated) is in tests/contract.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import ConnectorError, FailureKind
from tests.sandboxes.zendesk_sell import SellSandbox
from tests.seat_expansion import pair
from tests.zendesk_sell.conftest import ConnectorFactory


@pytest.fixture
def orgs(sandbox: SellSandbox) -> list[int]:
    return [sandbox.add_organization(f"Org {i}")["id"] for i in range(3)]


def _write(connector, pairs):
    list(connector.read_opportunities())
    deals = connector.write_deals([o for o, _ in pairs])
    tasks = connector.write_tasks([t for _, t in pairs], {r.key: r.crm_id for r in deals if r.ok})
    return deals, tasks


def test_first_write_creates_one_deal_and_one_task_per_key(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    owner = next(iter(sandbox.users))
    pairs = [pair(org, owner_id=owner) for org in orgs]
    deals, tasks = _write(make_connector(), pairs)
    assert all(r.ok and r.created for r in deals + tasks)
    assert len(sandbox.deals) == 3 and len(sandbox.tasks) == 3
    deal = sandbox.deals[int(deals[0].crm_id)]
    assert deal["custom_fields"] == {"opportunity_key": pairs[0][0].key}
    assert deal["contact_id"] == orgs[0] and deal["owner_id"] == owner and deal["value"] == Decimal("4320.0")
    assert deal["tags"] == ["oppworker", "oppworker-seat_expansion"]
    task = sandbox.tasks[int(tasks[0].crm_id)]
    assert (task["resource_type"], task["resource_id"]) == ("deal", int(deals[0].crm_id))
    assert task["content"].splitlines()[-1] == f"oppworker-key: {pairs[0][0].key}"
    # the happy path costs exactly one call per record written: no lookups
    assert [m for m, _ in sandbox.calls].count("POST") == 6
    assert sandbox.calls.count(("GET", "/v2/tasks")) == 0


def test_upsert_without_a_prior_listing_still_finds_the_deal_by_key(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    """The runner resumes unfinished keys before it lists deals: the upsert filter is the safety net."""
    pairs = [pair(org) for org in orgs]
    first, _ = _write(make_connector(), pairs)
    connector = make_connector()
    deals = connector.write_deals([o for o, _ in pairs])  # no read_opportunities first
    tasks = connector.write_tasks([t for _, t in pairs], {r.key: r.crm_id for r in deals})
    assert [r.crm_id for r in deals] == [r.crm_id for r in first]
    assert all(r.ok and not r.created for r in tasks)
    assert len(sandbox.deals) == 3 and len(sandbox.tasks) == 3
    upserts = [w for w in sandbox.writes if w[1] == "/v2/deals/upsert"]
    assert upserts[-1][2] == {"custom_fields[opportunity_key]": pairs[-1][0].key}


def test_task_timeout_after_commit_is_not_resent_blindly(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    sandbox.add_fault("POST", "/v2/tasks", 504, after=True, delay=0.6)  # created; answer times out
    connector = make_connector(read_timeout=0.3)
    deals, tasks = _write(connector, [pair(orgs[0])])
    assert deals[0].ok and tasks[0].ok
    assert len(sandbox.tasks) == 1  # the retry looked for the marker first and found it
    assert sandbox.calls.count(("GET", "/v2/tasks")) == 1
    assert tasks[0].crm_id == str(next(iter(sandbox.tasks)))


def test_task_5xx_before_commit_is_created_once_after_checking(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    sandbox.add_fault("POST", "/v2/tasks", 500, times=2)
    sandbox.add_fault("POST", "/v2/tasks", 429, times=1)
    deals, tasks = _write(make_connector(), [pair(orgs[0])])
    assert tasks[0].ok and tasks[0].created
    assert len(sandbox.tasks) == 1


def test_validation_error_is_surfaced_per_item_with_code_field_and_logref(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    good = pair(orgs[0])
    bad = pair(orgs[1], owner_id=999_999)  # no such user
    connector = make_connector()
    results = connector.write_deals([bad[0], good[0]])
    assert results[1].ok and not results[0].ok
    error = results[0].error or ""
    assert (
        "HTTP 422" in error and "incorrect_value" in error and "/data/owner_id" in error and "logref" in error
    )
    assert sandbox.token not in error
    assert len(sandbox.deals) == 1
    unknown = pair(424242)  # an organisation that does not exist
    assert "/data/contact_id" in (connector.write_deals([unknown[0]])[0].error or "")
    assert connector.write_tasks([bad[1]], {})[0].error  # no deal id: refused without a call


def test_read_only_token_fails_the_whole_call_as_auth(make_connector: ConnectorFactory) -> None:
    with SellSandbox(scopes=("read",)) as sell:
        org = sell.add_organization("Acme")["id"]
        connector = make_connector(base_url=sell.url, access_token=sell.token)
        with pytest.raises(ConnectorError) as caught:
            connector.write_deals([pair(org)[0]])
        assert caught.value.kind is FailureKind.AUTH and "insufficient_scope" in str(caught.value)


def test_key_field_not_filterable_is_reported_not_duplicated(make_connector: ConnectorFactory) -> None:
    with SellSandbox(filterable_deal_fields=()) as sell:
        org = sell.add_organization("Acme")["id"]
        connector = make_connector(base_url=sell.url, access_token=sell.token)
        result = connector.write_deals([pair(org)[0]])[0]
        assert not result.ok and "not filterable" in (result.error or "")
        assert not sell.deals


def test_dry_run_preview_makes_no_call_and_matches_what_a_write_sends(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    pairs = [pair(org) for org in orgs[:2]]
    connector = make_connector(dry_run=True)
    before = len(sandbox.calls)
    preview = connector.preview_writes([o for o, _ in pairs], [t for _, t in pairs])
    assert len(sandbox.calls) == before and not sandbox.writes
    assert [(p["method"], p["path"].split("?")[0]) for p in preview] == [
        ("POST", "/v2/deals/upsert"),
        ("POST", "/v2/deals/upsert"),
        ("POST", "/v2/tasks"),
        ("POST", "/v2/tasks"),
    ]
    assert preview[0]["path"].endswith("=" + pairs[0][0].key.replace(":", "%3A"))

    _write(make_connector(), pairs)
    sent = [(w[1], w[3]) for w in sandbox.writes]
    assert sent[0] == ("/v2/deals/upsert", preview[0]["json"])
    assert sandbox.writes[0][2] == preview[0]["params"]
    sent_task = sent[2][1]["data"]
    previewed_task = preview[2]["json"]["data"]
    assert previewed_task["resource_id"] == f"<deal id of {pairs[0][0].key}>"
    assert {k: v for k, v in sent_task.items() if k != "resource_id"} == {
        k: v for k, v in previewed_task.items() if k != "resource_id"
    }


def test_a_deal_of_ours_the_listing_could_not_see_is_updated_and_its_task_found(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    """E.g. written under an earlier token: the creator filter hides it, the upsert key still finds it."""
    opportunity, task = pair(orgs[0])
    other_user = list(sandbox.users)[1]
    with sandbox.lock:
        old = sandbox._create_deal(
            {"name": "Old", "contact_id": orgs[0], "custom_fields": {"opportunity_key": opportunity.key}}
        )
        old.update(
            creator_id=other_user, created_at="2026-01-05T10:00:00Z", updated_at="2026-01-05T10:00:00Z"
        )
        sandbox.tasks[1] = {
            "id": 1,
            "resource_type": "deal",
            "resource_id": old["id"],
            "completed": False,
            "content": f"Earlier task\noppworker-key: {opportunity.key}",
            "updated_at": "2026-01-05T10:00:00Z",
        }
    deals, tasks = _write(make_connector(), [(opportunity, task)])
    assert (deals[0].crm_id, deals[0].created) == (str(old["id"]), False)
    assert (tasks[0].crm_id, tasks[0].created) == ("1", False)
    assert len(sandbox.deals) == 1 and len(sandbox.tasks) == 1


def test_each_deal_carries_its_currency_and_a_code_that_is_not_iso_is_refused_alone(
    sandbox: SellSandbox, make_connector: ConnectorFactory, orgs: list[int]
) -> None:
    """Sell's deal `currency` is an ISO 4217 code; the write sends the opportunity's, and Sell
    refuses anything else for that deal only (422 on the field), the others are written."""
    pairs = [pair(org) for org in orgs]
    currencies = ("EUR", "euro", "GBP")
    pairs = [(o.model_copy(update={"currency": c}), t) for (o, t), c in zip(pairs, currencies, strict=True)]
    deals, _ = _write(make_connector(), pairs)
    assert [r.ok for r in deals] == [True, False, True]
    assert "currency" in (deals[1].error or "")
    sent = [body["data"] for method, path, _, body in sandbox.writes if method == "POST" and "deals" in path]
    assert [(d["contact_id"], d["currency"]) for d in sent] == [
        (orgs[0], "EUR"),
        (orgs[1], "euro"),  # sent as the opportunity says, refused by Sell: not stored
        (orgs[2], "GBP"),
    ]
    assert sorted(d["currency"] for d in sandbox.deals.values()) == ["EUR", "GBP"]
