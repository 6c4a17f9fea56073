"""Sell notes and call summaries on an account's contact, as `Conversation`s.

Notes: `GET /v2/notes` filtered by `resource_type=contact`, `sort_by=created_at:desc`, `per_page`
up to 100 (filters and sort from the NotesService#where reference of the official client,
https://developer.zendesk.com/api-reference/sales-crm/resources/notes/); newest first, so a scan
stops at the first note older than `since`: an incremental pass reads only the new pages.
Calls: `GET /v2/calls` filtered by `resource_type=contact`; the text is the call's `summary`
(https://developer.zendesk.com/api-reference/sales-crm/resources/calls/). That list's order is not
in our reference, so it is scanned to its end and filtered on `made_at`; calls without a summary
say nothing and are skipped.

One scan per pass serves every chunk: the results are grouped by contact and kept for the pass,
so a pass costs (new notes + calls) / 100 requests, not one request per account.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.zendesk_sell.client import SellClient
from domain import Conversation

log = logging.getLogger(__name__)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _on_contact(record: Mapping[str, Any]) -> str | None:
    if record.get("resource_type") != "contact" or record.get("resource_id") in (None, ""):
        return None
    return str(record["resource_id"])


class SellConversations:
    def __init__(self, client: SellClient) -> None:
        self.client = client
        self._scanned: dict[datetime | None, dict[str, list[Conversation]]] = {}

    def read(self, account_ids: Sequence[str], since: datetime | None) -> Iterator[Conversation]:
        by_account = self._scanned.get(since)
        if by_account is None:
            by_account = self._scanned[since] = self._scan(since)
        for account_id in account_ids:
            yield from by_account.get(account_id, ())

    def _scan(self, since: datetime | None) -> dict[str, list[Conversation]]:
        found: dict[str, list[Conversation]] = defaultdict(list)
        for conversation in (*self._notes(since), *self._calls(since)):
            found[conversation.account_id].append(conversation)
        return found

    def _notes(self, since: datetime | None) -> Iterator[Conversation]:
        notes = self.client.collection(
            "/v2/notes", {"resource_type": "contact", "sort_by": "created_at:desc"}
        )
        for note in notes:
            if not isinstance(note, Mapping):
                continue
            created = _when(note.get("created_at"))
            if created is not None and since is not None and created < since:
                return  # newest first: everything after this is older still
            account_id, text = _on_contact(note), note.get("content")
            if account_id is None or created is None or not isinstance(text, str) or not text.strip():
                log.warning("Sell note %s skipped: needs a contact, created_at and content", note.get("id"))
                continue
            yield Conversation(
                id=f"note:{note.get('id')}",
                account_id=account_id,
                created_at=created,
                source="note",
                text=text,
            )

    def _calls(self, since: datetime | None) -> Iterator[Conversation]:
        for call in self.client.collection("/v2/calls", {"resource_type": "contact"}):
            if not isinstance(call, Mapping):
                continue
            made = _when(call.get("made_at"))
            account_id, text = _on_contact(call), call.get("summary")
            if account_id is None or made is None or not isinstance(text, str) or not text.strip():
                continue  # a call nobody summarised, or one not on a contact
            if since is not None and made < since:
                continue
            yield Conversation(
                id=f"call:{call.get('id')}", account_id=account_id, created_at=made, source="call", text=text
            )
