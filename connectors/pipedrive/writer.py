"""Writing deals and follow-up activities to Pipedrive, exactly once per opportunity key.

Pipedrive has no upsert and no idempotency key (pipedrive-api.md section 7), so we look before we
create. A deal carries the opportunity key in a deal custom field (varchar: searchable); before any
`POST /api/v2/deals` we search that field for the key with an exact match (or, with
`search_before_create: org`, list the organization's deals; with `unlisted`, trust a complete listing
of our deals taken in this pass). An
activity has no custom fields, so its note ends with the marker line `oppworker-key: <key>`; before
`POST /api/v2/activities` we list the deal's activities and look for it, except on a deal we created
moments ago in this instance (it can have none). A create is never blindly resent: only a 429 (not
processed) is retried as is; after a timeout or a 5xx we look again before sending it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.pipedrive import mapping
from connectors.pipedrive.client import PipedriveClient
from connectors.pipedrive.errors import only_rate_limited
from connectors.pipedrive.limits import DailyLimitReached
from connectors.pipedrive.reader import PipedriveReader
from connectors.pipedrive.settings import PipedriveSettings
from domain import ConnectorError, ExistingOpportunity, FailureKind, FollowUpTask, Opportunity, WriteResult

log = logging.getLogger(__name__)


class PipedriveWriter:
    def __init__(
        self,
        client: PipedriveClient,
        reader: PipedriveReader,
        settings: PipedriveSettings,
        key_code: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.reader, self.settings = client, reader, settings
        self._key_code = key_code
        self._sleep = sleep
        self.known_deals: dict[str, str] = {}  # key -> deal id
        self.fresh_deals: set[str] = set()  # deals this instance created: no activity on them yet
        self.known_tasks: dict[str, str] = {}  # key -> activity id
        self.listing_complete = False

    def remember(self, existing: ExistingOpportunity) -> None:
        if existing.crm_id:
            self.known_deals[existing.key] = existing.crm_id

    def deal_body(self, opportunity: Opportunity) -> dict[str, Any]:
        return mapping.deal_body(
            opportunity,
            key_code=self._key_code(),
            pipeline_id=self.settings.pipeline_id,
            stage_id=self.settings.stage_id,
        )

    # ------------------------------------------------------------------ deals

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        return [self._write_deal(opportunity) for opportunity in opportunities]

    def _look_up(self, key: str, org_id: str) -> list[str]:
        if self.settings.search_before_create == "org":
            return self.reader.org_deal_ids(org_id, key, self._key_code())
        return self.reader.search_deal_ids(key)

    def _find_deal(self, key: str, org_id: str) -> str | None:
        if key in self.known_deals:
            return self.known_deals[key]
        if self.listing_complete and self.settings.search_before_create == "unlisted":
            return None
        found = sorted(self._look_up(key, org_id), key=lambda i: (len(i), i))
        if len(found) > 1:
            log.warning("%d deals carry key %s; using the oldest (%s)", len(found), key, found[0])
        return found[0] if found else None

    def _write_deal(self, opportunity: Opportunity) -> WriteResult:
        key = opportunity.key
        try:
            body = self.deal_body(opportunity)
        except ValueError as exc:
            return WriteResult(key=key, error=str(exc))
        org_id = str(body["org_id"])
        found = self._find_deal(key, org_id)
        if found:
            self.known_deals[key] = found
            return WriteResult(key=key, crm_id=found, created=False)
        created = self._create("/api/v2/deals", body, key, lambda: self._look_up(key, org_id)[:1] or None)
        if isinstance(created, WriteResult):
            return created
        deal_id, new = created
        self.known_deals[key] = deal_id
        if new:
            self.fresh_deals.add(key)
        return WriteResult(key=key, crm_id=deal_id, created=True)

    # ------------------------------------------------------------------ activities

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        return [self._write_task(task, deal_ids) for task in tasks]

    def _find_activity(self, key: str, deal_id: str) -> str | None:
        for activity in self.reader.deal_activities(deal_id):
            if isinstance(activity, Mapping) and mapping.has_marker(activity.get("note"), key):
                return mapping.as_id(activity.get("id"))
        return None

    def _write_task(self, task: FollowUpTask, deal_ids: Mapping[str, str]) -> WriteResult:
        key = task.opportunity_key
        if key in self.known_tasks:
            return WriteResult(key=key, crm_id=self.known_tasks[key], created=False)
        deal_id = deal_ids.get(key) or self.known_deals.get(key)
        if not deal_id:
            return WriteResult(key=key, error="no deal id for this key: write the deal first")
        body = mapping.activity_body(task, deal_id, task.account_id, self.settings.activity_type)
        if key not in self.fresh_deals:
            found = self._find_activity(key, deal_id)
            if found:
                self.known_tasks[key] = found
                return WriteResult(key=key, crm_id=found, created=False)
        created = self._create("/api/v2/activities", body, key, lambda: self._find_activity(key, deal_id))
        if isinstance(created, WriteResult):
            return created
        self.known_tasks[key] = created[0]
        return WriteResult(key=key, crm_id=created[0], created=True)

    # ------------------------------------------------------------------ one create, safely

    def _create(
        self, path: str, body: dict[str, Any], key: str, look: Callable[[], Any]
    ) -> tuple[str, bool] | WriteResult:
        """(id, made by this call) or a WriteResult carrying the refusal. A daily-limit stop propagates:
        it refuses nothing, the pass ends and the next one writes this key."""
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                envelope = self.client.post(path, body, retry_if=only_rate_limited)
            except DailyLimitReached:
                raise
            except ConnectorError as exc:
                if exc.kind is FailureKind.PERMANENT:
                    log.warning("%s for %s refused: %s", path, key, exc)
                    return WriteResult(key=key, error=str(exc))
                if exc.kind is not FailureKind.TRANSIENT or attempt == self.settings.max_attempts:
                    raise
                log.info("%s for %s failed (%s); looking for it before resending", path, key, exc)
                self._backoff(attempt)
                found = look()
                if found:
                    return (found[0] if isinstance(found, list) else str(found)), False
                continue
            new_id = mapping.as_id(((envelope or {}).get("data") or {}).get("id"))
            if new_id is None:
                return WriteResult(key=key, error=f"Pipedrive answered {path} without an id")
            return new_id, True
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.backoff_seconds(attempt))

    # ------------------------------------------------------------------ dry run

    def preview(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        """The creates a real write would send for keys not already known. Makes no call."""
        out: list[dict[str, Any]] = []
        for opportunity in opportunities:
            if opportunity.key in self.known_deals:
                continue
            try:
                out.append(
                    {
                        "method": "POST",
                        "path": "/api/v2/deals",
                        "json": self.deal_body(opportunity),
                        "key": opportunity.key,
                    }
                )
            except ValueError as exc:
                out.append(
                    {"method": None, "path": None, "json": None, "key": opportunity.key, "error": str(exc)}
                )
        for task in tasks:
            deal_id = self.known_deals.get(task.opportunity_key) or f"<deal id of {task.opportunity_key}>"
            body = mapping.activity_body(task, deal_id, task.account_id, self.settings.activity_type)
            out.append(
                {"method": "POST", "path": "/api/v2/activities", "json": body, "key": task.opportunity_key}
            )
        return out
