"""The file connector's `notes` table: what customers told their CSM, as `Conversation`s.

Columns: `account_id`, `created_at` (ISO date or date-time; UTC when no offset), `source` (`note`,
`email` or `call`; blank means `note`), `text`, and optionally `id` (else `notes:<row>`). A bad row
is skipped and logged by row number and reason, never by its text, which may hold personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.files.tables import find_table, read_rows
from domain import Conversation

log = logging.getLogger(__name__)

SOURCES = ("note", "email", "call")


def _when(value: Any) -> datetime | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def conversation_from_row(number: int, row: dict[str, Any]) -> Conversation | str:
    """The row as a Conversation, or the reason it cannot be one."""
    account_id = str(row.get("account_id") or "").strip()
    text = row.get("text")
    created_at = _when(row.get("created_at"))
    source = str(row.get("source") or "note").strip().lower()
    if not account_id:
        return "no account_id"
    if created_at is None:
        return f"created_at {str(row.get('created_at'))[:40]!r} is not an ISO date"
    if source not in SOURCES:
        return f"source {source[:20]!r} is not one of {', '.join(SOURCES)}"
    if not isinstance(text, str) or not text.strip():
        return "no text"
    ident = str(row.get("id") or "").strip() or f"notes:{number}"
    return Conversation(id=ident, account_id=account_id, created_at=created_at, source=source, text=text)  # type: ignore[arg-type]


def read_notes(
    folder: Path, account_ids: Sequence[str] | None, since: datetime | None
) -> Iterator[Conversation]:
    """Notes on these accounts (all when None) created at or after `since`, in file order."""
    path = find_table(folder, "notes")
    if path is None:
        return
    wanted = None if account_ids is None else set(account_ids)
    for number, row in read_rows(path):
        found = conversation_from_row(number, row)
        if isinstance(found, str):
            log.warning("notes row %d skipped: %s", number, found)
            continue
        if wanted is not None and found.account_id not in wanted:
            continue
        if since is not None and found.created_at < since:
            continue
        yield found
