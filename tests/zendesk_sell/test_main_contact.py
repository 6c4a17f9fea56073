"""The task names the organisation's main contact (issue #15 item 6): one persons listing per pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.base import ReadReport
from connectors.zendesk_sell.contacts import person_text
from tests.sandboxes.zendesk_sell import SellSandbox
from tests.uncapped import UNCAPPED
from tests.zendesk_sell.conftest import ConnectorFactory
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_person_text_names_whoever_has_a_name_or_an_email() -> None:
    assert person_text({"first_name": "Ada", "last_name": "Byron", "email": "ada@example.com"}) == (
        "Ada Byron <ada@example.com>"
    )
    assert person_text({"first_name": None, "last_name": "Byron"}) == "Byron"
    assert person_text({"name": "Ada B.", "email": None}) == "Ada B."
    assert person_text({"email": "ada@example.com"}) == "ada@example.com"
    assert person_text({"first_name": "", "email": " "}) is None


def test_a_pass_names_the_oldest_person_of_the_organisation_in_its_task(
    sandbox: SellSandbox, make_connector: ConnectorFactory, tmp_path: Path
) -> None:
    accounts = sandbox.generate_accounts(200, seed=11)
    with_person = {str(a) for a in accounts[::2]}
    for account in accounts[::2]:
        sandbox.add_person("Ada", "Byron", contact_id=account, email="ada@example.com")
    for account in accounts[::4]:
        sandbox.add_person("Zed", "Later", contact_id=account, email="zed@example.com")
    sandbox.add_person("", "", contact_id=accounts[1], email=None)  # neither name nor email: ignored
    before = len(sandbox.calls)
    settings = Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/l.db", output_dir=tmp_path)
    result = run_pass(settings, crm="zendesk-sell", connector=make_connector(), now=NOW)
    assert result.tasks_created > 0 and not result.write_errors
    # 2 pages of organisations (read once for baskets and accounts) + 2 pages of 151 persons
    assert sandbox.calls[before:].count(("GET", "/v2/contacts")) == 4
    named = unnamed = 0
    for task in sandbox.tasks.values():
        org = str(sandbox.deals[task["resource_id"]]["contact_id"])
        if org in with_person:
            assert "Main contact: Ada Byron <ada@example.com>\n" in task["content"]
            assert "zed@" not in task["content"]
            named += 1
        else:
            assert "Main contact" not in task["content"]
            unnamed += 1
    assert named and unnamed


def test_the_persons_listing_is_read_once_per_pass_and_not_when_turned_off(
    sandbox: SellSandbox, make_connector: ConnectorFactory
) -> None:
    accounts = sandbox.generate_accounts(250, seed=3)
    for account in accounts[::5]:
        sandbox.add_person("Ada", "Byron", contact_id=account, email="ada@example.com")
    before = len(sandbox.calls)
    records = list(make_connector(incremental="full").read_accounts(None, ReadReport()))
    named = {r.account.id for r in records if r.account.main_contact == "Ada Byron <ada@example.com>"}
    assert named == {str(a) for a in accounts[::5]}
    assert sandbox.calls[before:].count(("GET", "/v2/contacts")) == 3 + 1  # 250 orgs + 50 persons
    before = len(sandbox.calls)
    off = list(make_connector(incremental="full", read_main_contacts=False).read_accounts(None, ReadReport()))
    assert not any(r.account.main_contact for r in off)
    assert sandbox.calls[before:].count(("GET", "/v2/contacts")) == 3
