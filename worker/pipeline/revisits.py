"""Accounts an incremental pass must look at although their CRM record did not change.

A cursor sees records that changed; it does not see a note logged on a company, a deal moved to
another stage, or an account a webhook named. Those accounts are re-read by id (capability
`ReadsAccountsById`) after the changed ones, so one pass scores both, each account once:
- accounts with a conversation logged since the last successful pass started (capability
  `ListsAccountsHeardSince`; the watermark is wall-clock time, minus an overlap for the CRM's
  search index lag), so what a customer said yesterday is heard today (issue #13);
- companies of deals named by deal webhooks (capability `ResolvesDealAccounts`: the deal ->
  company lookup is done here, on the worker, never in the webhook receiver; issue #11);
- accounts named by company webhooks;
- accounts with new usage rows in a SQL source joined on the account id (capability
  `ListsAccountsWithNewUsage`, the same watermark; issue #14): `:since` bound to it finds them, then
  their whole history window is read as on any pass.
Connectors without `ReadsAccountsById` keep the cursor-only behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from connectors.base import AccountRecord, Connector, ReadReport
from connectors.capabilities import (
    ListsAccountsHeardSince,
    ListsAccountsWithNewUsage,
    ReadsAccountsById,
    ResolvesDealAccounts,
)

log = logging.getLogger(__name__)

HEARD_OVERLAP = timedelta(
    minutes=10
)  # engagements reach HubSpot's search index moments after they are logged


def heard_watermark(last_pass_started: datetime | None) -> datetime | None:
    """Conversations logged from this moment on are new to this pass."""
    return None if last_pass_started is None else last_pass_started - HEARD_OVERLAP


def accounts_to_revisit(
    connector: object,
    heard_since: datetime | None,
    flagged_accounts: Iterable[str] = (),
    flagged_deals: Iterable[str] = (),
) -> list[str]:
    """Account ids to re-read by id on an incremental pass (sorted, each once)."""
    ids = {str(a) for a in flagged_accounts if a}
    deals = [str(d) for d in flagged_deals if d]
    if deals and isinstance(connector, ResolvesDealAccounts):
        ids.update(connector.accounts_of_deals(deals))
    if heard_since is not None and isinstance(connector, ListsAccountsHeardSince):
        heard = connector.accounts_heard_since(heard_since)
        log.info("%d accounts said something since %s", len(heard), heard_since.isoformat())
        ids.update(heard)
    if heard_since is not None and isinstance(connector, ListsAccountsWithNewUsage):
        used = connector.accounts_with_new_usage(heard_since)
        log.info("%d accounts have new usage rows since %s", len(used), heard_since.isoformat())
        ids.update(used)
    return sorted(ids)


def read_with_revisits(
    connector: Connector, cursor: str | None, read: ReadReport, revisit: list[str]
) -> Iterator[AccountRecord]:
    """The accounts changed since `cursor`, then the `revisit` ones not among them. A full pass
    (no cursor) reads everything anyway, so it revisits nothing. Only the revisit ids are looked
    for in the listing: keeping every id listed grew the reading worker by about 64 MB over a
    1,000,000-account pass (bench/scale.py) for a set a full pass never reads."""
    wanted = set(revisit) if cursor is not None and isinstance(connector, ReadsAccountsById) else set()
    listed: set[str] = set()
    for record in connector.read_accounts(cursor, read):
        if record.account.id in wanted:
            listed.add(record.account.id)
        yield record
    if not wanted or not isinstance(connector, ReadsAccountsById):
        return
    rest = [a for a in revisit if a not in listed]
    if rest:
        yield from connector.read_accounts_by_id(rest, read)
