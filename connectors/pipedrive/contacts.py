"""The main contact of each organization, for the CSM's task (issue #15 item 6).

A person carries its organization in `org_id`. One cursor-paged listing of persons
(`GET /api/v2/persons?sort_by=id`, 500 per page, 10 tokens a page: pipedrive-api.md section 3
"Pagination" and section 4) is read once per pass, lazily, on the first account that needs it, and
mapped by `org_id`; the person with the lowest id (the first one added) is the main contact. Asking
per organization (`?org_id=`) would cost a call per account. `read_main_contacts: false` saves it.
Only the text is kept: memory is bounded by the organizations with a person, not by the persons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connectors.pipedrive.client import PipedriveClient
from domain import ConnectorError
from domain.bounds import MAX_NAME_LENGTH

log = logging.getLogger(__name__)


def primary_email(person: Mapping[str, Any]) -> str:
    """v2 persons list `emails` as [{value, primary, label}]: the primary one, else the first."""
    emails = [
        e for e in person.get("emails") or [] if isinstance(e, Mapping) and str(e.get("value") or "").strip()
    ]
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return str(chosen.get("value")).strip() if chosen else ""


def person_text(person: Mapping[str, Any]) -> str | None:
    """`Name <email>`, the name or the email alone when one is missing, None when both are."""
    name = str(person.get("name") or "").strip()
    name = name or " ".join(str(person.get(f) or "").strip() for f in ("first_name", "last_name")).strip()
    email = primary_email(person)
    text = f"{name} <{email}>" if name and email else name or email
    return text[:MAX_NAME_LENGTH] or None


class PipedriveMainContacts:
    """Per connector: organization id -> main contact text, read on first use in a pass."""

    def __init__(self, client: PipedriveClient, enabled: bool = True) -> None:
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
        try:
            for person in self.client.pages("/api/v2/persons", {"sort_by": "id"}):
                if not isinstance(person, Mapping) or person.get("is_deleted") is True:
                    continue
                org, text = person.get("org_id"), person_text(person)
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
            if exc.status != 403:
                raise
            log.warning("Pipedrive refused listing persons (%s); tasks will not name a main contact", exc)
            self.enabled = False
        return by_org
