"""The HubSpot `Connector`: what the worker drives in a pass (see connectors.base for the protocol)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import requests

from connectors.base import AccountRecord, AccountState, DealFacts, ReadReport
from connectors.http import ApiBacked, ApiClient
from connectors.hubspot import mapping, paging
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.contacts import MainContacts
from connectors.hubspot.conversations import HubSpotConversations
from connectors.hubspot.deals import DealReader
from connectors.hubspot.products import products_by_company
from connectors.hubspot.settings import HubSpotSettings, load_settings
from connectors.hubspot.writer import Writer
from connectors.ratelimit import RateBudget
from domain import (
    ConnectorError,
    Conversation,
    ExistingOpportunity,
    FailureKind,
    FollowUpTask,
    Opportunity,
    Owner,
    WriteResult,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HubSpotConnector(ApiBacked):
    name = "hubspot"

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.settings = settings
        self.client = HubSpotClient(settings, session=session)
        self.writer = Writer(self.client, settings)
        self._clock = clock
        self._cursor: str | None = None
        # The companies a first pass lists for baskets, kept on disk (not in memory) for the
        # read_accounts that follows, so a full pass lists the companies once, not twice.
        self._spool: IO[str] | None = None
        self._spool_started: datetime | None = None
        self._owned: dict[str, frozenset[str]] | None = None  # products_source=line_items, per pass
        self._deals = DealReader(self.client, settings)
        self._conversations = HubSpotConversations(self.client)
        self._contacts = MainContacts(self.client, enabled=settings.read_main_contacts)

    def _owned_products(self) -> dict[str, frozenset[str]] | None:
        """company id -> products from won deals' line items, built once per connector (a pass)."""
        if self.settings.products_source != "line_items":
            return None
        if self._owned is None:
            self._owned = products_by_company(self.client, self.settings.line_item_product_property)
        return self._owned

    # -- protocol: reads ----------------------------------------------------------------------
    # -- capability: CallsHttpApi (connectors/capabilities.py) ----------------------------------
    def _api_client(self) -> ApiClient:
        return self.client.api

    def rate_budget(self) -> RateBudget:
        return self.settings.rate_budget()

    def data_as_of(self) -> datetime | None:
        return None

    def read_owners(self) -> Iterator[Owner]:
        for page in paging.iter_owner_pages(self.client):
            for data in page:
                owner = mapping.owner_from_json(data)
                if owner is not None:
                    yield owner

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        return self._deals.read_opportunities()

    def read_deal_facts(self, keys: Sequence[str]) -> dict[str, DealFacts]:
        """Capability `ReadsDealFacts` (connectors/capabilities.py); see DealReader."""
        return self._deals.read_deal_facts(keys)

    def read_task_states(self, task_ids: Sequence[str]) -> dict[str, bool]:
        """Capability `ReadsTaskStates`; see DealReader."""
        return self._deals.read_task_states(task_ids)

    def read_opportunities_for(self, account_ids: Iterable[str]) -> Iterator[ExistingOpportunity]:
        """Capability `ReadsOpportunitiesFor`; see DealReader."""
        return self._deals.read_opportunities_for(account_ids)

    def read_account_history(self) -> Iterator[AccountState]:
        """Capability `ReadsAccountHistory`: plan, seats and MRR over time from company property history
        (`propertiesWithHistory`, 50 companies per page: https://developers.hubspot.com/docs/api/crm/companies).
        For backtests and natural expansion, not for a pass; oldest first per account."""
        field_map = self.settings.field_map
        properties = [field_map[f] for f in mapping.HISTORY_FIELDS if f in field_map]
        if not properties:
            return
        for page in paging.iter_history(self.client, "companies", properties):
            for company in page:
                yield from mapping.company_history(company, field_map)

    def read_conversations(
        self, account_ids: Sequence[str], since: datetime | None
    ) -> Iterator[Conversation]:
        """Capability `ReadsConversations`: notes, emails and calls on these companies logged since
        `since` (connectors/hubspot/conversations.py: one search scan per pass, not per company)."""
        return self._conversations.read(account_ids, since)

    def accounts_heard_since(self, since: datetime) -> list[str]:
        """Capability `ListsAccountsHeardSince`: companies with an engagement logged since `since`."""
        return self._conversations.accounts_heard_since(since)

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        owned = self._owned_products()
        products_property = None if owned is not None else self.settings.field_map.get("products")
        self._drop_spool()
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - outlives this call; _drop_spool closes it
        self._spool_started = self._clock()
        for page in paging.iter_list(self.client, "companies", self.settings.company_properties):
            self._spool.write(json.dumps(page) + "\n")
            for company in page:
                basket = mapping.company_basket(company, products_property, report)
                if basket is not None:
                    yield (basket[0], owned.get(basket[0], frozenset())) if owned is not None else basket

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        started = self._clock()
        today = started.date()
        if cursor is None:
            pages, self._cursor = self._full_pages(started)
        else:
            pages, self._cursor = self._changed_pages(cursor, started), _format_cursor(started)
        return self._records(pages, today, report)

    def read_accounts_by_id(self, account_ids: Sequence[str], report: ReadReport) -> Iterator[AccountRecord]:
        """Capability `ReadsAccountsById`: these companies as they are now, 100 per batch read, for
        an incremental pass that must re-score accounts whose company record did not change (a new
        note, a deal moved). Ids HubSpot does not know (deleted companies) are left out."""
        ids = list(dict.fromkeys(str(a) for a in account_ids))
        size = self.settings.batch_size

        def pages() -> Iterator[list[dict]]:
            for start in range(0, len(ids), size):
                body = self.client.batch_read(
                    "companies",
                    ids[start : start + size],
                    self.settings.company_properties,
                    endpoint="companies.by_id",
                )
                yield list((body or {}).get("results") or [])

        return self._records(pages(), self._clock().date(), report)

    def accounts_of_deals(self, deal_ids: Sequence[str]) -> list[str]:
        """Capability `ResolvesDealAccounts`: the companies these deals are associated with (one
        association batch read per 100 deals, outside the ten-secondly budget). A deal-stage webhook
        names a deal; the worker re-scores its company."""
        ids = list(dict.fromkeys(str(d) for d in deal_ids))
        companies: set[str] = set()
        for start in range(0, len(ids), 100):
            body = self.client.association_batch_read("deals", "companies", ids[start : start + 100]) or {}
            for row in body.get("results") or []:
                companies.update(str(t["toObjectId"]) for t in row.get("to") or [])
        return sorted(companies)

    def _records(
        self, pages: Iterable[list[dict]], today: Any, report: ReadReport
    ) -> Iterator[AccountRecord]:
        s = self.settings
        owned = self._owned_products()
        field_map = (
            s.field_map if owned is None else {k: v for k, v in s.field_map.items() if k != "products"}
        )
        for page in pages:
            # 2 calls per page, not per company (connectors/hubspot/contacts.py)
            contacts = self._contacts.for_companies([str(c.get("id") or "") for c in page])
            for company in page:
                record = mapping.company_to_record(company, field_map, s.usage_map, today, report)
                report.read += 1
                if record is None:
                    continue
                if s.account_key_properties:
                    props = company.get("properties") or {}
                    record.join_keys = {
                        p: str(props[p]).strip() for p in s.account_key_properties if props.get(p)
                    }
                if owned is not None:
                    products = owned.get(record.account.id, frozenset())
                    record.account = record.account.model_copy(update={"products": products})
                if record.account.id in contacts:
                    main = contacts[record.account.id]
                    record.account = record.account.model_copy(update={"main_contact": main})
                if s.portal_id:  # the company's page, for the CSM's task
                    link = f"https://{s.app_domain}/contacts/{s.portal_id}/record/0-2/{record.account.id}"
                    record.account = record.account.model_copy(update={"crm_url": link})
                yield record

    def _full_pages(self, started: datetime) -> tuple[Iterator[list[dict]], str]:
        spool, spool_started = self._spool, self._spool_started
        if spool is not None and spool_started is not None and started - spool_started < timedelta(hours=1):
            self._spool = None

            def replay() -> Iterator[list[dict]]:
                with spool:
                    spool.seek(0)
                    for line in spool:
                        yield json.loads(line)

            return replay(), _format_cursor(spool_started)
        self._drop_spool()
        return paging.iter_list(self.client, "companies", self.settings.company_properties), _format_cursor(
            started
        )

    def _changed_pages(self, cursor: str, started: datetime) -> Iterator[list[dict]]:
        """Companies with hs_lastmodifieddate in [cursor - overlap, run start), windowed past the cap."""
        since = _parse_cursor(cursor) - timedelta(seconds=self.settings.cursor_overlap_seconds)
        filters = [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": mapping.to_epoch_ms(since)},
            {"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": mapping.to_epoch_ms(started)},
        ]
        return paging.iter_search(self.client, "companies", filters, self.settings.company_properties)

    def next_cursor(self) -> str | None:
        return self._cursor

    # -- protocol: writes ---------------------------------------------------------------------
    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        self._refuse_in_dry_run()
        return self.writer.write_deals(opportunities)

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        self._refuse_in_dry_run()
        return self.writer.write_tasks(tasks, deal_ids)

    def preview_writes(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        """The exact batch/create requests a real write sends. A new deal's id exists only once
        HubSpot creates it, so the task's deal association shows a placeholder naming the key."""
        placeholders = {t.opportunity_key: f"<id of the deal for {t.opportunity_key}>" for t in tasks}
        return self.writer.deal_requests(opportunities) + self.writer.task_requests(tasks, placeholders)

    def _refuse_in_dry_run(self) -> None:
        if self.settings.dry_run:
            raise ConnectorError("dry run: the HubSpot connector makes no write call", FailureKind.CONFIG)

    def close(self) -> None:
        self._drop_spool()
        self.client.close()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._spool = None
        self._spool_started = None


def _format_cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse_cursor(cursor: str) -> datetime:
    parsed = mapping.parse_datetime(cursor)
    if parsed is None:
        raise ConnectorError(f"stored HubSpot cursor is not a timestamp: {cursor[:40]!r}", FailureKind.CONFIG)
    return parsed


def from_options(options: Mapping[str, Any]) -> HubSpotConnector:
    """Registry factory: the YAML `crm: {hubspot: {...}}` section plus CLI keys, over HUBSPOT_* env."""
    return HubSpotConnector(load_settings(dict(options)))
