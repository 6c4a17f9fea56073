"""Reading from Pipedrive, API v2 wherever it exists (v1 endpoints of organizations, deals, products
and search are out of support since 2026-08-01; v1 stays only for users): pipedrive-api.md section 2.

- Organizations: `GET /api/v2/organizations`, cursor paging, `limit` up to 500; incremental passes add
  `updated_since` with `sort_by=update_time`.
- Field keys: `GET /api/v2/organizationFields` / `dealFields`, looked up by name each pass (renames
  keep the key; a new company has new keys).
- Our deals: `GET /api/v2/deals` *and* `GET /api/v2/deals/archived` (archived deals left the lists on
  2025-07-15 [ARCH]), asking only for our key field (`custom_fields=<key>`).
- Products owned: won deals (both lists, `status=won`) -> `GET /api/v2/deals/products?deal_ids=`
  (up to 100 deals a call).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.fields import FieldCatalog, as_id

DEAL_PRODUCTS_BATCH = 100


class PipedriveReader:
    def __init__(self, client: PipedriveClient) -> None:
        self.client = client

    def me(self) -> dict[str, Any]:
        return self.client.data("/v1/users/me") or {}

    def users(self) -> Iterator[Any]:
        return self.client.pages_v1("/v1/users")

    def organization_fields(self) -> FieldCatalog:
        return FieldCatalog(self.client.pages("/api/v2/organizationFields"))

    def deal_fields(self) -> FieldCatalog:
        return FieldCatalog(self.client.pages("/api/v2/dealFields"))

    def organizations(self, updated_since: str | None = None) -> Iterator[Any]:
        if updated_since is None:
            params: dict[str, Any] = {"sort_by": "id", "sort_direction": "asc"}
        else:
            params = {"updated_since": updated_since, "sort_by": "update_time", "sort_direction": "asc"}
        return self.client.pages("/api/v2/organizations", params)

    def deals(self, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Deals in the lists and in the archive (each read with the same filters)."""
        yield from self.client.pages("/api/v2/deals", params)
        yield from self.client.pages("/api/v2/deals/archived", params)

    def our_deals(self, key_code: str) -> Iterator[Any]:
        """Every deal, with only our key among its custom fields; the caller keeps the ones carrying
        a key. (A `filter_id` on "key is not empty" would list fewer; it needs a v1 filter first.)"""
        return self.deals({"custom_fields": key_code})

    def purchased_products(self) -> dict[str, frozenset[str]]:
        """org id -> names of the products on its won deals, archived ones included."""
        deal_org: dict[str, str] = {}
        for deal in self.deals({"status": "won"}):
            if isinstance(deal, Mapping) and as_id(deal.get("id")) and as_id(deal.get("org_id")):
                deal_org[str(as_id(deal["id"]))] = str(as_id(deal["org_id"]))
        owned: dict[str, set[str]] = defaultdict(set)
        deal_ids = sorted(deal_org, key=lambda d: (len(d), d))
        for start in range(0, len(deal_ids), DEAL_PRODUCTS_BATCH):
            batch = deal_ids[start : start + DEAL_PRODUCTS_BATCH]
            for line in self.client.pages("/api/v2/deals/products", {"deal_ids": ",".join(batch)}):
                if not isinstance(line, Mapping) or line.get("is_enabled") is False:
                    continue
                org = deal_org.get(str(as_id(line.get("deal_id"))))
                name = str(line.get("name") or "").strip()
                if org and name:
                    owned[org].add(name)
        return {org: frozenset(names) for org, names in owned.items()}

    def org_deal_ids(self, org_id: str, key: str, key_code: str) -> list[str]:
        """Ids of the organization's (listed, not archived) deals whose key field equals `key`."""
        found = []
        for deal in self.client.pages("/api/v2/deals", {"org_id": org_id, "custom_fields": key_code}):
            if isinstance(deal, Mapping) and (deal.get("custom_fields") or {}).get(key_code) == key:
                found.append(str(as_id(deal.get("id"))))
        return found

    def deal_activities(self, deal_id: str) -> Iterator[Any]:
        return self.client.pages("/api/v2/activities", {"deal_id": deal_id})

    def search_deal_ids(self, key: str) -> list[str]:
        """Ids of deals whose custom field equals `key`: `GET /api/v2/deals/search` with
        `fields=custom_fields&exact_match=true` (case-insensitive, so matches are compared exactly
        here when the item lists its matched values) [NODE][SPEC]."""
        envelope = (
            self.client.get(
                "/api/v2/deals/search",
                {"term": key, "fields": "custom_fields", "exact_match": "true", "limit": 100},
            )
            or {}
        )
        found: list[str] = []
        for entry in (envelope.get("data") or {}).get("items") or []:
            item = entry.get("item") if isinstance(entry, Mapping) else None
            if not isinstance(item, Mapping) or as_id(item.get("id")) is None:
                continue
            values = item.get("custom_fields")
            if isinstance(values, list) and values and key not in [str(v) for v in values]:
                continue
            found.append(str(as_id(item["id"])))
        return found
