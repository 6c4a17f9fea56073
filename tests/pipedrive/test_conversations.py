"""Notes on Pipedrive organizations as conversations: HTML stripped, the since-filter, one scan per
pass for every chunk, and a pass that hears a request for seats and says so in the activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.capabilities import ReadsConversations
from connectors.pipedrive.conversations import note_text
from tests.pipedrive.conftest import ConnectorFactory
from tests.sandboxes.pipedrive import PipedriveSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SEATS_NOTE = (
    "<p>Call with Sarah: the localisation team goes from 8 to 15 people in January and they will "
    "need logins for all of them.</p>"
)


def test_note_text_strips_tags_and_unescapes_entities() -> None:
    assert (
        note_text("<p>Hello&nbsp;<b>Tom</b> &amp; team</p><p>second<br/>line</p>")
        == "Hello\xa0Tom & team\nsecond\nline"
    )


def test_notes_are_read_per_organization_since_a_moment_in_one_scan(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory
) -> None:
    a, b = (sandbox.add_organization(name)["id"] for name in ("Alpha", "Beta"))
    old = sandbox.add_note(a, "<p>old news</p>", NOW - timedelta(days=60))
    recent = sandbox.add_note(a, "<p>We want <i>more</i> seats</p>", NOW - timedelta(days=3))
    sandbox.add_note(b, "<div>Beta asked about analytics</div>", NOW - timedelta(days=1))
    sandbox.add_note(None, "<p>a note on a person only</p>", NOW - timedelta(days=1))
    sandbox.add_note(a, "   ", NOW - timedelta(days=2))  # says nothing
    connector = make_connector()
    assert isinstance(connector, ReadsConversations)

    since = NOW - timedelta(days=30)
    first = list(connector.read_conversations([str(a)], since))
    second = list(connector.read_conversations([str(b), "999"], since))
    assert [(c.id, c.account_id, c.source, c.text) for c in first] == [
        (f"note:{recent['id']}", str(a), "note", "We want more seats")
    ]
    assert first[0].created_at == NOW - timedelta(days=3)
    assert [c.text for c in second] == ["Beta asked about analytics"]
    assert sandbox.calls.count(("GET", "/v1/notes")) == 1  # one scan served both chunks
    everything = {c.id for c in connector.read_conversations([str(a), str(b)], None)}
    assert f"note:{old['id']}" in everything and len(everything) == 3


def test_a_pipedrive_pass_hears_a_request_for_seats(
    sandbox: PipedriveSandbox, make_connector: ConnectorFactory, tmp_path: Path
) -> None:
    sandbox.define_account_fields()
    fields = {
        "plan": sandbox.option_id("organization", "plan", "Team"),
        "plan_rank": 1,
        "seats_purchased": 10,
        "seats_used": 10,
        "active_users": 10,
        "mrr": {"value": 350, "currency": "USD"},
        "nps": 9,
        "csat": 4.6,
        "customer_since": "2023-03-01",
        "contract_end_date": "2027-06-30",
        "open_escalations": 0,
    }
    when = NOW - timedelta(days=2)
    heard = [sandbox.add_organization(f"Heard {i}", fields=dict(fields), when=when)["id"] for i in range(8)]
    silent = [sandbox.add_organization(f"Silent {i}", fields=dict(fields), when=when)["id"] for i in range(8)]
    for org in heard:
        sandbox.add_note(org, SEATS_NOTE, NOW - timedelta(days=4))

    settings = Settings(database_url=f"sqlite:///{tmp_path}/ledger.db", output_dir=tmp_path)
    report = run_pass(settings, crm="pipedrive", connector=make_connector(), now=NOW)
    assert report.deals_created > 0
    seat_deals = {d["org_id"]: d for d in sandbox.deals.values() if "seat" in d["title"].lower()}
    heard_offers = [org for org in heard if org in seat_deals]
    assert heard_offers, "no account that asked for seats got a seat offer"
    notes = {a["org_id"]: a["note"] for a in sandbox.activities.values()}
    for org in heard_offers:
        assert "localisation team goes from 8 to 15 people" in notes[org]
    for org in silent:
        assert "In their words" not in notes.get(org, "")
