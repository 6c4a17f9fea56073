"""HubSpot notes, emails and calls associated with companies, as `Conversation`s (issue #13).

How they are read, per engagement type (notes, emails, calls), once per pass and `since`:
1. `POST /crm/objects/2026-03/{notes|emails|calls}/search` filtered on `hs_timestamp GTE since` OR
   `hs_lastmodifieddate GTE since` (two filter groups: what happened since then, and what was
   logged since then about something earlier; the listener drops what is older than its window),
   keyset paging on hs_object_id, 200 per page (connectors.hubspot.paging.iter_search_any). Search is
   exempt from the ten-secondly budget (`x-hubspot-rate-limit-exemptions: ["ten-secondly"]` in
   PublicApiSpecs/CRM/{Notes,Emails,Calls}/Rollouts/424/2026-03/*.json) and keeps its own
   per-second limiter; the scope is `crm.objects.contacts.read` in those files.
2. `POST /crm/associations/2026-03/{type}/companies/batch/read` with each page's ids, 100 per call
   (PublicApiSpecs/CRM/Associations/Rollouts/130902/2026-03/associations.json; also exempt).
So a pass costs (engagements since `since`) / 200 searches plus / 100 association reads, whatever
the number of companies, and none of it spends the burst budget the writes need. An incremental
pass also asks which companies said something new (`accounts_heard_since`): the same scan filtered
on `hs_lastmodifieddate` (when it was logged or edited) rather than `hs_timestamp` (when it happened,
which a CSM may backdate: a call logged today about last Tuesday is still news today).

Text (https://developers.hubspot.com/docs/api/crm/notes, .../emails, .../calls): a note's
`hs_note_body`, an email's `hs_email_subject` + `hs_email_text` (or `hs_email_html` when no text
part), a call's `hs_call_title` + `hs_call_body`; bodies are HTML in HubSpot, so tags are
stripped and entities decoded. `hs_timestamp` is when it happened.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from connectors.hubspot import mapping, paging
from connectors.hubspot.client import HubSpotClient
from domain import Conversation
from domain.conversation import ConversationSource

log = logging.getLogger(__name__)

ASSOCIATION_BATCH = 100  # hubspot-api.md "Batch read limits": 100 is the safe size

# engagement object type -> (Conversation.source, properties to read)
ENGAGEMENTS: dict[str, tuple[ConversationSource, tuple[str, ...]]] = {
    "notes": ("note", ("hs_timestamp", "hs_note_body")),
    "emails": ("email", ("hs_timestamp", "hs_email_subject", "hs_email_text", "hs_email_html")),
    "calls": ("call", ("hs_timestamp", "hs_call_title", "hs_call_body")),
}

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(value: str) -> str:
    """Plain text of an HTML body: tags dropped, entities decoded, block ends kept as line breaks
    (the detector splits sentences on them), runs of spaces collapsed."""
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.parts))
    return _BLANK_LINES.sub("\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def engagement_text(object_type: str, properties: Mapping[str, Any]) -> str:
    """The words of one engagement, or "" when it has none."""

    def prop(name: str) -> str:
        value = properties.get(name)
        return strip_html(value) if isinstance(value, str) else ""

    if object_type == "notes":
        parts = [prop("hs_note_body")]
    elif object_type == "emails":
        parts = [prop("hs_email_subject"), prop("hs_email_text") or prop("hs_email_html")]
    else:
        parts = [prop("hs_call_title"), prop("hs_call_body")]
    return "\n".join(p for p in parts if p)


class HubSpotConversations:
    """One scan per `since` per pass, grouped by company, served to every chunk that asks."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._scanned: dict[tuple[str, datetime | None], dict[str, list[Conversation]]] = {}

    def read(self, account_ids: Sequence[str], since: datetime | None) -> Iterator[Conversation]:
        by_company = self._by_company("hs_timestamp", since)
        for account_id in dict.fromkeys(str(a) for a in account_ids):
            yield from by_company.get(account_id, ())

    def accounts_heard_since(self, since: datetime) -> list[str]:
        """Companies with at least one engagement since `since`: an incremental pass re-scores them
        even when their company record did not change."""
        return sorted(self._by_company("hs_lastmodifieddate", since))

    def _by_company(self, field: str, since: datetime | None) -> dict[str, list[Conversation]]:
        found = self._scanned.get((field, since))
        if found is None:
            found = self._scanned[(field, since)] = self._scan(field, since)
        return found

    def _scan(self, field: str, since: datetime | None) -> dict[str, list[Conversation]]:
        found: dict[str, list[Conversation]] = defaultdict(list)
        for object_type in ENGAGEMENTS:
            for conversation in self._engagements(object_type, field, since):
                found[conversation.account_id].append(conversation)
        return dict(found)

    def _engagements(self, object_type: str, field: str, since: datetime | None) -> Iterator[Conversation]:
        source, properties = ENGAGEMENTS[object_type]
        if since is None:
            groups = [[{"propertyName": field, "operator": "HAS_PROPERTY"}]]
        else:
            groups = [[{"propertyName": field, "operator": "GTE", "value": mapping.to_epoch_ms(since)}]]
            if field == "hs_timestamp":  # or logged since then, about something earlier (backdated)
                groups.append(
                    [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": mapping.to_epoch_ms(since),
                        }
                    ]
                )
        for page in paging.iter_search_any(self.client, object_type, groups, properties):
            for start in range(0, len(page), ASSOCIATION_BATCH):
                batch = page[start : start + ASSOCIATION_BATCH]
                companies = self._companies_of(object_type, [str(e["id"]) for e in batch])
                for engagement in batch:
                    yield from self._as_conversations(object_type, source, engagement, companies)

    def _as_conversations(
        self,
        object_type: str,
        source: ConversationSource,
        engagement: Mapping[str, Any],
        companies: Mapping[str, list[str]],
    ) -> Iterator[Conversation]:
        engagement_id = str(engagement["id"])
        properties = engagement.get("properties") or {}
        said_at = mapping.parse_datetime(properties.get("hs_timestamp"))
        text = engagement_text(object_type, properties)
        if said_at is None or not text:
            log.info("HubSpot %s %s skipped: no hs_timestamp or no text", object_type, engagement_id)
            return
        for company_id in companies.get(engagement_id, ()):
            yield Conversation(
                id=f"{source}:{engagement_id}",
                account_id=company_id,
                created_at=said_at,
                source=source,
                text=text,
            )

    def _companies_of(self, object_type: str, ids: list[str]) -> dict[str, list[str]]:
        """engagement id -> associated company ids. Engagements with no company come back as
        per-item errors of a 207, which is not a failure: they are simply on no company."""
        body = self.client.association_batch_read(object_type, "companies", ids) or {}
        return {
            str(row["from"]["id"]): [str(t["toObjectId"]) for t in row.get("to") or []]
            for row in body.get("results") or []
        }
