"""The main contact of each organisation, for the CSM's task (issue #15 item 6).

Sell has no "main contact" field on an organisation; a person contact names its organisation in
`contact_id` (https://developer.zendesk.com/api-reference/sales-crm/resources/contacts/). One
listing of person contacts (`GET /v2/contacts?is_organization=false&sort_by=id`, 100 per page:
/work/shared/reference/zendesk-sell-api.md "Pagination" and "Filtering") is read once per pass,
lazily, on the first account that needs it, and mapped by `contact_id`; the person with the lowest
id (the oldest) is the main contact. Cost: one call per 100 person contacts per pass, never one
per organisation; `read_main_contacts: false` saves it. Only the text is kept, so memory is bounded
by the number of organisations with a person, not by the persons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connectors.zendesk_sell.client import SellClient
from domain import ConnectorError
from domain.bounds import MAX_NAME_LENGTH

log = logging.getLogger(__name__)


def person_text(person: Mapping[str, Any]) -> str | None:
    """`Name <email>`, the name or the email alone when one is missing, None when both are."""
    name = " ".join(str(person.get(f) or "").strip() for f in ("first_name", "last_name")).strip()
    name = name or str(person.get("name") or "").strip()
    email = str(person.get("email") or "").strip()
    text = f"{name} <{email}>" if name and email else name or email
    return text[:MAX_NAME_LENGTH] or None


class SellMainContacts:
    """Per connector (a pass): organisation id -> main contact text, read on first use."""

    def __init__(self, client: SellClient, enabled: bool = True) -> None:
        self.client = client
        self.enabled = enabled
        self._by_org: dict[str, tuple[int, str]] | None = None

    def of(self, account_id: str) -> str | None:
        if not self.enabled:
            return None
        if self._by_org is None:
            self._by_org = self._read()
        found = self._by_org.get(account_id)
        return found[1] if found else None

    def forget(self) -> None:
        """A new pass reads the persons again (they may have changed)."""
        self._by_org = None

    def _read(self) -> dict[str, tuple[int, str]]:
        by_org: dict[str, tuple[int, str]] = {}
        persons = self.client.collection("/v2/contacts", {"is_organization": "false", "sort_by": "id"})
        try:
            for person in persons:
                if not isinstance(person, Mapping) or person.get("is_organization") is True:
                    continue
                org, text = person.get("contact_id"), person_text(person)
                try:
                    person_id = int(person.get("id"))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    continue
                if org is None or text is None:
                    continue
                known = by_org.get(str(org))
                if known is None or person_id < known[0]:
                    by_org[str(org)] = (person_id, text)
        except ConnectorError as exc:
            if exc.status not in (401, 403):
                raise
            log.warning("Sell refused listing person contacts (%s); tasks will not name a main contact", exc)
            self.enabled = False
        return by_org
