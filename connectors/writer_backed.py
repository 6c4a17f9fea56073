"""The Connector write methods of a CRM whose writing lives in its own writer object (Pipedrive,
Zendesk Sell): the connector reads, the writer writes, and these three methods only hand over.
A mixin, like `connectors.http.ApiBacked`, so the next CRM with a writer does not copy them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from domain import FollowUpTask, Opportunity, WriteResult


class DealWriter(Protocol):
    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]: ...

    def write_tasks(
        self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]
    ) -> list[WriteResult]: ...

    def preview(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]: ...


class WriterBacked:
    """Mix into a connector that sets `self.writer`."""

    writer: DealWriter

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        return self.writer.write_deals(opportunities)

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        return self.writer.write_tasks(tasks, deal_ids)

    def preview_writes(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        """The requests a real write would send; makes no call (the writer's `preview` says how)."""
        return self.writer.preview(opportunities, tasks)
