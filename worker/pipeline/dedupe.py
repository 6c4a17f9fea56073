"""One account listed twice in a pass counts once, in both drivers.

A CRM can list one account twice (a record edited while pages are read, overlapping search
windows): the first listing counts, repeats are skipped and counted as `duplicate_account_id`.
Where the ids seen so far are kept differs by driver (a set in the in-process run, a Redis set on
the workers so memory does not grow with the portal); `first_listings` takes that as `mark_seen`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connectors.base import AccountRecord, ReadReport

# Given ids, mark them seen and say for each whether it was new.
MarkSeen = Callable[[Sequence[str]], Sequence[bool]]


def first_listings(chunk: list[AccountRecord], read: ReadReport, mark_seen: MarkSeen) -> list[AccountRecord]:
    """The chunk without accounts already listed in this pass; each repeat is counted in `read`."""
    first = mark_seen([record.account.id for record in chunk])
    kept = []
    for record, is_first in zip(chunk, first, strict=True):
        if is_first:
            kept.append(record)
        else:
            read.skip("duplicate_account_id", record.account.id, "listed more than once in this pass")
    return kept


def seen_in_memory() -> MarkSeen:
    """`mark_seen` over a set in this process (a pass run in one process)."""
    seen: set[str] = set()

    def mark(ids: Sequence[str]) -> list[bool]:
        flags = []
        for account_id in ids:
            flags.append(account_id not in seen)
            seen.add(account_id)
        return flags

    return mark
