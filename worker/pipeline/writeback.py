"""Writing opportunities back exactly once: ledger first, then the CRM, one batch at a time.

For each batch of at most 100 keys:
1. record every key as `pending` with its payload (a crash from here on is recoverable);
2. `write_deals` for keys without a deal id; record each deal id as it comes back;
3. `write_tasks` for keys with a deal but no task id; record each task id.
The connector's writes are idempotent by key, so repeating step 2 or 3 for a key whose result was
lost (timeout, crash before the ledger commit) finds the existing record instead of creating one.
A deal is therefore never left without its task for longer than until the next pass resumes it.

One conversation per account (issue #15): an account's other offers in the same plan carry the
lead offer's key (`FollowUpTask.lead_key`). Their deals are written as every deal; their task is
the lead's, never written for them. The ledger records the lead's task id for the lead and every
key its task covers in one transaction, and a covered key is done once it has both its deal and
that task id, whichever comes first (batches of the Celery graph may write them in any order). A
rerun or a crash between deal and task therefore finds the lead's task by its key as before and
never creates a second one.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Connector
from domain import Contribution, FollowUpTask, Opportunity
from worker.store.ledger import Ledger


def payload_of(opportunity: Opportunity, task: FollowUpTask) -> str:
    return json.dumps(
        {"opportunity": opportunity.model_dump(mode="json"), "task": task.model_dump(mode="json")}
    )


def from_payload(text: str) -> tuple[Opportunity, FollowUpTask]:
    data = json.loads(text)
    opportunity = data["opportunity"]
    opportunity["explanation"] = tuple(Contribution(**c) for c in opportunity.get("explanation", ()))
    return Opportunity.model_validate(opportunity), FollowUpTask.model_validate(data["task"])


def pending_rows(batch: Sequence[tuple[Opportunity, FollowUpTask]]) -> list[dict[str, Any]]:
    """Ledger rows for keys about to be written: enough to finish them without rescoring."""
    return [
        {
            "key": o.key,
            "account_id": o.account_id,
            "playbook": o.playbook,
            "offer": o.offer,
            "kind": o.kind.value,
            "score": o.score,
            "payload": payload_of(o, t),
        }
        for o, t in batch
    ]


@dataclass
class WriteTally:
    deals_created: int = 0
    deals_existing: int = 0
    tasks_created: int = 0
    tasks_existing: int = 0
    resumed: int = 0
    claimed_elsewhere: int = 0  # keys another writer was writing at the same moment
    errors: Counter[str] = field(default_factory=Counter)


class WriteBack:
    def __init__(
        self,
        connector: Connector,
        ledger: Ledger,
        crm: str,
        run_id: str,
        now: datetime,
        batch_size: int = 100,
        dry_run: bool = False,
        lease: timedelta = timedelta(seconds=120),
        on_counted: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self.connector, self.ledger, self.crm, self.run_id = connector, ledger, crm, run_id
        self.now, self.batch_size, self.dry_run, self.lease = now, batch_size, dry_run, lease
        self.tally = WriteTally()
        # Called with each step's counts right after the ledger recorded that step, so a count
        # outlives a writer killed later in the same batch (the worker keeps them in Redis).
        self.on_counted = on_counted
        self.previews: list[dict[str, Any]] = []
        self._buffer: list[tuple[Opportunity, FollowUpTask]] = []

    def add(self, opportunity: Opportunity, task: FollowUpTask) -> None:
        self._buffer.append((opportunity, task))
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            if self.dry_run:
                self.previews.extend(
                    self.connector.preview_writes(
                        [o for o, _ in batch], [t for _, t in batch if not t.shared]
                    )
                )
            else:
                self._write(batch)

    def resume_unfinished(self) -> None:
        """Finish what an earlier pass started: the first thing a pass does."""
        rows = self.ledger.unfinished(self.crm)
        self.tally.resumed += len(rows)
        for start in range(0, len(rows), self.batch_size):
            self._write([from_payload(r["payload"]) for r in rows[start : start + self.batch_size]])

    def _write(self, batch: Sequence[tuple[Opportunity, FollowUpTask]]) -> None:
        self.ledger.record_pending(self.crm, self.run_id, pending_rows(batch), self.now)
        # Only the keys this writer holds the lease on: a concurrent copy of the same batch skips
        # them (they stay unfinished for it), so no task is created twice.
        owner = uuid.uuid4().hex
        mine = self.ledger.claim(self.crm, [o.key for o, _ in batch], owner, self.lease)
        self.tally.claimed_elsewhere += len({o.key for o, _ in batch}) - len(mine)
        try:
            self._write_claimed([(o, t) for o, t in batch if o.key in mine], owner)
        finally:
            self.ledger.release(self.crm, mine, owner)

    def _write_claimed(self, batch: Sequence[tuple[Opportunity, FollowUpTask]], owner: str) -> None:
        if not batch:
            return
        state = self.ledger.rows(self.crm, [o.key for o, _ in batch])
        need_deal = [o for o, _ in batch if not state[o.key]["deal_id"]]
        deal_ids = {k: r["deal_id"] for k, r in state.items() if r["deal_id"]}
        if need_deal:
            written: dict[str, str] = {}
            counts: Counter[str] = Counter()
            for result in self.connector.write_deals(need_deal):
                if result.ok:
                    assert result.crm_id is not None
                    written[result.key] = result.crm_id
                    counts["deals_created" if result.created else "deals_existing"] += 1
                else:
                    counts[f"error:deal: {result.error}"] += 1
            self.ledger.record_deals(self.crm, written, self.now)
            self._count(counts)
            deal_ids.update(written)
        waiting_for = [t for _, t in batch if t.shared and not state[t.opportunity_key]["task_id"]]
        if waiting_for:
            self._take_lead_tasks(waiting_for)
        need_task = [
            t
            for _, t in batch
            if not t.shared and t.opportunity_key in deal_ids and not state[t.opportunity_key]["task_id"]
        ]
        if need_task:
            # Renew the lease before the call whose duplicate would be a second task.
            held = self.ledger.claim(self.crm, [t.opportunity_key for t in need_task], owner, self.lease)
            self.tally.claimed_elsewhere += sum(1 for t in need_task if t.opportunity_key not in held)
            need_task = [t for t in need_task if t.opportunity_key in held]
        if need_task:
            done: dict[str, str] = {}
            counts = Counter()
            for result in self.connector.write_tasks(need_task, deal_ids):
                if result.ok:
                    assert result.crm_id is not None
                    done[result.key] = result.crm_id
                    counts["tasks_created" if result.created else "tasks_existing"] += 1
                else:
                    counts[f"error:task: {result.error}"] += 1
            covered = {
                k: done[t.opportunity_key] for t in need_task if t.opportunity_key in done for k in t.covers
            }
            self.ledger.record_tasks(self.crm, done, self.now, covered=covered)
            self._count(counts)

    def _take_lead_tasks(self, tasks: Sequence[FollowUpTask]) -> None:
        """Covered keys whose lead's task was recorded without them (a pass that died between the
        two, or a ledger written before the lead covered them) take its id now; the others wait
        for their lead's writer, which records them with its own task."""
        leads = self.ledger.rows(self.crm, {t.lead_key for t in tasks if t.lead_key})
        covered = {
            t.opportunity_key: leads[t.lead_key]["task_id"]
            for t in tasks
            if t.lead_key in leads and leads[t.lead_key]["task_id"]
        }
        self.ledger.record_tasks(self.crm, {}, self.now, covered=covered)

    def _count(self, counts: Counter[str]) -> None:
        """Add one step's counts to the tally (`error:<reason>` entries go to `errors`)."""
        for name, n in counts.items():
            if name.startswith("error:"):
                self.tally.errors[name.removeprefix("error:")] += n
            else:
                setattr(self.tally, name, getattr(self.tally, name) + n)
        if self.on_counted is not None and counts:
            self.on_counted(dict(counts))
