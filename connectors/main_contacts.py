"""The main contact of each account, for the CSM's task (issue #15 item 6): what every CRM shares.

A CRM either names a contact's organisation on the person (Sell's `contact_id`, Pipedrive's
`org_id`) or associates them (HubSpot, connectors/hubspot/contacts.py). For the first kind, one
listing of persons per pass, read lazily on the first account that needs it, is mapped by
organisation; the person with the lowest id (the first added) is the main contact. Asking per
organisation would cost a call per account. Only the text is kept, so memory is bounded by the
organisations that have a person, not by the persons. A CRM that refuses the listing (no scope)
costs one warning: tasks then name no contact, and the pass goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from domain import ConnectorError
from domain.bounds import MAX_NAME_LENGTH

log = logging.getLogger(__name__)


def contact_text(name: str, email: str) -> str | None:
    """`Name <email>`, the name or the email alone when one is missing, None when both are."""
    name, email = name.strip(), email.strip()
    text = f"{name} <{email}>" if name and email else name or email
    return text[:MAX_NAME_LENGTH] or None


class MainContactsByOrganisation:
    """Per connector (a pass): organisation id -> main contact text, read on first use.

    `persons` lists the CRM's persons; `organisation_of` and `text_of` read one (None: skip it);
    `refused` are the statuses that mean "not allowed to list persons" rather than a failure."""

    def __init__(
        self,
        crm: str,
        persons: Callable[[], Iterable[Any]],
        organisation_of: Callable[[Mapping[str, Any]], object],
        text_of: Callable[[Mapping[str, Any]], str | None],
        enabled: bool = True,
        refused: tuple[int, ...] = (403,),
    ) -> None:
        self.crm, self.enabled, self.refused = crm, enabled, refused
        self._persons, self._organisation_of, self._text_of = persons, organisation_of, text_of
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
            for person in self._persons():
                if not isinstance(person, Mapping):
                    continue
                org, text = self._organisation_of(person), self._text_of(person)
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
            if exc.status not in self.refused:
                raise
            log.warning("%s refused listing persons (%s); tasks will not name a main contact", self.crm, exc)
            self.enabled = False
        return by_org
