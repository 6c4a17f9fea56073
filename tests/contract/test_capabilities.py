"""Contract: optional capabilities. A connector that claims one (`isinstance` against the protocols
in connectors/capabilities.py) must answer it with the promised shape; one that does not is
simply skipped here, as the worker skips it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from connectors.base import AccountState, DealFacts, ReadReport
from connectors.capabilities import (
    CallsHttpApi,
    ReadsAccountHistory,
    ReadsConversations,
    ReadsDealFacts,
    ReadsOpportunitiesFor,
    ReadsTaskStates,
)
from connectors.ratelimit import RateBudget
from tests.contract.harnesses import Harness, opportunity
from tests.contract.test_writes import write_pass


def claims(connector: object, capability: type) -> None:
    if not isinstance(connector, capability):
        pytest.skip(f"{type(connector).__name__} does not offer {capability.__name__}")


def test_reads_deal_facts_of_our_deals_by_key(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(2)]
    write_pass(harness.build(), opportunities)
    connector = harness.build()
    claims(connector, ReadsDealFacts)
    list(connector.read_opportunities())
    keys = [o.key for o in opportunities]
    facts = connector.read_deal_facts([*keys, "unknown:cross_sell:nothing"])
    assert isinstance(facts, Mapping) and "unknown:cross_sell:nothing" not in facts
    assert all(isinstance(f, DealFacts) for f in facts.values())
    if harness.facts_of_written_deals:
        assert set(facts) == set(keys)
        assert all(f.amount is None and f.lost_reason is None for f in facts.values())  # still open


def test_reads_task_states_of_our_tasks(harness: Harness) -> None:
    opportunities = [opportunity(a) for a in harness.seed_accounts(2)]
    _, tasks = write_pass(harness.build(), opportunities)
    connector = harness.build()
    claims(connector, ReadsTaskStates)
    states = connector.read_task_states([r.crm_id for r in tasks if r.crm_id] + ["999999999"])
    assert states == {r.crm_id: False for r in tasks}  # open tasks; unknown ids left out


def test_reads_opportunities_for_some_accounts_only(harness: Harness) -> None:
    ids = harness.seed_accounts(3)
    opportunities = [opportunity(a) for a in ids]
    write_pass(harness.build(), opportunities)
    connector = harness.build()
    claims(connector, ReadsOpportunitiesFor)
    found = list(connector.read_opportunities_for([ids[1]]))
    assert [(o.key, o.account_id) for o in found] == [(opportunities[1].key, ids[1])]


def test_reads_account_history_oldest_first(harness: Harness) -> None:
    harness.seed_for_pass(20)
    connector = harness.build()
    claims(connector, ReadsAccountHistory)
    accounts = {r.account.id for r in connector.read_accounts(None, ReadReport())}
    states = list(connector.read_account_history())
    assert states and all(isinstance(s, AccountState) and s.account_id in accounts for s in states)
    for account in {s.account_id for s in states}:
        dates = [s.valid_from for s in states if s.account_id == account]
        assert dates == sorted(dates)


def test_reads_conversations(harness: Harness) -> None:
    connector = harness.build()
    claims(connector, ReadsConversations)  # no connector has it yet (issue #13)
    ids = harness.seed_accounts(1)
    assert all(c.account_id in ids for c in connector.read_conversations(ids, None))


def test_http_connector_names_its_budget_key_and_secrets_without_leaking_them(harness: Harness) -> None:
    connector = harness.build()
    claims(connector, CallsHttpApi)
    assert isinstance(connector.rate_budget(), RateBudget) and connector.rate_budget().source.startswith(
        "https://"
    )
    secrets = connector.secrets()
    assert secrets and all(s not in connector.rate_key() for s in secrets)
    assert connector.rate_key() == harness.build().rate_key()  # stable: two workers share one window
    assert connector.http_stats().calls == 0
