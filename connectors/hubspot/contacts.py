"""The main contact of each company on a page, for the CSM's task (issue #15 item 6).

Two calls per page of up to 100 companies, never one per company:
1. POST associations/companies/contacts/batch/read (v4 or 2026-03 path): each company's contacts with
   their association types. Outside the ten-secondly budget like every association batch call
   (connectors/hubspot/paths.py).
2. POST objects/contacts/batch/read for the chosen ids with firstname, lastname, email; under the
   burst budget like any batch read. Skipped when no company on the page has a contact.

Which contact: HubSpot has no "main contact of a company" field. The HUBSPOT_DEFINED company->contact
type 2 ("Primary"; 280 is the unlabeled one) marks contacts whose primary company this is; we take
the lowest contact id among those, else the lowest id of any associated contact. Type ids, not labels:
HubSpot renamed the primary labels in 2024 and says only typeId is stable
(https://developers.hubspot.com/changelog/changes-to-primary-labels-for-hubspot-defined-association-labels).
Both scopes (companies.read, contacts.read) are ones the connector already requires, so no setup change;
still, a 403 here turns main contacts off for the pass with one warning instead of failing the read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.main_contacts import contact_text as text_of
from domain import ConnectorError

log = logging.getLogger(__name__)

COMPANY_TO_CONTACT_PRIMARY = 2
CONTACT_PROPERTIES = ["firstname", "lastname", "email"]


def contact_text(properties: Mapping[str, Any]) -> str | None:
    """`Name <email>`, the name or the email alone when one is missing, None when both are."""
    name = " ".join(str(properties.get(p) or "").strip() for p in ("firstname", "lastname")).strip()
    return text_of(name, str(properties.get("email") or ""))


def choose_contacts(association_body: Mapping[str, Any]) -> dict[str, str]:
    """company id -> chosen contact id, from an association batch read's `results`."""
    chosen: dict[str, str] = {}
    for row in association_body.get("results") or []:
        company = str((row.get("from") or {}).get("id") or "")
        primary: list[int] = []
        other: list[int] = []
        for target in row.get("to") or []:
            contact = target.get("toObjectId")
            if contact is None:
                continue
            types = {t.get("typeId") for t in target.get("associationTypes") or []}
            (primary if COMPANY_TO_CONTACT_PRIMARY in types else other).append(int(contact))
        pick = min(primary) if primary else (min(other) if other else None)
        if company and pick is not None:
            chosen[company] = str(pick)
    return chosen


class MainContacts:
    """Per connector (a pass): reads main contacts page by page; off after a refused scope."""

    def __init__(self, client: HubSpotClient, enabled: bool = True) -> None:
        self.client = client
        self.enabled = enabled

    def for_companies(self, company_ids: Sequence[str]) -> dict[str, str]:
        """company id -> `Name <email>` for those with a usable main contact (<= 100 ids per call)."""
        ids = list(dict.fromkeys(str(c) for c in company_ids if c))
        if not self.enabled or not ids:
            return {}
        try:
            associations = self.client.association_batch_read("companies", "contacts", ids) or {}
            chosen = choose_contacts(associations)
            if not chosen:
                return {}
            contact_ids = sorted(set(chosen.values()), key=int)
            body = self.client.batch_read(
                "contacts", contact_ids, CONTACT_PROPERTIES, endpoint="contacts.main"
            )
        except ConnectorError as exc:
            if exc.status != 403:
                raise
            self.enabled = False
            log.warning(
                "HubSpot refused reading contacts (%s); tasks will not name a main contact this pass. "
                "Grant crm.objects.contacts.read (oppworker hubspot setup lists it)",
                exc,
            )
            return {}
        texts = {
            str(c.get("id")): text
            for c in (body or {}).get("results") or []
            if (text := contact_text(c.get("properties") or {}))
        }
        return {company: texts[contact] for company, contact in chosen.items() if contact in texts}
