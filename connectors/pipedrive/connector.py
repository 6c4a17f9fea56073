"""The Pipedrive connector: what the runner calls, wired from settings, client, reader, writer.

Accounts are organizations; owners are users; usage is one organization custom field per metric
holding its last-30-days value (a snapshot the runner stores per pass); products owned come from won
deals' products (or the mapped `products` field). Registry name: `pipedrive`.

Incremental passes: the cursor is `pipedrive:orgs:updated_since:<RFC 3339>`. It is the second after
the latest `update_time` the pass read (`updated_since` is inclusive), but never later than the pass's
start minus an overlap for clock skew: an organization edited while the scan ran is read again next
time (at least once, never lost).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.base import AccountRecord, DealFacts, ReadReport
from connectors.capabilities import DailyBudget
from connectors.http import ApiBacked, ApiClient
from connectors.pipedrive import mapping
from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.contacts import main_contacts
from connectors.pipedrive.conversations import PipedriveConversations
from connectors.pipedrive.fields import FieldCatalog, parse_datetime, parse_money
from connectors.pipedrive.limits import DailyTokenBudget
from connectors.pipedrive.reader import PipedriveReader
from connectors.pipedrive.settings import PipedriveSettings
from connectors.pipedrive.writer import PipedriveWriter
from connectors.ratelimit import RateBudget, RateLimiter
from connectors.writer_backed import WriterBacked
from domain import (
    ConnectorError,
    Conversation,
    ExistingOpportunity,
    FailureKind,
    Owner,
)
from domain.account import utcnow

log = logging.getLogger(__name__)
CURSOR_PREFIX = "pipedrive:orgs:updated_since:"


def encode_cursor(when: datetime) -> str:
    return CURSOR_PREFIX + when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor and cursor.startswith(CURSOR_PREFIX) and len(cursor) > len(CURSOR_PREFIX):
        return cursor[len(CURSOR_PREFIX) :]
    return None


class PipedriveConnector(WriterBacked, ApiBacked):
    name = "pipedrive"

    def __init__(
        self,
        settings: PipedriveSettings,
        *,
        limiter: RateLimiter | None = None,
        search_limiter: RateLimiter | None = None,
        budget: DailyTokenBudget | None = None,
        today: Callable[[], date] | None = None,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.dry_run = settings.dry_run
        self.client = PipedriveClient(
            settings, limiter=limiter, search_limiter=search_limiter, budget=budget, sleep=sleep
        )
        self.reader = PipedriveReader(self.client)
        self.conversations = PipedriveConversations(self.client)
        self.main_contacts = main_contacts(self.client, enabled=settings.read_main_contacts)
        self.writer: PipedriveWriter = PipedriveWriter(
            self.client, self.reader, settings, self.key_code, **({"sleep": sleep} if sleep else {})
        )
        self._now = now or utcnow
        self._today = today or (lambda: self._now().date())
        self._org_fields: FieldCatalog | None = None
        self._key_code: str | None = None
        self._purchases: dict[str, frozenset[str]] | None = None
        self._next_cursor: str | None = None
        self._listed: dict[str, Mapping[str, Any]] = {}  # key -> our deal as listed this pass

    # -- capability: CallsHttpApi (connectors/capabilities.py) ----------------------------------
    def _api_client(self) -> ApiClient:
        return self.client.api

    def rate_budget(self) -> RateBudget:
        return self.settings.rate_budget()

    def secrets(self) -> list[str]:
        """The token travels in `x-api-token`, not in the shared client (which holds an empty one)."""
        token = self.settings.api_token.get_secret_value()
        return [token] if token else []

    def rate_key(self) -> str:
        """Pipedrive limits per token: a hash of it, never the token."""
        token = self.settings.api_token.get_secret_value()
        return hashlib.sha256(token.encode()).hexdigest()[:16] if token else "default"

    # -- capability: SharesDailyBudget (connectors/capabilities.py) -----------------------------
    def daily_allowance(self) -> int:
        return int(self.settings.token_budget * self.settings.budget_share)

    def share_daily_budget(self, budget: DailyBudget) -> None:
        self.client.budget = budget  # type: ignore[assignment]  # same charge/spent/remaining surface

    # ------------------------------------------------------------------ field keys

    def org_fields(self) -> FieldCatalog:
        if self._org_fields is None:
            self._org_fields = self.reader.organization_fields()
        return self._org_fields

    def key_code(self) -> str:
        """The 40-character key of the deal field holding the opportunity key, found by name."""
        if self._key_code is None:
            code = self.reader.deal_fields().code(self.settings.opportunity_key_field)
            if code is None:
                raise ConnectorError(
                    f"Pipedrive has no deal field named {self.settings.opportunity_key_field!r}: run "
                    "`oppworker pipedrive setup` to create it",
                    FailureKind.CONFIG,
                )
            self._key_code = code
        return self._key_code

    # ------------------------------------------------------------------ reading

    def data_as_of(self) -> datetime | None:
        return None

    def read_owners(self) -> Iterator[Owner]:
        self._org_fields, self._purchases = None, None  # a pass starts here: field keys and purchases afresh
        self.conversations.forget()
        for user in self.reader.users():
            owner = mapping.to_owner(user)
            if owner is not None:
                yield owner

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        key_code = self.key_code()
        self._listed = {}
        for deal in self.reader.our_deals(key_code):
            existing = mapping.to_existing(deal, key_code)
            if existing is None:
                continue
            self.writer.remember(existing)
            self._listed[existing.key] = deal
            yield existing
        self.writer.listing_complete = True

    def read_deal_facts(self, keys: Sequence[str]) -> dict[str, DealFacts]:
        """Won amount and lost reason from the deals `read_opportunities` just listed (no call);
        the activity's state would cost a call per deal, so it is left unknown."""
        facts: dict[str, DealFacts] = {}
        for key in keys:
            deal = self._listed.get(key)
            if deal is None:
                continue
            amount = reason = None
            if deal.get("status") == "won":
                try:
                    amount = parse_money(deal.get("value"))
                except ValueError:
                    amount = None
            if deal.get("status") == "lost" and deal.get("lost_reason"):
                reason = str(deal["lost_reason"])
            facts[key] = DealFacts(amount=amount, lost_reason=reason)
        return facts

    def read_conversations(
        self, account_ids: Sequence[str], since: datetime | None
    ) -> Iterator[Conversation]:
        """capability: ReadsConversations. Notes on these organizations (connectors/pipedrive/conversations.py)."""
        return self.conversations.read(account_ids, since)

    def _purchased(self) -> dict[str, frozenset[str]]:
        if self._purchases is None:
            self._purchases = self.reader.purchased_products()
        return self._purchases

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        if self.settings.products_source == "deals":
            yield from sorted(self._purchased().items())
            return
        field_map, catalog = self.settings.field_map(), self.org_fields()
        for org in self.reader.organizations():
            account_id = mapping.as_id(org.get("id")) if isinstance(org, Mapping) else None
            if account_id is None or org.get("is_deleted") is True:
                continue
            try:
                raw = mapping.field_value(org, field_map.get("products", "products"), catalog)
                yield account_id, frozenset() if raw is None else mapping.products_value(raw)
            except (KeyError, ValueError):
                yield account_id, frozenset()

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        self._next_cursor = None
        started = self._now() - timedelta(seconds=self.settings.incremental_overlap_seconds)
        since = decode_cursor(cursor)
        field_map, usage_map, today = self.settings.field_map(), self.settings.usage_map(), self._today()
        catalog = self.org_fields()
        self.main_contacts.forget()
        latest: datetime | None = None
        for org in self.reader.organizations(since):
            report.read += 1
            if isinstance(org, Mapping):
                try:
                    seen = parse_datetime(org.get("update_time"))
                except ValueError:
                    seen = None
                if seen is not None and (latest is None or seen > latest):
                    latest = seen
            record = mapping.to_account_record(org, catalog, field_map, usage_map, today, report)
            if record is None:
                continue
            if self.settings.company_domain:  # the organization's page, for the CSM's task
                link = (
                    f"https://{self.settings.company_domain}.pipedrive.com/organization/{record.account.id}"
                )
                record.account = record.account.model_copy(update={"crm_url": link})
            if not record.account.main_contact:  # one persons listing per pass (contacts.py)
                main = self.main_contacts.of(record.account.id)
                if main:
                    record.account = record.account.model_copy(update={"main_contact": main})
            if self.settings.products_source == "deals":
                owned = self._purchased().get(record.account.id, frozenset())
                record.account = record.account.model_copy(update={"products": owned})
            yield record
        if latest is not None:  # `updated_since` is inclusive and times are whole seconds: the next second
            self._next_cursor = encode_cursor(min(latest + timedelta(seconds=1), started))
        else:  # nothing changed: keep the stored position (a full pass of nothing: the pass start)
            self._next_cursor = cursor if since else encode_cursor(started)

    def next_cursor(self) -> str | None:
        return self._next_cursor

    # -- capability: ReadsImportedRecords (a Sell export imported: `oppworker migrate`) ----------
    def imported_accounts(self) -> Iterator[tuple[str, str, str | None]]:
        code = self.org_fields().code(self.settings.source_id_field)
        for org in self.reader.organizations():
            org_id = mapping.as_id(org.get("id")) if isinstance(org, Mapping) else None
            if org_id is None or org.get("is_deleted") is True:
                continue
            raw = (org.get("custom_fields") or {}).get(code) if code else None
            if isinstance(raw, float) and raw.is_integer():  # a numeric field holds Sell's 123 as 123.0
                raw = int(raw)
            yield org_id, str(org.get("name") or ""), mapping.as_id(raw)

    def imported_deals(self) -> Iterator[tuple[str, str, str | None]]:
        key_code = self.key_code()
        for deal in self.reader.our_deals(key_code):
            deal_id = mapping.as_id(deal.get("id")) if isinstance(deal, Mapping) else None
            if deal_id is None or deal.get("is_deleted") is True:
                continue
            yield deal_id, str(deal.get("title") or ""), mapping.deal_key(deal, key_code)

    # ------------------------------------------------------------------ writing

    def close(self) -> None:
        self.client.close()


def from_options(options: Mapping[str, Any]) -> PipedriveConnector:
    """Build from the `crm: {pipedrive: {...}}` config section plus CLI keys (`dry_run`); options
    override `PIPEDRIVE_*` environment variables. The worker's shared Redis budget can be chained in
    front of `connector.client.api.limiter` like the other CRMs'."""
    values = {k: v for k, v in options.items() if v is not None}
    return PipedriveConnector(PipedriveSettings(**values))
