"""The main contact of each organization, for the CSM's task (issue #15 item 6).

A person carries its organization in `org_id`. One cursor-paged listing of persons
(`GET /api/v2/persons?sort_by=id`, 500 per page, 10 tokens a page: pipedrive-api.md section 3
"Pagination" and section 4) is read once per pass, lazily, on the first account that needs it, and
mapped by `org_id`; the person with the lowest id (the first one added) is the main contact. Asking
per organization (`?org_id=`) would cost a call per account. `read_main_contacts: false` saves it.
Only the text is kept: memory is bounded by the organizations with a person, not by the persons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.main_contacts import MainContactsByOrganisation, contact_text
from connectors.pipedrive.client import PipedriveClient


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
    return contact_text(name, primary_email(person))


def _organisation(person: Mapping[str, Any]) -> object:
    return None if person.get("is_deleted") is True else person.get("org_id")


def main_contacts(client: PipedriveClient, enabled: bool = True) -> MainContactsByOrganisation:
    """Organization id -> main contact, from one listing of persons per pass."""
    return MainContactsByOrganisation(
        "Pipedrive",
        lambda: client.pages("/api/v2/persons", {"sort_by": "id"}),
        _organisation,
        person_text,
        enabled,
        refused=(403,),
    )
