"""Exactly-once writes of deals and their follow-up tasks.

Deals: batch create with inline associations, then a batch read by `idProperty` for any input the
create refused. Chosen over batch upsert + a v4 association call because
- upsert inputs carry no associations (the spec's `SimplePublicObjectBatchInputUpsert`), so a new
  deal would exist for a moment (or, after a crash, for good) without its company, and every batch
  would cost two calls; create carries the company association in the same atomic call;
- the unique `oppworker_key` property makes HubSpot itself refuse a second deal with the same key,
  so a rerun, a crash-recovery call or a retry after a timeout cannot duplicate: the refused inputs
  (per-item errors in a 207, asked for with `objectWriteTraceId`) are looked up by key and returned
  as `created=False`. The normal path is one call per 100 deals; the lookup happens only after a
  refusal, and it reads by key (batch read), not through search, whose index lags writes;
- an upsert would also overwrite a deal the CSM has since edited (stage, amount); create never does.

Every input carries a unique `objectWriteTraceId` (the opportunity key; keys are de-duplicated per
batch), which is what makes HubSpot answer 207 per input instead of refusing the batch whole. A
whole-batch 400/409 CONFLICT is handled anyway (`_after_whole_batch_refusal`): a lookup by key, then
only the rest is resent.

Tasks have no unique property, so their idempotency comes from the marker line that ends each body
(`oppworker-key: <key>`), read back through the deal's task associations (v4 batch read, consistent
unlike search). The lookup is skipped only for a deal this process created moments ago and has not
yet sent a task for: such a deal cannot have a task. Task creates are never retried blindly: after a
timeout or 5xx we look first, then create only what is missing. Items a 207 refused for a transient
reason (not a validation error) are resent within the call the same way: deals directly (the unique
key guards them), tasks after a lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.http import backoff_seconds
from connectors.hubspot import mapping
from connectors.hubspot.batch_errors import chunks, error_keys, error_text, is_transient
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import HubSpotSettings
from domain import ConnectorError, FailureKind, FollowUpTask, Opportunity, WriteResult

log = logging.getLogger(__name__)


class Writer:
    def __init__(self, client: HubSpotClient, settings: HubSpotSettings) -> None:
        self.client = client
        self.settings = settings
        self.fresh_deals: set[str] = set()  # keys whose deal this process created
        self.task_sent: set[str] = set()  # keys whose task create this process has sent

    # -- payloads ----------------------------------------------------------------------------
    def deal_requests(self, opportunities: Sequence[Opportunity]) -> list[dict[str, Any]]:
        s = self.settings
        return [
            {
                "method": "POST",
                "path": self.client.paths.batch("deals", "create"),
                "json": {
                    "inputs": [mapping.deal_create_input(o, s.deal_pipeline, s.deal_stage) for o in chunk]
                },
            }
            for chunk in chunks(opportunities, s.batch_size)
        ]

    def task_requests(
        self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        s = self.settings
        return [
            {
                "method": "POST",
                "path": self.client.paths.batch("tasks", "create"),
                "json": {
                    "inputs": [
                        mapping.task_create_input(t, deal_ids[t.opportunity_key], s.task_type) for t in chunk
                    ]
                },
            }
            for chunk in chunks(tasks, s.batch_size)
        ]

    # -- deals -------------------------------------------------------------------------------
    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        unique = list({o.key: o for o in opportunities}.values())
        attempts = self.settings.max_attempts
        for request in self.deal_requests(unique):
            inputs = request["json"]["inputs"]
            for attempt in range(1, attempts + 1):
                try:
                    body = self.client.batch_create("deals", inputs, idempotent=True) or {}
                except ConnectorError as exc:
                    inputs = self._after_whole_batch_refusal(inputs, exc, results)
                    if not inputs:
                        break
                    if attempt == attempts:
                        raise
                    continue
                refused: dict[str, tuple[str, bool]] = {}  # key -> (reason, worth resending)
                for deal in body.get("results") or []:
                    key = (deal.get("properties") or {}).get(mapping.KEY_PROPERTY) or deal.get(
                        "objectWriteTraceId"
                    )
                    if key:
                        results[key] = WriteResult(key=key, crm_id=str(deal["id"]), created=True)
                        self.fresh_deals.add(key)
                for error in body.get("errors") or []:
                    for key in error_keys(error):
                        refused[key] = (error_text(error), is_transient(error))
                sent = [i["properties"][mapping.KEY_PROPERTY] for i in inputs]
                missing = [k for k in sent if k not in results and k not in refused]
                for key in missing:  # neither created nor refused by name: find out, never assume
                    refused[key] = ("not in the create response", True)
                if not refused:
                    break
                found = self._deals_by_key(list(refused))
                resend: list[str] = []
                for key, (reason, transient) in refused.items():
                    if key in found:
                        results[key] = WriteResult(key=key, crm_id=found[key], created=False)
                    elif transient and attempt < attempts:
                        resend.append(key)
                    else:
                        log.warning("deal for %s not created: %s", key, reason)
                        results[key] = WriteResult(key=key, error=reason)
                if not resend:
                    break
                # A 207's transient per-item failure (HubSpot's INTERNAL_ERROR for one input): the
                # unique key makes a resend safe, so finish it in this pass rather than the next.
                log.info("resending %d deal(s) a 207 refused for a transient reason", len(resend))
                self._pause(attempt)
                inputs = [i for i in inputs if i["properties"][mapping.KEY_PROPERTY] in set(resend)]
        return [results[o.key] for o in opportunities]

    def _after_whole_batch_refusal(
        self, inputs: list[dict[str, Any]], exc: ConnectorError, results: dict[str, WriteResult]
    ) -> list[dict[str, Any]]:
        """A batch create HubSpot refused whole (400/409 CONFLICT): the inputs still to send.

        Without `objectWriteTraceId` on every input (or if HubSpot does not honour it for a custom
        unique property), one duplicate key fails the whole batch with a single CONFLICT naming only
        the first duplicate (https://developers.hubspot.com/docs/api-reference/latest/error-handling,
        "Multi-status errors"; hubspot-api-python#51). Nothing in the batch was created, and the body
        cannot tell us which other keys exist, so we read every key of the batch by `idProperty`,
        record what exists as `created=False`, and return the rest to resend. If none of the keys
        exists, the refusal was about something else (a validation error): raise it unchanged."""
        if exc.status not in (400, 409):
            raise exc
        keys = [i["properties"][mapping.KEY_PROPERTY] for i in inputs]
        found = self._deals_by_key(keys)
        if not found:
            raise exc
        log.info(
            "batch create refused whole (HTTP %s); %d of %d key(s) exist, resending the rest",
            exc.status,
            len(found),
            len(keys),
        )
        for key, deal_id in found.items():
            results[key] = WriteResult(key=key, crm_id=deal_id, created=False)
        return [i for i in inputs if i["properties"][mapping.KEY_PROPERTY] not in found]

    def _pause(self, attempt: int) -> None:
        time.sleep(backoff_seconds(attempt, self.settings.backoff_base_seconds))

    def _deals_by_key(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(keys, self.settings.batch_size):
            try:
                body = self.client.batch_read(
                    "deals", chunk, [mapping.KEY_PROPERTY], id_property=mapping.KEY_PROPERTY
                )
            except ConnectorError as exc:
                if exc.status == 400:  # HubSpot refuses idProperty reads on a missing/non-unique property
                    raise ConnectorError(
                        f"cannot look deals up by {mapping.KEY_PROPERTY}; run `oppworker hubspot setup` "
                        f"to create it as a unique deal property ({exc})",
                        FailureKind.CONFIG,
                        status=400,
                        correlation_id=exc.correlation_id,
                    ) from None
                raise
            for deal in (body or {}).get("results") or []:
                key = (deal.get("properties") or {}).get(mapping.KEY_PROPERTY)
                if key:
                    found[key] = str(deal["id"])
        return found

    # -- tasks -------------------------------------------------------------------------------
    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        pending: list[FollowUpTask] = []
        for task in {t.opportunity_key: t for t in tasks}.values():
            if not deal_ids.get(task.opportunity_key):
                results[task.opportunity_key] = WriteResult(
                    key=task.opportunity_key, error="no deal id for this key"
                )
            else:
                pending.append(task)
        must_look = [
            t
            for t in pending
            if t.opportunity_key not in self.fresh_deals or t.opportunity_key in self.task_sent
        ]
        if must_look:
            existing = self._tasks_by_key({t.opportunity_key: deal_ids[t.opportunity_key] for t in must_look})
            for key, task_id in existing.items():
                results[key] = WriteResult(key=key, crm_id=task_id, created=False)
        to_create = [t for t in pending if t.opportunity_key not in results]
        for chunk in chunks(to_create, self.settings.batch_size):
            results.update(self._create_tasks(chunk, deal_ids))
        return [results[t.opportunity_key] for t in tasks]

    def _create_tasks(
        self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]
    ) -> dict[str, WriteResult]:
        results: dict[str, WriteResult] = {}
        remaining = list(tasks)
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            [request] = self.task_requests(remaining, deal_ids)
            self.task_sent.update(t.opportunity_key for t in remaining)
            try:
                body = self.client.batch_create("tasks", request["json"]["inputs"], idempotent=False) or {}
            except ConnectorError as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                # The create may have happened: back off, then look before sending it again.
                log.info("task create failed (%s); checking what exists before retrying", exc)
                time.sleep(
                    exc.retry_after
                    if exc.retry_after is not None
                    else backoff_seconds(attempt, self.settings.backoff_base_seconds)
                )
                existing = self._tasks_by_key(
                    {t.opportunity_key: deal_ids[t.opportunity_key] for t in remaining}
                )
                for key, task_id in existing.items():
                    results[key] = WriteResult(key=key, crm_id=task_id, created=True)
                remaining = [t for t in remaining if t.opportunity_key not in existing]
                if not remaining:
                    return results
                continue
            transient: set[str] = set()
            for task in body.get("results") or []:
                key = mapping.marker_key((task.get("properties") or {}).get("hs_task_body")) or task.get(
                    "objectWriteTraceId"
                )
                if key:
                    results[key] = WriteResult(key=key, crm_id=str(task["id"]), created=True)
            for error in body.get("errors") or []:
                for key in error_keys(error):
                    results[key] = WriteResult(key=key, error=error_text(error))
                    if is_transient(error):
                        transient.add(key)
            for task in remaining:
                if task.opportunity_key not in results:
                    results[task.opportunity_key] = WriteResult(
                        key=task.opportunity_key, error="not in the create response"
                    )
                    transient.add(task.opportunity_key)
            if not transient or attempt == attempts:
                return results
            # A 207's transient per-item failure: look (the item may exist after all), then resend
            # only what is missing, in this pass rather than the next.
            log.info(
                "task create refused %d item(s) for a transient reason; checking before resending",
                len(transient),
            )
            self._pause(attempt)
            remaining = [t for t in remaining if t.opportunity_key in transient]
            existing = self._tasks_by_key({t.opportunity_key: deal_ids[t.opportunity_key] for t in remaining})
            for key, task_id in existing.items():
                results[key] = WriteResult(key=key, crm_id=task_id, created=True)
            remaining = [t for t in remaining if t.opportunity_key not in existing]
            if not remaining:
                return results
        return results

    def _tasks_by_key(self, deal_for_key: Mapping[str, str]) -> dict[str, str]:
        """key -> id of a task associated with the key's deal whose body ends with the key's marker."""
        wanted = {deal_id: key for key, deal_id in deal_for_key.items()}
        task_ids: list[str] = []
        for chunk in chunks(list(wanted), self.settings.batch_size):
            body = self.client.association_batch_read("deals", "tasks", chunk) or {}
            for row in body.get("results") or []:
                task_ids.extend(str(t["toObjectId"]) for t in row.get("to") or [])
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(task_ids)), self.settings.batch_size):
            body = self.client.batch_read("tasks", chunk, ["hs_task_body"]) or {}
            for task in body.get("results") or []:
                key = mapping.marker_key((task.get("properties") or {}).get("hs_task_body"))
                if key is not None and key in deal_for_key:
                    found.setdefault(key, str(task["id"]))
        return found
