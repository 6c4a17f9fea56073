"""The protocol every CRM connector implements, and the bookkeeping they share.

A connector is deliberately dumb about business rules: it reads canonical records as a stream and
writes deals and tasks idempotently by opportunity key. Exactly-once across crashes comes from the
worker's ledger *plus* this idempotency: the worker may call `write_deals` or `write_tasks` again for
keys it is unsure about, and the connector must then find and return what already exists rather than
create a second record.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from domain import (
    Account,
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    Owner,
    Series,
    UsagePoint,
    WriteResult,
)
from domain.bounds import sane_amount, sane_count

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AccountRecord:
    """One account as read, with whatever usage history the source holds for it.

    File sources hold a real time series; CRM sources hold one rolling 30-day value per metric
    (`usage_is_snapshot=True`), which the worker stores per pass to build a series over time.
    """

    account: Account
    usage: list[UsagePoint] = field(default_factory=list)
    usage_is_snapshot: bool = False
    # The same time series grouped per metric, as the engine reads it: metric -> `Series` (days and
    # values as two columns, domain/usage.py). A source holding long series whose values it has
    # already checked (the worker rebuilding a record from its own stash, a SQL source, a generator)
    # fills this instead of `usage`, because one pydantic object per weekly point costs several
    # times the scoring of the account (bench/worker.py). Only for series sources: snapshot values
    # stay in `usage`.
    series: dict[str, Series] | None = None
    # Where a value came from when not from the CRM itself: canonical field or usage metric ->
    # source name (`seats_used` -> `warehouse`), so explain can say `seats_used 48 (warehouse)`.
    # Set by connectors/sql/enriched.py; empty means every value is the connector's own.
    provenance: dict[str, str] = field(default_factory=dict)
    # Values of extra CRM properties a SQL source joins on (`product_account_id` -> `p-1001`),
    # read when the CRM connector is asked for them (HubSpot `account_key_properties`).
    join_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What the CRM knows about one of our deals beyond `ExistingOpportunity`: the outcome loop's
    raw material (`worker/outcomes.py`). Every field is optional: None means "the CRM does not say".
    """

    amount: Decimal | None = None  # the amount the deal closed at (won), as the CRM holds it
    lost_reason: str | None = None
    task_completed: bool | None = None  # the follow-up task's state
    kind: str | None = None  # upsell | cross_sell, for deals the ledger does not hold
    score: int | None = None
    journey_stage: str | None = None

    def __post_init__(self) -> None:
        # The boundary rule (domain/bounds.py): an amount or score no store can hold is "not said".
        object.__setattr__(self, "amount", sane_amount(self.amount))
        object.__setattr__(self, "score", sane_count(self.score))


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's commercial state from `valid_from` on (history of plan and seats): how the
    outcome report and backtests see an expansion that no deal of ours recorded."""

    account_id: str
    valid_from: date
    plan: str | None = None
    plan_rank: int | None = None
    seats_purchased: int | None = None
    seats_used: int | None = None
    mrr: Decimal | None = None

    def __post_init__(self) -> None:
        # The boundary rule (domain/bounds.py): a value the ledger cannot hold counts as unknown
        # (None), as an unparseable one already does, instead of failing the store later.
        for name in ("plan_rank", "seats_purchased", "seats_used"):
            object.__setattr__(self, name, sane_count(getattr(self, name)))
        object.__setattr__(self, "mrr", sane_amount(self.mrr))


# OPTIONAL connector methods (read_opportunities_for, read_deal_facts, read_task_states,
# read_account_history, read_conversations) and HTTP facts the worker may use (stats, secrets to
# mask, rate key and budget) are small protocols in connectors/capabilities.py, checked with
# `isinstance`: a connector that cannot answer simply lacks the method.


@dataclass
class ReadReport:
    """Counts of records read and skipped, by reason. Every skip is logged with the record id."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    defaulted: Counter[str] = field(default_factory=Counter)

    # Each skipped record once, in words ("acc-7: invalid_account accounts row 602: ..."), for the
    # pass summary: a first run prints the sample's bad rows there, once, not as WARNING lines
    # repeated by every read of the table. Bounded: a broken export must not fill memory.
    skipped_records: dict[str, None] = field(default_factory=dict)
    MAX_SKIPPED_RECORDS = 50

    def skip(self, reason: str, record_id: str | None, detail: str = "") -> None:
        self.skipped[reason] += 1
        line = f"{record_id or '?'}: {reason} {detail}".strip()
        if len(self.skipped_records) < self.MAX_SKIPPED_RECORDS:
            self.skipped_records.setdefault(line, None)
        log.info("skipped record %s", line)

    def default(self, reason: str, record_id: str | None, detail: str = "") -> None:
        self.defaulted[reason] += 1
        log.info("defaulted field on record %s: %s %s", record_id or "?", reason, detail)


def usage_point(
    report: ReadReport, account_id: str, metric: str, period_start: date, value: float
) -> UsagePoint | None:
    """The one way a connector's mapping turns a read number into a UsagePoint: a value outside
    the domain's range (infinite, negative, over MAX_USAGE_VALUE) drops that metric for this
    account, counted in `report`, instead of raising out of the pass."""
    try:
        return UsagePoint(account_id=account_id, metric=metric, period_start=period_start, value=value)
    except ValidationError as exc:
        report.default(f"invalid_usage_{metric}", account_id, exc.errors()[0]["msg"][:120])
        return None


@runtime_checkable
class Connector(Protocol):
    """What the worker needs from a CRM. Reads stream; writes are idempotent by opportunity key."""

    name: str

    def data_as_of(self) -> datetime | None:
        """The moment the source's data describes, when it is a fixed snapshot (the bundled
        sample); None for a live CRM, where the wall clock is right."""
        ...

    def read_owners(self) -> Iterator[Owner]: ...

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        """Stream accounts; all of them when `cursor` is None, else those changed since it."""
        ...

    def next_cursor(self) -> str | None:
        """The cursor to store once the pass's writes have succeeded (valid after the stream ends)."""
        ...

    def read_baskets(self, report: ReadReport) -> Iterator[tuple[str, frozenset[str]]]:
        """(account id, products owned) for every account: the input of co-purchase affinity."""
        ...

    def read_opportunities(self) -> Iterator[ExistingOpportunity]:
        """Deals this tool created earlier, open and closed, for de-duplication and cooldowns."""
        ...

    def write_deals(self, opportunities: Sequence[Opportunity]) -> list[WriteResult]:
        """Create or find one deal per opportunity key (at most 100 per call)."""
        ...

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        """Create or find one follow-up task per opportunity key, attached to its deal."""
        ...

    def preview_writes(
        self, opportunities: Sequence[Opportunity], tasks: Sequence[FollowUpTask]
    ) -> list[dict[str, Any]]:
        """The exact requests a real write would send, for `--dry-run`. Makes no call."""
        ...

    def close(self) -> None: ...
