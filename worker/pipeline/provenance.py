"""Where a number came from when a SQL source supplied it (connectors/sql): one place for the three
things that say so, `oppworker explain`, the reasons of an opportunity in the run report, and the
run summary's per-source counts, so they cannot disagree.

A record's `provenance` maps a canonical field (`seats_used`) or a usage metric (`active_users`)
to the source's name. A playbook signal's key is the signal, or `signal.metric` for per-metric
signals (`usage_trend.active_users`): its figure came from a source when its metric, or the field
it is named after, did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from domain import Contribution


def describe_provenance(account: Any, provenance: Mapping[str, str]) -> str:
    """`seats_used 48 (warehouse), active_users series (warehouse)`: where each number came from."""
    parts = []
    for name, source in sorted(provenance.items()):
        if name in type(account).model_fields:
            parts.append(f"{name} {getattr(account, name)} ({source})")
        else:
            parts.append(f"{name} series ({source})")
    return ", ".join(parts)


def source_of(signal_key: str, provenance: Mapping[str, str]) -> str | None:
    signal, _, metric = signal_key.partition(".")
    return provenance.get(metric) if metric else provenance.get(signal)


def with_sources(
    contributions: Sequence[Contribution], provenance: Mapping[str, str]
) -> Sequence[Contribution]:
    """The contributions, each whose figure came from a SQL source with ` (source)` after its
    reason (`active users up 31% (warehouse)`); unchanged without provenance."""
    if not provenance:
        return contributions
    marked = []
    for contribution in contributions:
        source = source_of(contribution.signal, provenance)
        marked.append(
            replace(contribution, reason=f"{contribution.reason} ({source})") if source else contribution
        )
    return marked


def count_sources(counts: Counter[str], account: Any, provenance: Mapping[str, str]) -> None:
    """The run report's `sources`: per source, the accounts it gave values to, and per field it
    overrode the accounts overridden (`warehouse: accounts`, `warehouse: seats_used`)."""
    fields = type(account).model_fields
    for source in set(provenance.values()):
        counts[f"{source}: accounts"] += 1
    for name, source in provenance.items():
        if name in fields:
            counts[f"{source}: {name}"] += 1
