"""Reading our deals, their outcome facts and our tasks' states back from HubSpot.

Apart from the connector because these reads share one cache (the facts of every deal the pass
has already read, so the outcome loop costs no extra call for them) and one rule (our deals are
found by our key property, never by listing every deal), which the account reading has no part in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

from connectors.base import DealFacts
from connectors.hubspot import mapping, paging
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import HubSpotSettings
from domain import ExistingOpportunity

log = logging.getLogger(__name__)


class DealReader:
    def __init__(self, client: HubSpotClient, settings: HubSpotSettings) -> None:
        self._client = client
        self._settings = settings
        self.facts: dict[str, DealFacts] = {}  # deal facts by key, from this pass's read_opportunities

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        """Deals carrying our key, open and closed. Search (not list) so that only our deals are
        read; the search index lags writes by moments, which the worker's ledger covers."""
        filters = [{"propertyName": mapping.KEY_PROPERTY, "operator": "HAS_PROPERTY"}]
        self.facts = {}
        for page in paging.iter_search(self._client, "deals", filters, mapping.DEAL_READ_PROPERTIES):
            for deal in page:
                existing = mapping.deal_to_existing(deal)
                if existing is None:
                    log.warning("deal %s has our key but no account id; ignored", deal.get("id"))
                    continue
                self.facts[existing.key] = mapping.deal_facts(deal)
                yield existing

    def read_deal_facts(self, keys: Sequence[str]) -> dict[str, DealFacts]:
        """Capability `ReadsDealFacts` (connectors/capabilities.py): amount, lost reason, kind, score by key.

        The pass has just read every deal of ours with these properties (read_opportunities), so
        those keys cost no call; others (not yet in the search index, or deleted) are read by key,
        100 per batch read. Keys HubSpot does not know are left out."""
        facts = {k: self.facts[k] for k in keys if k in self.facts}
        missing = [k for k in dict.fromkeys(keys) if k not in facts]
        for start in range(0, len(missing), self._settings.batch_size):
            chunk = missing[start : start + self._settings.batch_size]
            body = (
                self._client.batch_read(
                    "deals",
                    chunk,
                    mapping.DEAL_READ_PROPERTIES,
                    id_property=mapping.KEY_PROPERTY,
                    endpoint="deals.facts",
                )
                or {}
            )
            for deal in body.get("results") or []:
                key = (deal.get("properties") or {}).get(mapping.KEY_PROPERTY)
                if key:
                    facts[key] = self.facts[key] = mapping.deal_facts(deal)
        return facts

    def read_task_states(self, task_ids: Sequence[str]) -> dict[str, bool]:
        """Capability `ReadsTaskStates`: whether each follow-up task is completed
        (`hs_task_status == COMPLETED`, https://developers.hubspot.com/docs/api/crm/tasks), by task
        id, 100 per batch read. Ids HubSpot does not know (deleted tasks) are left out. Costs one
        call per 100 tasks per pass; `track_task_states: false` turns it off."""
        if not self._settings.track_task_states:
            return {}
        states: dict[str, bool] = {}
        ids = list(dict.fromkeys(str(t) for t in task_ids))
        for start in range(0, len(ids), self._settings.batch_size):
            chunk = ids[start : start + self._settings.batch_size]
            body = self._client.batch_read("tasks", chunk, ["hs_task_status"], endpoint="tasks.states")
            for task in (body or {}).get("results") or []:
                status = (task.get("properties") or {}).get("hs_task_status")
                states[str(task["id"])] = str(status or "").upper() == "COMPLETED"
        return states

    def read_opportunities_for(self, account_ids: Iterable[str]) -> Iterator[ExistingOpportunity]:
        """Our deals on these accounts only (capability `ReadsOpportunitiesFor`).

        An incremental pass assesses only the accounts that changed, so it needs only their deals;
        reading every deal we ever created costs one search page per 200 deals on every pass, which
        dominates an incremental pass's calls. Search `IN` on `oppworker_account_id`, 100 values per
        query (the docs give no figure for IN lists; 100 keeps the request small).
        """
        ids = list(dict.fromkeys(str(a) for a in account_ids))
        for start in range(0, len(ids), 100):
            filters = [
                {"propertyName": "oppworker_account_id", "operator": "IN", "values": ids[start : start + 100]}
            ]
            for page in paging.iter_search(self._client, "deals", filters, mapping.DEAL_READ_PROPERTIES):
                for deal in page:
                    existing = mapping.deal_to_existing(deal)
                    if existing is not None:
                        self.facts[existing.key] = mapping.deal_facts(deal)  # read_deal_facts: no call
                        yield existing
