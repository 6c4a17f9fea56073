"""`oppworker sources check`: what each source returns and how it joins, before a pass relies on it.

Per query: its columns and the Python types of their values, a sample (`LIMIT`), and per account
key the rows that join to an account the CRM has versus rows of keys it does not have. The CRM's
keys are held as a set of strings (a check, not a pass); the source's side is a streamed
`GROUP BY account_key`, so a large table is counted in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from connectors.base import ReadReport
from connectors.sql.enriched import EnrichedConnector, key_of
from connectors.sql.source import SqlSource


@dataclass
class QueryCheck:
    which: str  # usage | fields
    columns: list[str]
    types: dict[str, str]
    sample: list[tuple[Any, ...]]
    rows_joined: int = 0
    rows_unknown: int = 0
    keys_joined: int = 0
    unknown_keys_sample: list[str] = field(default_factory=list)


@dataclass
class SourceCheck:
    name: str
    url: str
    account_key: str
    accounts: int
    accounts_without_key: int
    queries: list[QueryCheck]


def _types(columns: list[str], sample: list[tuple[Any, ...]]) -> dict[str, str]:
    seen: dict[str, set[str]] = {c: set() for c in columns}
    for row in sample:
        for column, value in zip(columns, row):
            seen[column].add(type(value).__name__)
    return {c: " | ".join(sorted(names)) or "?" for c, names in seen.items()}


def _join_counts(source: SqlSource, which: str, since: Any, keys: set[str], check: QueryCheck) -> None:
    query = source.settings.usage_query if which == "usage" else source.settings.fields_query
    statement = text(f"SELECT q.account_key, count(*) FROM ({query}) AS q GROUP BY q.account_key")
    with source.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=source.settings.fetch_size).execute(
            statement, {"since": since}
        )
        for key, count in result:
            if key is not None and str(key).strip() in keys:
                check.rows_joined += count
                check.keys_joined += 1
            else:
                check.rows_unknown += count
                if len(check.unknown_keys_sample) < 5:
                    check.unknown_keys_sample.append(str(key))


def check_sources(connector: EnrichedConnector, limit: int = 5) -> list[SourceCheck]:
    """Runs every source's queries; raises `SourceError` (source named, URL masked) on the first
    that fails, as a pass would."""
    since = connector.since()
    checks = []
    for source in connector.sources:
        source.probe(since)
        keys: set[str] = set()
        accounts = without_key = 0
        for record in connector.inner.read_accounts(None, ReadReport()):
            accounts += 1
            key = key_of(record, source.settings.account_key)
            if key is None:
                without_key += 1
            else:
                keys.add(key)
        queries = []
        for which in ("usage", "fields"):
            if (source.settings.usage_query if which == "usage" else source.settings.fields_query) is None:
                continue
            columns, sample = source.sample(which, since, limit)
            check = QueryCheck(which, columns, _types(columns, sample), sample)
            _join_counts(source, which, since, keys, check)
            queries.append(check)
        checks.append(
            SourceCheck(
                source.name,
                source.settings.masked_url,
                source.settings.account_key,
                accounts,
                without_key,
                queries,
            )
        )
    return checks
