"""The activity names the organization's main contact (issue #15 item 6): one persons listing per pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.base import ReadReport
from connectors.pipedrive.contacts import person_text
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ADA = "Ada Byron <ada@example.com>"


def test_person_text_takes_the_primary_email() -> None:
    emails = [{"value": "home@example.com", "primary": False}, {"value": "ada@example.com", "primary": True}]
    assert person_text({"name": "Ada Byron", "emails": emails}) == ADA
    assert person_text({"name": "", "first_name": "Ada", "emails": [{"value": "a@example.com"}]}) == (
        "Ada <a@example.com>"
    )
    assert person_text({"name": "Ada", "emails": []}) == "Ada"
    assert (
        person_text({"emails": [{"value": " ", "primary": True}, {"value": "x@example.com"}]})
        == "x@example.com"
    )
    assert person_text({"name": " ", "emails": None}) is None


def test_a_pass_names_the_first_person_of_the_organization_escaped_in_the_note(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, tmp_path: Path
) -> None:
    accounts = sandbox.generate_accounts(200, seed=11)
    with_person = set(accounts[::2])
    for org in accounts[::2]:
        sandbox.add_person("Ada Byron", org, ["home@example.com", "ada@example.com"], primary=1)
    for org in accounts[::4]:
        sandbox.add_person("Zed Later", org, ["zed@example.com"])
    sandbox.add_person("", accounts[1], [])  # neither name nor email: ignored
    sandbox.add_person("Nobody's", None, ["free@example.com"])  # no organization
    settings = Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/l.db", output_dir=tmp_path)
    result = run_pass(settings, crm="pipedrive", connector=make_connector(), now=NOW)
    assert result.tasks_created > 0 and not result.write_errors
    assert sandbox.calls.count(("GET", "/api/v2/persons")) == 1  # 203 persons: one page of 500
    named = unnamed = 0
    for activity in sandbox.activities.values():
        if activity["org_id"] in with_person:
            # the note is HTML: the angle brackets arrive escaped
            assert "Main contact: Ada Byron &lt;ada@example.com&gt;" in activity["note"]
            assert "zed@" not in activity["note"]
            named += 1
        else:
            assert "Main contact" not in activity["note"]
            unnamed += 1
    assert named and unnamed


def test_persons_are_listed_once_per_pass_500_a_page_and_not_when_turned_off(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    accounts = sandbox.generate_accounts(250, seed=3)
    for org in accounts:
        for n in range(3):  # 750 persons: 2 pages of 500
            sandbox.add_person(f"Person {n}", org, [f"p{n}@example.com"])
    connector = make_connector()
    records = list(connector.read_accounts(None, ReadReport()))
    assert {r.account.main_contact for r in records} == {"Person 0 <p0@example.com>"}
    assert sandbox.calls.count(("GET", "/api/v2/persons")) == 2
    list(connector.read_accounts(None, ReadReport()))  # a later pass reads them again, once
    assert sandbox.calls.count(("GET", "/api/v2/persons")) == 4
    off = list(make_connector(read_main_contacts=False).read_accounts(None, ReadReport()))
    assert not any(r.account.main_contact for r in off)
    assert sandbox.calls.count(("GET", "/api/v2/persons")) == 4
