"""Owned products from the line items of closed-won deals (`products_source: line_items`).

For portals that record what a customer bought as deal line items rather than in a company property.
Builds, once per pass, an index company id -> product codes:
1. search deals with `hs_is_closed_won = true` (200 per page, windowed like every search);
2. per 100 of those deals, v4 batch-read their company and line-item associations;
3. batch-read the line items' product property (`hs_sku` by default: the product code; `name` or
   `hs_product_id` also work), 100 per call.
The index holds ids and codes only, not records; a company without won deals owns nothing.
Line items: https://developers.hubspot.com/docs/api/crm/line-items; associations v4 batch read:
https://developers.hubspot.com/docs/api/crm/associations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from connectors.hubspot import paging
from connectors.hubspot.client import HubSpotClient


def _targets(client: HubSpotClient, to_type: str, deal_ids: Sequence[str]) -> dict[str, list[str]]:
    body = client.association_batch_read("deals", to_type, deal_ids) or {}
    return {
        str(row["from"]["id"]): [str(t["toObjectId"]) for t in row.get("to") or []]
        for row in body.get("results") or []
    }


def products_by_company(client: HubSpotClient, product_property: str) -> dict[str, frozenset[str]]:
    owned: dict[str, set[str]] = defaultdict(set)
    filters = [{"propertyName": "hs_is_closed_won", "operator": "EQ", "value": "true"}]
    for page in paging.iter_search(client, "deals", filters, ["hs_object_id"]):
        for start in range(0, len(page), 100):
            deal_ids = [str(d["id"]) for d in page[start : start + 100]]
            companies = _targets(client, "companies", deal_ids)
            line_items = _targets(client, "line_items", deal_ids)
            item_ids = sorted({i for items in line_items.values() for i in items})
            code_of: dict[str, str] = {}
            for i in range(0, len(item_ids), 100):
                body = client.batch_read("line_items", item_ids[i : i + 100], [product_property]) or {}
                for item in body.get("results") or []:
                    code = (item.get("properties") or {}).get(product_property)
                    if code:
                        code_of[str(item["id"])] = str(code).strip()
            for deal_id, items in line_items.items():
                codes = {code_of[i] for i in items if i in code_of}
                for company_id in companies.get(deal_id, []):
                    owned[company_id] |= codes
    return {company: frozenset(codes) for company, codes in owned.items()}
