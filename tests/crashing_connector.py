"""A connector that dies once at a chosen point of a pass's writes, for the run-pass tests of the
CRMs whose sandboxes count every deal and task (Pipedrive, Zendesk Sell): the next pass must finish
the job with exactly one deal and one task per key. The contract suite's kill test
(tests/contract/test_writes.py) covers every connector; these add the crash half-way through the
deal batch and the CRM's own look at what it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import Connector
from domain import FollowUpTask, Opportunity, WriteResult

CRASH_POINTS = ["before_tasks", "after_tasks", "mid_deals"]


class CrashingConnector:
    """Delegates to a real connector, and dies at `where` (one of CRASH_POINTS), once."""

    def __init__(self, inner: Connector, where: str) -> None:
        self.inner, self.where, self.crashed = inner, where, False
        self.name = inner.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        if self.where == "mid_deals" and not self.crashed:
            self.inner.write_deals(opportunities[: len(opportunities) // 2])
            self.crashed = True
            raise RuntimeError("worker killed half-way through the deal batch")
        return self.inner.write_deals(opportunities)

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        if not self.crashed and self.where == "before_tasks":
            self.crashed = True
            raise RuntimeError("worker killed between the deal call and the task call")
        if not self.crashed and self.where == "after_tasks":
            self.inner.write_tasks(tasks, deal_ids)
            self.crashed = True
            raise RuntimeError("worker killed before the ledger recorded the task ids")
        return self.inner.write_tasks(tasks, deal_ids)
