"""`EnrichedConnector`: any CRM connector, with usage series and account fields from SQL sources.

A decorator, not a connector of its own: writes, owners, deals and cursors stay the CRM's; only
`read_accounts` changes. Each record is joined by key (the source's `account_key`: `id`, another
canonical field, or a CRM property such as HubSpot's `product_account_id`) to the sources' rows.

The join, and why this one. Accounts arrive as a stream in the CRM's order, not the key's, so a
merge join over a query ordered by key would need the whole account list sorted first, and loading
the usage table into a dict would grow with the table. Instead the stream is cut into chunks of
`chunk_size` accounts, and each source is asked for exactly those keys
(`SELECT ... FROM (usage_query) q WHERE q.account_key IN (...)`, streamed with a server-side
cursor). Memory holds one chunk of accounts and their rows, whatever the table's size; the
database uses its index (PostgreSQL) or zone maps (DuckDB) on the key. bench/sql_source.py
measures it.

`:since`. Usage from a source is a full series that replaces the account's usage, and the worker
keeps no series of its own between passes (it stores snapshots only for CRM 30-day values), so
series are always read with `:since` = the history window (`history_days` before the data's date):
a watermark there would score an account on a truncated trend. The watermark is used the issue's
way on an incremental pass all the same, to find work: `accounts_with_new_usage` binds `:since` to
the last clean pass's start (minus `new_usage_overlap_days`, for a period still open then) in a
cheap `SELECT DISTINCT account_key`, and the worker re-reads those accounts by id
(worker/pipeline/revisits.py) although the CRM did not change them; `read_accounts_by_id` enriches
them with their full window like any other. Only sources joined on `id` can name accounts so; a
source joined on another field or a CRM property cannot without a CRM lookup per key, and is left
out (its accounts are re-assessed when the CRM changes them, and on every full pass).

A source that is down or whose query is wrong fails `read_accounts` before its first record, so
before the pass writes anything. Rows whose key matches no account are counted per source (on a
full pass, where every account is read) and reported in `ReadReport.skipped`, never fatal.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from pydantic import ValidationError

from connectors.base import AccountRecord, Connector, ReadReport
from connectors.sql.gc_pause import paused_collection
from connectors.sql.rows import field_error
from connectors.sql.settings import UsageSourceSettings, parse_sources
from connectors.sql.source import SqlSource
from domain import Account, Series
from domain.account import utcnow

log = logging.getLogger(__name__)
CANONICAL = frozenset(Account.model_fields)


def key_properties(sources: Sequence[UsageSourceSettings]) -> list[str]:
    """The CRM properties (not canonical fields) sources join on: the CRM must read these."""
    return sorted({s.account_key for s in sources if s.account_key not in CANONICAL})


def key_of(record: AccountRecord, field_name: str) -> str | None:
    if field_name in CANONICAL:
        value = getattr(record.account, field_name)
        if value is None:
            return None
        return (value if type(value) is str else str(value)).strip() or None
    return record.join_keys.get(field_name)


class EnrichedConnector:
    """Everything but `read_accounts` (and `close`) is the wrapped connector's, attribute by
    attribute, so the worker's optional-method lookups and limiter attachment see the CRM's."""

    def __init__(self, inner: Connector, sources: Sequence[SqlSource]) -> None:
        self.inner = inner
        self.sources = list(sources)
        self.name = inner.name
        self.chunk_size = min(s.settings.chunk_size for s in self.sources)
        # Per source: usage and fields rows joined to an account, and rows of unknown accounts.
        self.joined: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copy, unpickling): no recursion through ourselves
            raise AttributeError(name)
        found = getattr(self.inner, name)
        if name == "read_accounts_by_id":  # the CRM's capability, its records enriched like the rest
            return self._by_id(found)
        return found

    def since(self) -> date:
        as_of = self.inner.data_as_of() or utcnow()
        return as_of.date() - timedelta(days=max(s.settings.history_days for s in self.sources))

    def accounts_with_new_usage(self, since: datetime) -> list[str]:
        """Capability `ListsAccountsWithNewUsage`: ids of accounts with usage rows for periods
        from the watermark on, from the sources joined on `id` (see the module's docstring)."""
        ids: set[str] = set()
        if not hasattr(self.inner, "read_accounts_by_id"):  # the worker could not re-read them
            return []
        for source in self.sources:
            if not source.settings.usage_query:
                continue
            if source.settings.account_key != "id":
                log.info(
                    "usage source %s joins on %s, not id: its new rows do not name accounts to re-read",
                    source.name,
                    source.settings.account_key,
                )
                continue
            watermark = since.date() - timedelta(days=source.settings.new_usage_overlap_days)
            ids.update(source.keys("usage", watermark))
        return sorted(ids)

    def _by_id(self, read_by_id: Any) -> Any:
        def read_accounts_by_id(account_ids: Sequence[str], report: ReadReport) -> Iterator[AccountRecord]:
            return self._enriched(read_by_id(account_ids, report), report)

        return read_accounts_by_id

    def read_accounts(self, cursor: str | None, report: ReadReport) -> Iterator[AccountRecord]:
        yield from self._enriched(self.inner.read_accounts(cursor, report), report)
        if cursor is None:
            self._count_unknown(self.since(), report)

    def _enriched(self, records: Iterable[AccountRecord], report: ReadReport) -> Iterator[AccountRecord]:
        since = self.since()
        for source in self.sources:
            source.probe(since)
        stream = iter(records)
        while True:
            with paused_collection():  # a chunk's records and series in one go: see gc_pause.py
                chunk = list(islice(stream, self.chunk_size))
                if chunk:
                    self._enrich(chunk, since, report)
            if not chunk:
                break
            yield from chunk

    def _enrich(self, chunk: list[AccountRecord], since: date, report: ReadReport) -> None:
        # Per record position, only for records a source has something for: a chunk of 10,000
        # accounts with two empty dicts each cost as much as reading their usage (bench).
        series: dict[int, dict[str, Series]] = {}
        overrides: dict[int, dict[str, tuple[str, Any, str]]] = {}
        for source in self.sources:
            keys = [key_of(record, source.settings.account_key) for record in chunk]
            wanted = sorted({k for k in keys if k is not None})
            usage, usage_rows = source.usage_for(wanted, since)
            fields, field_rows = source.fields_for(wanted)
            self.joined[f"{source.name}.usage"] += usage_rows
            self.joined[f"{source.name}.fields"] += field_rows
            for i, key in enumerate(keys):
                if key is None:
                    report.default(f"no_{source.settings.account_key}_for_{source.name}", chunk[i].account.id)
                    continue
                found = usage.get(key)
                if found:
                    merged = series.get(i)
                    if merged is None:
                        series[i] = found  # this chunk's own dict: no copy
                    else:
                        merged.update(found)  # a later source wins per metric
                    chunk[i].provenance.update(dict.fromkeys(found, source.name))
                values = fields.get(key)
                if values:
                    override = overrides.get(i)
                    if override is None:
                        override = overrides[i] = {}
                    for field_name, value in values.items():
                        override[field_name] = (source.name, value, key)
        for i, found_series in series.items():
            record = chunk[i]
            record.usage, record.series, record.usage_is_snapshot = [], found_series, False
        for i, override in overrides.items():
            record = chunk[i]
            record.account = _overridden(record, override)
            record.provenance.update({f: source for f, (source, _, _) in override.items()})

    def _count_unknown(self, since: date, report: ReadReport) -> None:
        for source in self.sources:
            usage_total, fields_total = source.row_counts(since)
            for kind, total in (("usage", usage_total), ("fields", fields_total)):
                unknown = max(0, total - self.joined[f"{source.name}.{kind}"])
                if unknown:
                    self.unknown[f"{source.name}.{kind}"] = unknown
                    report.skipped[f"{kind}_rows_of_unknown_accounts ({source.name})"] += unknown
                    log.warning(
                        "usage source %s: %d %s rows match no account read from %s",
                        source.name,
                        unknown,
                        kind,
                        self.inner.name,
                    )

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            for source in self.sources:
                source.close()


def _overridden(record: AccountRecord, override: dict[str, tuple[str, Any, str]]) -> Account:
    """The account with the sources' values, validated like a CRM's; a value the account model
    rejects is an error naming the source, the column and the row's key (fatal: a wrong seat
    count must not build an offer)."""
    values = {f: v for f, (_, v, _) in override.items()}
    try:
        return Account.model_validate({**record.account.model_dump(), **values})
    except ValidationError as exc:
        first = exc.errors()[0]
        column = str(first["loc"][0]) if first.get("loc") else "?"
        source, value, key = override.get(column, ("?", None, record.account.id))
        raise field_error(source, column, key, value, first["msg"].lower()) from None


def enrich(connector: Connector, sources: Sequence[Any]) -> EnrichedConnector:
    """Registry hook: the connector wrapped with the configured sources (settings or dicts)."""
    return EnrichedConnector(connector, [SqlSource(s) for s in parse_sources(sources)])
