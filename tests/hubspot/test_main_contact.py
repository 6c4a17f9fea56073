"""The task names the company's main contact (issue #15 item 6), read in 2 calls per page of companies."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from connectors.base import ReadReport
from connectors.hubspot import mapping
from connectors.hubspot.contacts import choose_contacts, contact_text
from tests.hubspot.conftest import TOKEN, connector_for, install, seed_companies
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.sandboxes.hubspot import ALL_SCOPES, ASSOCIATIONS, OBJECTS, HubSpotSandbox
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

ASSOC_READ = ASSOCIATIONS + "/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/read"
BATCH_READ = OBJECTS + "/(?P<type>[^/]+)/batch/read"
PRIMARY, UNLABELED = 1, 279  # contact -> company (the sandbox adds 2 / 280 the other way)


def contact(box: HubSpotSandbox, company: str, type_id: int, **props: str) -> str:
    contact_id = box.add_record("contacts", props)
    box.associate("contacts", contact_id, company, type_id)
    return contact_id


def test_contact_text_and_choice_follow_the_documented_shapes() -> None:
    assert contact_text({"firstname": "Ada", "lastname": "Byron", "email": "ada@example.com"}) == (
        "Ada Byron <ada@example.com>"
    )
    assert contact_text({"firstname": "Ada", "lastname": None}) == "Ada"
    assert contact_text({"email": " ada@example.com "}) == "ada@example.com"
    assert contact_text({"firstname": " ", "email": ""}) is None
    body = {
        "results": [
            {
                "from": {"id": "7"},
                "to": [
                    {"toObjectId": 3, "associationTypes": [{"typeId": 280, "label": None}]},
                    {"toObjectId": 9, "associationTypes": [{"typeId": 2, "label": "Primary"}]},
                    {"toObjectId": 5, "associationTypes": [{"typeId": 2, "label": "Primary"}]},
                ],
            },
            {"from": {"id": "8"}, "to": [{"toObjectId": 4, "associationTypes": [{"typeId": 280}]}]},
        ]
    }
    assert choose_contacts(body) == {"7": "5", "8": "4"}  # primary first, then lowest id


def test_a_pass_names_the_main_contact_in_the_written_task(sandbox: HubSpotSandbox, tmp_path: Path) -> None:
    install(sandbox)
    ids = seed_sample(sandbox, 60, modified_ms=int(time.time() * 1000) - 2 * 86_400_000)
    with_contact = set(ids[::2])
    for company in with_contact:
        contact(sandbox, company, UNLABELED, firstname="Zed", lastname="Other", email="zed@example.com")
        contact(sandbox, company, PRIMARY, firstname="Ada", lastname="Byron", email="ada@example.com")
    settings = Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path / 'l.db'}", output_dir=tmp_path / "o")
    result = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=sample_as_of())
    assert result.tasks_created > 0 and not result.write_errors
    named = unnamed = 0
    for task in sandbox.records("tasks"):
        body = task["properties"]["hs_task_body"]
        (company,) = sandbox.associated("tasks", task["id"], "companies")
        if company in with_contact:
            # hs_task_body is HTML: the angle brackets arrive escaped, the text as the CSM reads it
            assert "Main contact: Ada Byron &lt;ada@example.com&gt;" in body and "Zed" not in body
            named += 1
        else:
            assert "Main contact" not in body
            unnamed += 1
        assert mapping.marker_key(body) is not None
    assert named and unnamed


def test_extra_calls_are_two_per_page_of_companies(sandbox: HubSpotSandbox) -> None:
    ids = seed_companies(sandbox, 250)
    for company in ids[::3]:
        contact(sandbox, company, PRIMARY, firstname="Ada", lastname="Byron", email="ada@example.com")
    records = list(connector_for(sandbox).read_accounts(None, ReadReport()))
    named = {r.account.id: r.account.main_contact for r in records if r.account.main_contact}
    assert named == dict.fromkeys(ids[::3], "Ada Byron <ada@example.com>")
    assert sandbox.calls_by_route[OBJECTS + "/(?P<type>[^/]+)"] == 3  # 3 pages of companies
    assert sandbox.calls_by_route[ASSOC_READ] == 3 and sandbox.calls_by_route[BATCH_READ] == 3


def test_no_contact_on_a_page_costs_no_contacts_read(sandbox: HubSpotSandbox) -> None:
    seed_companies(sandbox, 120)
    records = list(connector_for(sandbox).read_accounts(None, ReadReport()))
    assert len(records) == 120 and not any(r.account.main_contact for r in records)
    assert sandbox.calls_by_route[ASSOC_READ] == 2 and BATCH_READ not in sandbox.calls_by_route
    off = connector_for(sandbox, read_main_contacts=False)
    list(off.read_accounts(None, ReadReport()))
    assert sandbox.calls_by_route[ASSOC_READ] == 2  # turned off: no call


def test_a_refused_contacts_scope_warns_and_the_read_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    scopes = ALL_SCOPES - {"crm.objects.contacts.read"}
    with HubSpotSandbox(token=TOKEN, scopes=scopes, burst_limit=10_000, burst_window=1.0) as box:
        ids = seed_companies(box, 150)
        contact(box, ids[0], PRIMARY, firstname="Ada", email="ada@example.com")
        connector = connector_for(box)
        with caplog.at_level(logging.WARNING):
            records = list(connector.read_accounts(None, ReadReport()))
        assert len(records) == 150 and not any(r.account.main_contact for r in records)
        assert connector.client.stats.by_status[403] == 1  # refused once, then off for the pass
        assert box.calls_by_route[ASSOC_READ] == 1
        assert "crm.objects.contacts.read" in caplog.text
