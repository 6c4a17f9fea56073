"""Streaming reads: list cursors, and search windowed on hs_object_id past the 10,000-result cap.

Pages are yielded one at a time so a pass never holds every record in memory.

Search windowing (https://developers.hubspot.com/docs/api/crm/search, "Limitations": a query returns
at most 10,000 results; paging past them is an HTTP 400). Sorting on `hs_object_id` ascending and
asking every page as a fresh query `hs_object_id GT <last id seen>` (keyset paging) never reaches the
cap, and never skips a record when another one leaves the result set mid-read (see iter_search).
Windowing on the timestamp instead loops forever when more than 10,000 records share one
`hs_lastmodifieddate` (a bulk import): airbytehq/airbyte#43317, fixed the same way in PR #44899.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.hubspot.client import HubSpotClient


def iter_list(client: HubSpotClient, object_type: str, properties: Sequence[str]) -> Iterator[list[dict]]:
    """Every page of GET /crm/v3/objects/{type}, following paging.next.after until it ends."""
    after: str | None = None
    while True:
        body = client.list_page(object_type, properties, after)
        yield list(body.get("results") or [])
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def iter_history(client: HubSpotClient, object_type: str, properties: Sequence[str]) -> Iterator[list[dict]]:
    """Every page (50 records) of the list with `propertiesWithHistory`."""
    after: str | None = None
    while True:
        body = client.history_page(object_type, properties, after)
        yield list(body.get("results") or [])
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def iter_owner_pages(client: HubSpotClient) -> Iterator[list[dict]]:
    after: str | None = None
    while True:
        body = client.owners_page(after)
        yield list(body.get("results") or [])
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def iter_search(
    client: HubSpotClient,
    object_type: str,
    filters: Sequence[Mapping[str, Any]],
    properties: Sequence[str],
) -> Iterator[list[dict]]:
    """Every record matching `filters` (ANDed), in hs_object_id order, 200 per page, any count.

    Keyset paging: every page is a fresh query `hs_object_id GT <last id seen>` from offset 0, never
    an offset into the previous result. Offsets shift when a record leaves the result set while we
    page (an incremental pass filters on hs_lastmodifieddate < run start, so a company edited during
    the pass drops out): the record after the page boundary would be skipped, and as it was modified
    before the new cursor, no later incremental pass would see it either. Keyset paging costs the
    same one call per page, and no query ever reaches the 10,000-result cap.

    One filter group: HubSpot allows a few groups of a few filters (5 x 6, 18 in all per the current
    docs); we use at most 4 filters in one group, plus the id filter.
    """
    return iter_search_any(client, object_type, [filters], properties)


def iter_search_any(
    client: HubSpotClient,
    object_type: str,
    groups: Sequence[Sequence[Mapping[str, Any]]],
    properties: Sequence[str],
) -> Iterator[list[dict]]:
    """`iter_search` over records matching any of `groups` (filter groups are ORed, the filters in
    one group ANDed); the keyset filter is added to every group."""
    page_size = client.settings.search_page_size
    last_id: int | None = None
    while True:
        window_groups = []
        for filters in groups:
            window_filters = list(filters)
            if last_id is not None:
                window_filters.append(
                    {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)}
                )
            window_groups.append({"filters": window_filters})
        body = {
            "filterGroups": window_groups,
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": page_size,
            "after": "0",
        }
        page = client.search_page(object_type, body)
        results = list(page.get("results") or [])
        if results:
            yield results
            last_id = int(results[-1]["id"])
        if not results or not ((page.get("paging") or {}).get("next") or {}).get("after"):
            return
