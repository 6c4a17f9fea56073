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

from collections.abc import Mapping
from typing import Any

from connectors.main_contacts import MainContactsByOrganisation, contact_text
from connectors.zendesk_sell.client import SellClient


def person_text(person: Mapping[str, Any]) -> str | None:
    """`Name <email>`, the name or the email alone when one is missing, None when both are."""
    name = " ".join(str(person.get(f) or "").strip() for f in ("first_name", "last_name")).strip()
    name = name or str(person.get("name") or "").strip()
    return contact_text(name, str(person.get("email") or ""))


def _organisation(person: Mapping[str, Any]) -> object:
    return None if person.get("is_organization") is True else person.get("contact_id")


def main_contacts(client: SellClient, enabled: bool = True) -> MainContactsByOrganisation:
    """Organisation id -> main contact, from one listing of person contacts per pass."""
    return MainContactsByOrganisation(
        "Sell",
        lambda: client.collection("/v2/contacts", {"is_organization": "false", "sort_by": "id"}),
        _organisation,
        person_text,
        enabled,
        refused=(401, 403),
    )
