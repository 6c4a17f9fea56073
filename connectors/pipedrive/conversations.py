"""Pipedrive notes on organizations, as plain-text `Conversation`s (connectors.capabilities.ReadsConversations).

Notes are v1 only: `GET /v1/notes` (20 tokens a page) with `org_id`, `deal_id`, `person_id`, `start`,
`limit` (max 500), `sort` (`add_time DESC`) and, since 2026-01-30, `updated_since` (RFC 3339)
(pipedrive-api.md section 3 "Notes (v1)" [NODE][NODE-CL]). A note's `content` is HTML ("subject to
sanitization"), so tags become line breaks and entities are unescaped before a playbook reads it.

One scan per pass serves every chunk, as Sell's does: one request per `org_id` would cost 20 tokens
an organization (100,000 tokens for 5,000 accounts, more than a Lite seat's whole day), while one
listing of every note changed since the last pass costs 20 tokens per 500 notes. `updated_since`
returns every note *created* since then too (a new note's update time is its add time); a note only
edited since is dropped by its `add_time`, so an old note is not heard twice.
"""

from __future__ import annotations

import html
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.fields import as_id, parse_datetime
from domain import Conversation

log = logging.getLogger(__name__)
_BLOCK_END = re.compile(r"<br\s*/?>|</p>|</div>|</li>|</h[1-6]>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"[ \t\r\f\v]+")


def note_text(content: str) -> str:
    """The words of a note's sanitized HTML: block ends become line breaks, tags go, entities unescape."""
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", content)))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _org_of(note: Mapping[str, Any]) -> str | None:
    org = note.get("org_id")
    if isinstance(org, Mapping):  # some v1 payloads nest {value, name}
        org = org.get("value")
    return as_id(org)


def _added(note: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_datetime(note.get("add_time"))  # "YYYY-MM-DD HH:MM:SS", UTC
    except ValueError:
        return None


class PipedriveConversations:
    def __init__(self, client: PipedriveClient) -> None:
        self.client = client
        self._scanned: dict[datetime | None, dict[str, list[Conversation]]] = {}

    def read(self, account_ids: Sequence[str], since: datetime | None) -> Iterator[Conversation]:
        by_org = self._scanned.get(since)
        if by_org is None:
            by_org = self._scanned[since] = self._scan(since)
        for account_id in account_ids:
            yield from by_org.get(account_id, ())

    def forget(self) -> None:
        """A new pass reads afresh."""
        self._scanned.clear()

    def _scan(self, since: datetime | None) -> dict[str, list[Conversation]]:
        params: dict[str, Any] = {"sort": "add_time DESC"}
        if since is not None:
            params["updated_since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found: dict[str, list[Conversation]] = defaultdict(list)
        for note in self.client.pages_v1("/v1/notes", params):
            if not isinstance(note, Mapping) or note.get("active_flag") is False:
                continue
            org, added, content = _org_of(note), _added(note), note.get("content")
            if org is None:
                continue  # a note on a person or deal only: not an account's conversation
            if added is None or not isinstance(content, str):
                log.warning("Pipedrive note %s skipped: needs add_time and content", note.get("id"))
                continue
            if since is not None and added < since:
                continue  # edited since, written before: already heard
            text = note_text(content)
            if text:
                found[org].append(
                    Conversation(
                        id=f"note:{note.get('id')}",
                        account_id=org,
                        created_at=added,
                        source="note",
                        text=text,
                    )
                )
        return found
