"""Reading from Sell: paged Core API scans for full passes, the Firehose stream for incremental ones.

Why Firehose rather than the Sync API for incremental runs: Firehose is a plain GET with a position
we store as the pass cursor, so "store the cursor only after the writes succeeded" is exactly the
runner's existing rule. Sync instead needs a device UUID kept forever, server-side sessions (100 max)
and acks; an ack sent before our writes succeed would lose changes, an ack sent after would need a
second state store. Both need a Growth+ plan; with neither, set `incremental: full`.
Firehose facts (https://developer.zendesk.com/api-reference/sales-crm/firehose/overview,
https://developer.zendesk.com/documentation/sales-crm/firehose/guarantees-best-practices/,
https://developer.zendesk.com/documentation/sales-crm/firehose/faq/): `GET /v3/contacts/stream?
position=<top|tail|opaque>&limit<=100`; loop until `meta.top` is true, since a page may be empty while
more data exists; order holds per record only, so the highest `sequence` wins; positions older than
the 72 h retention answer 410, and we then fall back to a full scan.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.zendesk_sell.client import SellClient
from domain import ConnectorError, FailureKind

log = logging.getLogger(__name__)

CURSOR_PREFIX = "firehose:contacts:"


def encode_cursor(position: str | None) -> str | None:
    return None if position is None else CURSOR_PREFIX + position


def decode_cursor(cursor: str | None) -> str | None:
    if cursor and cursor.startswith(CURSOR_PREFIX) and len(cursor) > len(CURSOR_PREFIX):
        return cursor[len(CURSOR_PREFIX) :]
    return None


class StreamExpired(Exception):
    """The stored position is older than Firehose retention (HTTP 410)."""


class SellReader:
    def __init__(self, client: SellClient, read_ahead: bool = True) -> None:
        self.client = client
        self.read_ahead = read_ahead  # fetch the next contacts page while the runner scores this one
        self._stage_categories: dict[str, str] | None = None

    def users(self) -> Iterator[dict[str, Any]]:
        return self.client.collection("/v2/users", {"sort_by": "id"})

    def self_user(self) -> dict[str, Any]:
        return (self.client.get("/v2/users/self") or {}).get("data") or {}

    def organizations(self) -> Iterator[dict[str, Any]]:
        # sort_by=id: the contacts default (last_name) is not unique, so pages could shift under edits.
        return self.client.collection(
            "/v2/contacts", {"is_organization": "true", "sort_by": "id"}, read_ahead=self.read_ahead
        )

    def deals(self, creator_id: str | None = None) -> Iterator[dict[str, Any]]:
        params = {"sort_by": "id"} if creator_id is None else {"sort_by": "id", "creator_id": creator_id}
        return self.client.collection("/v2/deals", params)

    def stage_categories(self) -> dict[str, str]:
        """stage id -> category (`incoming`, `qualified`, `won`, `lost`, `unqualified`, ...)."""
        if self._stage_categories is None:
            self._stage_categories = {
                str(stage.get("id")): str(stage.get("category") or "")
                for stage in self.client.collection("/v2/stages")
                if isinstance(stage, Mapping)
            }
        return self._stage_categories

    def purchased_products(self, code_attribute: str) -> dict[str, frozenset[str]]:
        """account id -> product codes bought, from purchase history: deals in a won stage, their
        orders, the orders' line items, the line items' products
        (https://developer.zendesk.com/api-reference/sales-crm/resources/orders/,
        .../line-items/, .../products/). Costs one call per order: line items are per order, and a
        deal has at most one order (zendesk/basecrm-ruby services/orders_service.rb)."""
        codes: dict[str, str] = {}
        for product in self.client.collection("/v2/products"):
            if isinstance(product, Mapping) and product.get("id") is not None:
                code = product.get(code_attribute) or product.get("name")
                if code:
                    codes[str(product["id"])] = str(code).strip()
        won_stages = [sid for sid, category in self.stage_categories().items() if category == "won"]
        deal_account: dict[str, str] = {}
        for stage_id in won_stages:
            for deal in self.client.collection("/v2/deals", {"stage_id": stage_id}):
                if not isinstance(deal, Mapping) or deal.get("id") is None:
                    continue
                # organization_id is the primary contact's company; a deal on the company itself has none
                account = deal.get("organization_id") or deal.get("contact_id")
                if account is not None:
                    deal_account[str(deal["id"])] = str(account)
        owned: dict[str, set[str]] = defaultdict(set)
        for order in self.client.collection("/v2/orders"):
            if not isinstance(order, Mapping):
                continue
            account = deal_account.get(str(order.get("deal_id")))
            if account is None:
                continue  # an order on an open or lost deal is not a purchase
            for item in self.client.collection(f"/v2/orders/{order['id']}/line_items"):
                code = codes.get(str(item.get("product_id"))) if isinstance(item, Mapping) else None
                if code:
                    owned[account].add(code)
        return {account: frozenset(products) for account, products in owned.items()}

    def stream_top(self) -> str | None:
        """The position of "now", taken before a full scan so that changes made during the scan are
        seen again by the next incremental pass (at least once, never lost). None when the token or
        plan has no Firehose access: incremental passes are then full scans."""
        try:
            envelope = self.client.get(
                "/v3/contacts/stream", {"position": "top", "limit": 1}, endpoint="/v3/contacts/stream"
            )
        except ConnectorError as exc:
            if exc.status in (403, 404) or exc.kind is FailureKind.AUTH:
                log.warning("Firehose unavailable (%s); incremental runs will scan everything", exc)
                return None
            raise
        position = ((envelope or {}).get("meta") or {}).get("position")
        return str(position) if position else None

    def stream_changes(
        self, position: str, limit: int, max_empty_polls: int
    ) -> tuple[dict[str, dict[str, Any]], set[str], str]:
        """(latest snapshot per changed contact id, deleted ids, position at top) since `position`.

        Holds only the changed contacts' snapshots: memory is bounded by the change volume between
        two passes, not by the account count."""
        latest: dict[str, tuple[int, dict[str, Any] | None]] = {}
        empty_polls = 0
        while True:
            try:
                envelope = self.client.get(
                    "/v3/contacts/stream",
                    {"position": position, "limit": limit},
                    endpoint="/v3/contacts/stream",
                )
            except ConnectorError as exc:
                if exc.status == 410:
                    raise StreamExpired(str(exc)) from None
                raise
            items = (envelope or {}).get("items") or []
            meta = (envelope or {}).get("meta") or {}
            for item in items:
                self._fold(item, latest)
            new_position = meta.get("position") or position
            if meta.get("top") is True:
                position = str(new_position)
                break
            if not items and new_position == position:
                empty_polls += 1
                if empty_polls >= max_empty_polls:
                    raise ConnectorError(
                        f"Firehose returned {empty_polls} empty pages without reaching top",
                        FailureKind.TRANSIENT,
                    )
            else:
                empty_polls = 0
            position = str(new_position)
        changed = {rid: data for rid, (_, data) in latest.items() if data is not None}
        deleted = {rid for rid, (_, data) in latest.items() if data is None}
        return changed, deleted, position

    @staticmethod
    def _fold(item: Any, latest: dict[str, tuple[int, dict[str, Any] | None]]) -> None:
        if not isinstance(item, Mapping):
            return
        data, meta = item.get("data"), item.get("meta") or {}
        if not isinstance(data, Mapping) or data.get("id") is None:
            return
        record_id = str(data["id"])
        try:
            sequence = int(meta.get("sequence") or 0)
        except (TypeError, ValueError):
            sequence = 0
        previous = latest.get(record_id)
        if previous is not None and previous[0] > sequence:
            return
        latest[record_id] = (sequence, None if meta.get("event_type") == "deleted" else dict(data))
