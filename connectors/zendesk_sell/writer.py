"""Writing deals and follow-up tasks to Sell, exactly once per opportunity key.

Deals: `POST /v2/deals/upsert?custom_fields[<key field>]=<key>`
(https://developer.zendesk.com/api-reference/sales-crm/resources/deals/#upsert-a-deal) creates the
deal or updates the one whose filterable key field matches, so a resend after a timeout, a retry or a
crash never makes a second deal. Keys already listed by `read_opportunities` are returned without a
call at all: an upsert would overwrite a stage or tags a rep changed since.

Tasks have no upsert and no custom fields, so the content's last line is `oppworker-key: <key>`.
A task is created without looking first only for a deal this connector created in this pass (there
can be no task on it yet); for any other deal we list its tasks and return the one carrying the
marker. A task create is never blindly resent: only a 429 (not processed) is retried as is; after a
timeout or 5xx we look for the marker before sending again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors.zendesk_sell import mapping
from connectors.zendesk_sell.client import SellClient, only_rate_limited
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import ConnectorError, ExistingOpportunity, FailureKind, FollowUpTask, Opportunity, WriteResult

log = logging.getLogger(__name__)


class SellWriter:
    def __init__(
        self,
        client: SellClient | None,
        settings: ZendeskSellSettings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.settings = settings
        self._sleep = sleep
        self.known_deals: dict[str, str] = {}  # key -> deal id, from read_opportunities and our writes
        self.fresh_deals: set[str] = set()  # keys whose deal this instance created: no task exists yet
        self.known_tasks: dict[str, str] = {}  # key -> task id
        self.listing_complete = False  # True once read_opportunities listed every deal of ours

    # ------------------------------------------------------------------ bookkeeping

    def remember(self, existing: ExistingOpportunity) -> None:
        if existing.crm_id:
            self.known_deals[existing.key] = existing.crm_id

    def _upsert_params(self, key: str) -> dict[str, str]:
        return {f"custom_fields[{self.settings.opportunity_key_field}]": key}

    def _deal_data(self, opportunity: Opportunity) -> dict[str, Any]:
        return mapping.deal_body(
            opportunity,
            key_field=self.settings.opportunity_key_field,
            tags=self.settings.deal_tags,
            stage_id=self.settings.deal_stage_id,
            hot_score=self.settings.hot_score,
        )

    # ------------------------------------------------------------------ deals

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        return [self._write_deal(opportunity) for opportunity in opportunities]

    def _write_deal(self, opportunity: Opportunity) -> WriteResult:
        key = opportunity.key
        if key in self.known_deals:
            return WriteResult(key=key, crm_id=self.known_deals[key], created=False)
        try:
            data = self._deal_data(opportunity)
        except ValueError as exc:
            return WriteResult(key=key, error=str(exc))
        assert self.client is not None
        try:
            envelope = self.client.post(
                "/v2/deals/upsert", data, self._upsert_params(key), endpoint="/v2/deals/upsert"
            )
        except ConnectorError as exc:
            if exc.kind is FailureKind.PERMANENT:
                log.warning("deal for %s refused: %s", key, exc)
                return WriteResult(key=key, error=str(exc))
            raise
        deal = (envelope or {}).get("data") or {}
        deal_id = mapping.as_id(deal.get("id"))
        if deal_id is None:
            return WriteResult(key=key, error="Sell answered the upsert without a deal id")
        # New if it was absent from the complete listing taken at the start of this pass and Sell's
        # timestamps agree (an upsert that updated an older deal - say one the listing's creator
        # filter could not see - has moved `updated_at` on). Only a deal we know we just created
        # skips the task lookup.
        created_at, updated_at = deal.get("created_at"), deal.get("updated_at")
        created = self.listing_complete if None in (created_at, updated_at) else created_at == updated_at
        self.known_deals[key] = deal_id
        if self.listing_complete and created:
            self.fresh_deals.add(key)
        return WriteResult(key=key, crm_id=deal_id, created=bool(created))

    # ------------------------------------------------------------------ tasks

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        return [self._write_task(task, deal_ids) for task in tasks]

    def _write_task(self, task: FollowUpTask, deal_ids: Mapping[str, str]) -> WriteResult:
        key = task.opportunity_key
        if key in self.known_tasks:
            return WriteResult(key=key, crm_id=self.known_tasks[key], created=False)
        deal_id = deal_ids.get(key) or self.known_deals.get(key)
        if not deal_id:
            return WriteResult(key=key, error="no deal id for this key: write the deal first")
        data = mapping.task_body(task, deal_id, self.settings.task_due_hour_utc)
        assert self.client is not None
        if key not in self.fresh_deals:
            found = self._find_task(key, deal_id)
            if found:
                return self._done(key, found, created=False)
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                envelope = self.client.post(
                    "/v2/tasks", data, endpoint="/v2/tasks", retry_if=only_rate_limited
                )
            except ConnectorError as exc:
                if exc.kind is FailureKind.PERMANENT:
                    log.warning("task for %s refused: %s", key, exc)
                    return WriteResult(key=key, error=str(exc))
                if exc.kind is not FailureKind.TRANSIENT or attempt == self.settings.max_attempts:
                    raise
                # The create may have happened before the failure: look before sending it again.
                log.info("task create for %s failed (%s); checking for it before resending", key, exc)
                self._backoff(attempt)
                found = self._find_task(key, deal_id)
                if found:
                    return self._done(key, found, created=True)
                continue
            task_id = mapping.as_id(((envelope or {}).get("data") or {}).get("id"))
            if task_id is None:
                return WriteResult(key=key, error="Sell answered the task create without a task id")
            return self._done(key, task_id, created=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def _done(self, key: str, task_id: str, created: bool) -> WriteResult:
        self.known_tasks[key] = task_id
        return WriteResult(key=key, crm_id=task_id, created=created)

    def _find_task(self, key: str, deal_id: str) -> str | None:
        """The id of the task on this deal whose content carries our marker, if any.
        Task list filters `resource_type`/`resource_id` (https://developer.zendesk.com/api-reference/
        sales-crm/resources/tasks/; confirmed in zendesk/basecrm-ruby services/tasks_service.rb)."""
        assert self.client is not None
        for existing in self.client.collection(
            "/v2/tasks", {"resource_type": "deal", "resource_id": deal_id}
        ):
            if isinstance(existing, Mapping) and mapping.has_marker(existing.get("content"), key):
                return mapping.as_id(existing.get("id"))
        return None

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.backoff_seconds(attempt))

    # ------------------------------------------------------------------ dry run

    def preview(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        """The requests a real write would send. A task's `resource_id` is the deal's id when the deal
        already exists; for a deal not yet created it reads `<deal id of KEY>`, the one value only
        the real upsert can tell."""
        out: list[dict[str, Any]] = []
        key_field = self.settings.opportunity_key_field
        for opportunity in opportunities:
            key = opportunity.key
            if key in self.known_deals:
                continue  # the real write makes no call for a deal that already exists
            try:
                data = self._deal_data(opportunity)
            except ValueError as exc:
                out.append({"method": None, "path": None, "json": None, "key": key, "error": str(exc)})
                continue
            params = self._upsert_params(key)
            out.append(
                {
                    "method": "POST",
                    "path": f"/v2/deals/upsert?custom_fields[{quote(key_field)}]={quote(key, safe='')}",
                    "params": params,
                    "json": {"data": data},
                    "key": key,
                }
            )
        for task in tasks:
            key = task.opportunity_key
            deal_id = self.known_deals.get(key) or f"<deal id of {key}>"
            out.append(
                {
                    "method": "POST",
                    "path": "/v2/tasks",
                    "json": {"data": mapping.task_body(task, deal_id, self.settings.task_due_hour_utc)},
                    "key": key,
                }
            )
        return out
