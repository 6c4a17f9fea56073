"""Sell notes and call summaries on the account's contact become conversations: one scan per
pass, newest notes first so a pass with a `since` stops paging at the first older note."""

from __future__ import annotations

from datetime import UTC, datetime

from domain import Conversation

SINCE = datetime(2026, 10, 1, tzinfo=UTC)


def seed(sandbox):
    acme = sandbox.add_organization("Acme GmbH")
    other = sandbox.add_organization("Other BV")
    person = sandbox.add_person("Pat", "Doe", contact_id=acme["id"])
    sandbox.add_note(acme["id"], "Sie brauchen fünf weitere Lizenzen.", created_at="2026-10-20T09:00:00Z")
    sandbox.add_note(acme["id"], "Old note from the summer.", created_at="2026-06-01T09:00:00Z")
    sandbox.add_note(other["id"], "We are evaluating Lokalise.", created_at="2026-10-25T09:00:00Z")
    sandbox.add_note(
        acme["id"],
        "Deal-level note.",
        created_at="2026-10-26T09:00:00Z",
        resource_type="deal",
        resource_id=77,
    )
    sandbox.add_phone_call(
        acme["id"], "Asked what the Business plan includes.", made_at="2026-10-22T15:00:00Z"
    )
    sandbox.add_phone_call(acme["id"], None, made_at="2026-10-23T15:00:00Z")  # no summary: nothing said
    sandbox.add_phone_call(other["id"], "Call from last spring.", made_at="2026-04-02T15:00:00Z")
    return acme, other, person


def test_notes_and_call_summaries_on_the_contacts_since_a_moment(sandbox, make_connector) -> None:
    acme, other, _ = seed(sandbox)
    connector = make_connector()
    found = list(connector.read_conversations([str(acme["id"]), str(other["id"])], SINCE))
    by_id = {c.id: c for c in found}
    note_ids, call_ids = sorted(sandbox.notes), sorted(sandbox.phone_calls)
    assert set(by_id) == {f"note:{note_ids[0]}", f"note:{note_ids[2]}", f"call:{call_ids[0]}"}
    call = by_id[f"call:{call_ids[0]}"]
    assert call == Conversation(
        id=call.id,
        account_id=str(acme["id"]),
        source="call",
        created_at=datetime(2026, 10, 22, 15, tzinfo=UTC),
        text="Asked what the Business plan includes.",
    )
    assert by_id[f"note:{note_ids[0]}"].text == "Sie brauchen fünf weitere Lizenzen."


def test_requests_follow_the_reference_and_one_scan_serves_every_chunk(sandbox, make_connector) -> None:
    acme, other, _ = seed(sandbox)
    sandbox.add_note(other["id"], "Spring kickoff.", created_at="2026-05-01T09:00:00Z")  # a third page exists
    seen: list[tuple[str, dict[str, str]]] = []
    sandbox.server.before.insert(
        0, lambda request: seen.append((request.path, {k: v[0] for k, v in request.query.items()}))
    )
    connector = make_connector(per_page=2)
    first = list(connector.read_conversations([str(acme["id"])], SINCE))
    second = list(connector.read_conversations([str(other["id"])], SINCE))
    assert {c.account_id for c in first} == {str(acme["id"])} and {c.account_id for c in second} == {
        str(other["id"])
    }
    notes = [q for path, q in seen if path == "/v2/notes"]
    calls = [q for path, q in seen if path == "/v2/calls"]
    assert notes == [
        {"resource_type": "contact", "sort_by": "created_at:desc", "per_page": "2", "page": "1"},
        {"resource_type": "contact", "sort_by": "created_at:desc", "per_page": "2", "page": "2"},
    ]  # 5 notes newest first, 2 a page: page 2 ends with one older than SINCE, so page 3 is never asked for
    assert calls == [
        {"resource_type": "contact", "per_page": "2", "page": "1"},
        {"resource_type": "contact", "per_page": "2", "page": "2"},
    ]


def test_without_since_every_note_and_summarised_call_is_read(sandbox, make_connector) -> None:
    acme, *_ = seed(sandbox)
    texts = {c.text for c in make_connector().read_conversations([str(acme["id"])], None)}
    assert texts == {
        "Sie brauchen fünf weitere Lizenzen.",
        "Old note from the summer.",
        "Asked what the Business plan includes.",
    }
