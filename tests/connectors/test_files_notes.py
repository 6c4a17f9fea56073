"""The file connector's notes table: conversations by account and date, bad rows skipped by row
number without their text, and a new note changes the cursor so an incremental pass hears it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connectors.base import ReadReport
from connectors.files.connector import FileConnector
from tests.connectors.test_files import folder

NOTES = """id,account_id,created_at,source,text
n1,a1,2026-10-20T09:30:00+00:00,call,"We need 5 more seats, the team is growing."
,a1,2026-09-01,email,Thanks for the invoice.
n3,a5,2026-10-30T10:00:00Z,note,"他们对术语表很感兴趣。"
n4,,2026-10-30,note,no account
n5,a1,yesterday,note,secret customer words
n6,a1,2026-10-30,fax,secret customer words
n7,a1,2026-10-30,note,
"""


def connector(tmp_path, notes=NOTES) -> FileConnector:
    data = folder(tmp_path)
    (data / "notes.csv").write_text(notes, encoding="utf-8")
    return FileConnector(data, tmp_path / "out")


def test_reads_conversations_of_the_asked_accounts_since_a_moment(tmp_path, caplog) -> None:
    files = connector(tmp_path)
    with caplog.at_level(logging.WARNING):
        everything = list(files.read_conversations(["a1", "a5"], None))
    assert [(c.id, c.account_id, c.source) for c in everything] == [
        ("n1", "a1", "call"),
        ("notes:3", "a1", "email"),
        ("n3", "a5", "note"),
    ]
    assert everything[0].created_at == datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
    assert everything[1].created_at == datetime(2026, 9, 1, tzinfo=UTC)  # a date alone is midnight UTC
    assert everything[2].text == "他们对术语表很感兴趣。"
    skipped = [r.getMessage() for r in caplog.records]
    assert skipped == [
        "notes row 5 skipped: no account_id",
        "notes row 6 skipped: created_at 'yesterday' is not an ISO date",
        "notes row 7 skipped: source 'fax' is not one of note, email, call",
        "notes row 8 skipped: no text",
    ]
    assert not any("secret" in message for message in skipped)
    recent = list(files.read_conversations(["a1"], datetime(2026, 10, 1, tzinfo=UTC)))
    assert [c.id for c in recent] == ["n1"]


def test_no_notes_table_means_no_conversations(tmp_path) -> None:
    files = FileConnector(folder(tmp_path), tmp_path / "out")
    assert list(files.read_conversations(["a1"], None)) == []


def test_a_new_note_changes_the_cursor(tmp_path) -> None:
    files = connector(tmp_path)
    list(files.read_accounts(None, ReadReport()))
    cursor = files.next_cursor()
    assert list(files.read_accounts(cursor, ReadReport())) == []
    with (files.data_dir / "notes.csv").open("a", encoding="utf-8") as handle:
        handle.write("n9,a1,2026-11-01,email,Do you offer SSO?\n")
    again = list(files.read_accounts(cursor, ReadReport()))
    assert {r.account.id for r in again} >= {"a1"}
