"""Optional connector capabilities, each a small protocol checked with `isinstance`.

`connectors.base.Connector` is what every CRM must do. These are what some CRMs *can* do; the worker
asks `isinstance(connector, ReadsDealFacts)` and does without when the answer is no. A protocol (not a
`getattr` on a method name) keeps the signature in one typed place: a connector whose method drifts
from it fails the type checker, not a pass at 2 a.m.

`runtime_checkable` only checks that the method exists, not its signature; the contract suite
(tests/contract) calls each capability a registered connector claims, so a wrong signature fails there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.base import AccountRecord, AccountState, DealFacts, ReadReport
from connectors.http import ClientStats
from connectors.ratelimit import RateBudget, RateLimiter
from domain import Conversation, ExistingOpportunity


@runtime_checkable
class ReadsOpportunitiesFor(Protocol):
    """Our deals on these accounts only. With it, an incremental pass reads each chunk's accounts'
    deals instead of every deal ever created (and syncs outcomes for those accounts only; a full
    pass still reads everything, which is how deleted deals are noticed). HubSpot has it."""

    def read_opportunities_for(self, account_ids: Iterable[str]) -> Iterator[ExistingOpportunity]: ...


@runtime_checkable
class ReadsDealFacts(Protocol):
    """Won amount, lost reason and follow-up task state of our deals, by opportunity key: the
    outcome loop's input. Keys the CRM does not know are left out. Files, HubSpot, Zendesk Sell."""

    def read_deal_facts(self, keys: Sequence[str]) -> Mapping[str, DealFacts]: ...


@runtime_checkable
class ReadsTaskStates(Protocol):
    """Whether each follow-up task (by the CRM task id the worker recorded) is completed; ids the CRM
    does not know are left out. Wins over `DealFacts.task_completed`. HubSpot (`hs_task_status`)."""

    def read_task_states(self, task_ids: Sequence[str]) -> Mapping[str, bool]: ...


@runtime_checkable
class ReadsAccountHistory(Protocol):
    """Past states of accounts (plan, seats), oldest first per account, for backtests and natural
    expansion in control groups. Files (`account_history` table), HubSpot (`propertiesWithHistory`)."""

    def read_account_history(self) -> Iterator[AccountState]: ...


@runtime_checkable
class ReadsConversations(Protocol):
    """Notes, emails and calls logged on these accounts since `since` (all when None): the input
    of text signals (issue #13)."""

    def read_conversations(
        self, account_ids: Sequence[str], since: datetime | None
    ) -> Iterator[Conversation]: ...


@runtime_checkable
class ReadsAccountsById(Protocol):
    """These accounts as they are now, whether or not they changed since the cursor: an incremental
    pass adds accounts a cursor cannot see change (a new conversation, a deal that moved, a
    webhook). Ids the CRM does not know are left out. HubSpot has it."""

    def read_accounts_by_id(
        self, account_ids: Sequence[str], report: ReadReport
    ) -> Iterator[AccountRecord]: ...


@runtime_checkable
class ResolvesDealAccounts(Protocol):
    """The accounts these CRM deals belong to: a deal webhook names a deal, the worker re-scores
    its account (the lookup is the worker's, never the webhook receiver's). HubSpot has it."""

    def accounts_of_deals(self, deal_ids: Sequence[str]) -> list[str]: ...


@runtime_checkable
class ListsAccountsHeardSince(Protocol):
    """Accounts with a conversation logged since `since`: an incremental pass re-scores them even
    when their CRM record did not change (a note does not touch the company). HubSpot has it."""

    def accounts_heard_since(self, since: datetime) -> list[str]: ...


@runtime_checkable
class ListsAccountsWithNewUsage(Protocol):
    """Accounts with usage rows for periods from `since` on: an incremental pass re-scores them
    even when their CRM record did not change (usage lives outside the CRM). SQL sources joined on
    the account id have it (connectors/sql/enriched.py)."""

    def accounts_with_new_usage(self, since: datetime) -> list[str]: ...


@runtime_checkable
class CallsHttpApi(Protocol):
    """A connector that talks to a CRM over HTTP through `connectors.http.ApiClient`.

    This is all the worker may know about that client: it never reaches into a connector's
    settings, client or token. It asks for the values to mask in logs, an opaque key naming the
    CRM account whose rate budget the calls spend (never the token itself), that budget, and puts
    a shared (cross-process) limiter in front of the connector's own."""

    def http_stats(self) -> ClientStats:
        """Calls, statuses, retries, 429s and limiter wait so far, for metrics and run reports."""
        ...

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line (the token): the worker masks them."""
        ...

    def rate_key(self) -> str:
        """A stable, non-secret name for the CRM account (portal/token) whose budget calls spend."""
        ...

    def rate_budget(self) -> RateBudget:
        """The CRM's documented request budget, as this connector is configured to spend it."""
        ...

    def add_limiter(self, limiter: RateLimiter) -> None:
        """Acquire `limiter` too before every call, after the connector's own (idempotent)."""
        ...


class DailyBudget(Protocol):
    """A count of what the CRM's daily allowance has been spent on today. `charge` raises the
    connector's own stop error (a clean end of the pass, resumed tomorrow) when `cost` would pass
    `allowed`, and then counts nothing."""

    allowed: int

    def charge(self, cost: int) -> None: ...

    @property
    def spent(self) -> int: ...

    @property
    def remaining(self) -> int: ...


@runtime_checkable
class SharesDailyBudget(Protocol):
    """A CRM whose API allowance is counted per day across every caller of the account (Pipedrive's
    daily tokens: 30,000 x plan multiplier x seats). In one process the connector counts its own
    spending; the worker, running many processes, gives it one shared count instead (in Redis) so
    that together they stop at the share this tool may use."""

    def daily_allowance(self) -> int:
        """Units (tokens) this tool may spend per day, after the configured share for other apps."""
        ...

    def share_daily_budget(self, budget: DailyBudget) -> None:
        """Count every call against `budget` from now on, instead of the connector's own count."""
        ...


@runtime_checkable
class ReadsImportedRecords(Protocol):
    """A CRM a customer imported another CRM's export into (`oppworker migrate`): its accounts and
    deals with the old CRM's id / opportunity key the import carried into a custom field (None
    where the import carried none). Pipedrive (a Sell export, issue 12)."""

    def imported_accounts(self) -> Iterator[tuple[str, str, str | None]]:
        """(account id, name, the old CRM's account id it carries)."""
        ...

    def imported_deals(self) -> Iterator[tuple[str, str, str | None]]:
        """(deal id, title, the opportunity key it carries)."""
        ...
