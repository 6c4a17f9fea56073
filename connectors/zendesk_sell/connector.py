"""The Zendesk Sell connector: what the runner calls, wired from settings, client, reader, writer.

Accounts are contacts with `is_organization=true`; owners are Sell users; usage is one
contact custom field per metric holding its last-30-days value (a snapshot the runner stores per
pass); owned products are the mapped `products` multi-select field. Registry name: `zendesk-sell`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from connectors.base import AccountRecord, DealFacts, ReadReport
from connectors.http import ApiBacked, ApiClient
from connectors.ratelimit import RateBudget, RateLimiter
from connectors.writer_backed import WriterBacked
from connectors.zendesk_sell import mapping
from connectors.zendesk_sell.client import SellClient
from connectors.zendesk_sell.contacts import main_contacts
from connectors.zendesk_sell.conversations import SellConversations
from connectors.zendesk_sell.reader import SellReader, StreamExpired, decode_cursor, encode_cursor
from connectors.zendesk_sell.settings import ZendeskSellSettings
from connectors.zendesk_sell.writer import SellWriter
from domain import (
    Conversation,
    ExistingOpportunity,
    OpportunityStatus,
    Owner,
)
from domain.account import utcnow

log = logging.getLogger(__name__)


class ZendeskSellConnector(WriterBacked, ApiBacked):
    name = "zendesk-sell"

    def __init__(
        self,
        settings: ZendeskSellSettings,
        *,
        limiter: RateLimiter | None = None,
        today: Callable[[], date] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.dry_run = settings.dry_run
        self.client = SellClient(settings, limiter=limiter, sleep=sleep)
        self.reader = SellReader(self.client)
        self.conversations = SellConversations(self.client)
        self.main_contacts = main_contacts(self.client, enabled=settings.read_main_contacts)
        self.writer: SellWriter = SellWriter(self.client, settings, **({"sleep": sleep} if sleep else {}))
        self._today = today or (lambda: utcnow().date())
        self._next_cursor: str | None = None
        self.stream_fallbacks = 0  # full scans done because a stored position had expired
        self._spool: Any = None  # contacts read by read_baskets, replayed by the full read_accounts
        self._spool_position: str | None = None
        self.spool_replays = 0
        self._purchases: dict[str, frozenset[str]] | None = None  # per pass, when products_source=orders
        self._listed_deals: dict[
            str, tuple[OpportunityStatus, Any, Any]
        ] = {}  # key -> (status, value, loss reason)
        self._loss_reasons: dict[str, str] | None = None

    # ------------------------------------------------------------------ reading

    # -- capability: CallsHttpApi (connectors/capabilities.py) ----------------------------------
    def _api_client(self) -> ApiClient:
        return self.client.api

    def rate_budget(self) -> RateBudget:
        return self.settings.rate_budget()

    def data_as_of(self) -> datetime | None:
        return None

    def read_owners(self) -> Iterator[Owner]:
        self._drop_spool()  # a pass starts here: never replay contacts spooled by an earlier pass
        self._purchases = None
        for user in self.reader.users():
            owner = mapping.to_owner(user)
            if owner is None:
                log.warning("skipped a Sell user without an id")
                continue
            yield owner

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        categories = self.reader.stage_categories()
        key_field = self.settings.opportunity_key_field
        creator = mapping.as_id(self.reader.self_user().get("id")) if self.settings.deals_by_creator else None
        for deal in self.reader.deals(creator):
            existing = mapping.to_existing(deal, key_field, categories)
            if existing is None:
                continue  # not ours (no key), or a key we cannot parse
            self.writer.remember(existing)
            self._listed_deals[existing.key] = (
                existing.status,
                deal.get("value"),
                deal.get("loss_reason_id"),
            )
            yield existing
        self.writer.listing_complete = True

    def read_deal_facts(self, keys: Sequence[str]) -> dict[str, DealFacts]:
        """Won amount and lost reason of our deals, from the deals `read_opportunities` just listed
        (no extra call, except one `GET /v2/loss_reasons` when a lost deal names a reason). Task
        completion would cost a call per deal, so it is left unknown (None)."""
        facts: dict[str, DealFacts] = {}
        for key in keys:
            listed = self._listed_deals.get(key)
            if listed is None:
                continue
            status, value, loss_reason_id = listed
            amount = None
            if status is OpportunityStatus.WON:
                try:
                    amount = mapping.parse_money(value)
                except ValueError:
                    amount = None
            reason = None
            if status is OpportunityStatus.LOST and loss_reason_id is not None:
                reason = self._loss_reason_names().get(str(loss_reason_id), str(loss_reason_id))
            facts[key] = DealFacts(amount=amount, lost_reason=reason)
        return facts

    def _loss_reason_names(self) -> dict[str, str]:
        if self._loss_reasons is None:
            self._loss_reasons = {
                str(r.get("id")): str(r.get("name"))
                for r in self.client.collection("/v2/loss_reasons")
                if isinstance(r, Mapping) and r.get("name")
            }
        return self._loss_reasons

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        """(account id, products owned) for every organisation: the mapped `products` field, or
        purchase history with `products_source: orders`.

        On a first pass the runner asks for baskets and then for every account: two scans of the
        same contacts. So the contacts read here are spooled to a temporary file (disk, not memory)
        and a full `read_accounts` right after replays them instead of reading them again; the
        Firehose position is taken before this scan, so nothing changed meanwhile is missed.
        A malformed record is reported once, by that `read_accounts` (the runner passes both calls
        the same report), so here it only gets an empty basket or none."""
        self._drop_spool()
        field_map = self.settings.field_map()
        position = self.reader.stream_top() if self.settings.incremental == "firehose" else None
        spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - handed on to read_accounts, closed there
        complete = False
        try:
            for contact in self.reader.organizations():
                spool.write(json.dumps(contact) + "\n")
                account_id = mapping.as_id(contact.get("id")) if isinstance(contact, Mapping) else None
                if account_id is None:
                    continue
                if self.settings.products_source == "orders":
                    yield account_id, self._purchased().get(account_id, frozenset())
                    continue
                try:
                    yield account_id, mapping.products_of(contact, field_map)
                except ValueError:
                    yield account_id, frozenset()
            complete = True
        finally:
            if complete:
                spool.seek(0)
                self._spool, self._spool_position = spool, position
            else:  # abandoned or failed part-way: never replay a partial scan
                spool.close()

    def _purchased(self) -> dict[str, frozenset[str]]:
        if self._purchases is None:
            self._purchases = self.reader.purchased_products(self.settings.product_code)
        return self._purchases

    def _enriched(self, record: AccountRecord | None) -> AccountRecord | None:
        """With `products_source: orders`, what an account owns is its purchase history; and the
        organisation's main contact for the task (connectors/zendesk_sell/contacts.py)."""
        if record is None:
            return record
        if not record.account.main_contact:
            main = self.main_contacts.of(record.account.id)
            if main:
                record.account = record.account.model_copy(update={"main_contact": main})
        if self.settings.products_source != "orders":
            return record
        owned = self._purchased().get(record.account.id, frozenset())
        record.account = record.account.model_copy(update={"products": owned})
        return record

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._spool, self._spool_position = None, None

    def _organizations_for_full_pass(self) -> tuple[Iterator[Any], str | None]:
        if self._spool is not None:
            spool, position = self._spool, self._spool_position
            self._spool, self._spool_position = None, None
            self.spool_replays += 1
            return _replay(spool), position
        start = self.reader.stream_top() if self.settings.incremental == "firehose" else None
        return self.reader.organizations(), start

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        self._next_cursor = None
        self.main_contacts.forget()
        field_map, usage_map, today = self.settings.field_map(), self.settings.usage_map(), self._today()
        position = decode_cursor(cursor) if self.settings.incremental == "firehose" else None
        if position is not None:
            try:
                changed, deleted, top = self.reader.stream_changes(
                    position, self.settings.stream_limit, self.settings.max_empty_stream_polls
                )
            except StreamExpired as exc:
                log.warning("stored Firehose position expired (%s); doing a full scan instead", exc)
                self.stream_fallbacks += 1
            else:
                self._drop_spool()
                log.info("Firehose: %d changed contacts, %d deleted", len(changed), len(deleted))
                for record_id in sorted(changed, key=_numeric_first):
                    contact = changed[record_id]
                    if contact.get("is_organization") is False:
                        continue  # a person contact changed: not an account
                    report.read += 1
                    record = self._enriched(
                        mapping.to_account_record(contact, field_map, usage_map, today, report)
                    )
                    if record is not None:
                        yield record
                self._next_cursor = encode_cursor(top)
                return
        contacts, start = self._organizations_for_full_pass()
        for contact in contacts:
            report.read += 1
            record = self._enriched(mapping.to_account_record(contact, field_map, usage_map, today, report))
            if record is not None:
                yield record
        self._next_cursor = encode_cursor(start)

    def next_cursor(self) -> str | None:
        return self._next_cursor

    # ------------------------------------------------------------------ writing

    def read_conversations(
        self, account_ids: Sequence[str], since: datetime | None
    ) -> Iterator[Conversation]:
        """Optional capability (ReadsConversations): notes and call summaries on the accounts'
        contacts since `since` (connectors/zendesk_sell/conversations.py)."""
        return self.conversations.read(account_ids, since)

    def close(self) -> None:
        self._drop_spool()
        self.client.close()


def _replay(spool: Any) -> Iterator[Any]:
    try:
        for line in spool:
            yield json.loads(line)
    finally:
        spool.close()


def _numeric_first(record_id: str) -> tuple[int, int, str]:
    return (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)


def from_options(options: Mapping[str, Any]) -> ZendeskSellConnector:
    """Build from the `crm: {zendesk-sell: {...}}` config section plus CLI keys (`dry_run`);
    options override `ZENDESK_SELL_*` environment variables. The worker's shared Redis budget is
    chained in front of `connector.client.api.limiter` by `worker.service.connections.open_connector`."""
    values = {k: v for k, v in options.items() if v is not None}
    return ZendeskSellConnector(ZendeskSellSettings(**values))
