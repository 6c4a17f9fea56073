"""One SQL source: its engine, and the queries the join runs against it.

The join (see enriched.py) asks for one chunk of accounts at a time: the user's query becomes a
subquery filtered on `account_key IN (...chunk keys...)`, streamed through a server-side cursor
(`stream_results`, `yield_per`) where the driver has one. PostgreSQL and DuckDB push that filter
into the subquery, so an index or a sorted column on the key serves each chunk. DuckDB, embedded,
hands a chunk's rows over as columns instead (columnar.py): memory is still one chunk's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import lt
from typing import Any

from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connectors.sql import columnar, rows
from connectors.sql.errors import SourceError
from connectors.sql.settings import UsageSourceSettings
from domain import FailureKind, Series

log = logging.getLogger(__name__)


class SqlSource:
    """Reads one configured source. Every error it raises names the source and masks the URL."""

    def __init__(self, settings: UsageSourceSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._engine: Engine | None = None
        self.field_columns: list[str] = []
        # DuckDB's columnar path (columnar.py): None until the first chunk shows the column types.
        self._columnar: bool | None = None

    # -- connection ------------------------------------------------------------------------------
    def _create_engine(self) -> Engine:
        url = self.settings.sqlalchemy_url()
        connect_args: dict[str, Any] = {}
        backend = url.get_backend_name()
        if backend == "postgresql":
            connect_args["connect_timeout"] = self.settings.connect_timeout_seconds
        elif backend == "duckdb" and url.database not in (None, "", ":memory:"):
            # Read-only: several workers may read the file at once, and we never write to it.
            connect_args["read_only"] = True
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SourceError:
            raise
        except SQLAlchemyError as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: Exception) -> SourceError:
        """The driver's own message, first line only, with the password scrubbed should a driver
        ever quote it; never SQLAlchemy's statement echo (it can carry bound values)."""
        original = getattr(exc, "orig", None) or exc
        detail = (str(original).strip().splitlines() or [type(original).__name__])[0][:300]
        password = self.settings.sqlalchemy_url().password
        if password:
            detail = detail.replace(str(password), "***")
        down = (isinstance(exc, DBAPIError) and exc.connection_invalidated) or _looks_down(exc)
        kind = FailureKind.TRANSIENT if down else FailureKind.CONFIG
        what = "is unreachable" if down else "query failed"
        return SourceError(f"usage source {self.name!r} ({self.settings.masked_url}) {what}: {detail}", kind)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- queries ---------------------------------------------------------------------------------
    def _joined(self, query: str, columns: str) -> Any:
        """The user's query filtered to one chunk's keys. The keys go as one list parameter where
        the driver takes one (PostgreSQL `= ANY(array)`, DuckDB `IN (SELECT unnest(list))`): a
        statement with thousands of placeholders costs more to build and bind than to run
        (bench/sql_source.py). Other dialects get SQLAlchemy's expanding `IN (...)`."""
        backend = self.settings.sqlalchemy_url().get_backend_name()
        if backend == "postgresql":
            return text(f"SELECT {columns} FROM ({query}) AS q WHERE q.account_key = ANY(:keys)")
        if backend == "duckdb":
            return text(f"SELECT {columns} FROM ({query}) AS q WHERE q.account_key IN (SELECT unnest(:keys))")
        statement = text(f"SELECT {columns} FROM ({query}) AS q WHERE q.account_key IN :keys")
        return statement.bindparams(bindparam("keys", expanding=True))

    def probe(self, since: date) -> None:
        """Run each query for no rows: fails now, before a pass writes anything, if the source is
        down, a query is wrong or its columns are not the ones the join needs."""
        with self.connect() as conn:
            if self.settings.usage_query:
                result = conn.execute(
                    text(f"SELECT * FROM ({self.settings.usage_query}) AS q WHERE 1 = 0"), {"since": since}
                )
                rows.check_usage_columns(self.name, list(result.keys()))
                result.close()
            if self.settings.fields_query:
                result = conn.execute(text(f"SELECT * FROM ({self.settings.fields_query}) AS q WHERE 1 = 0"))
                self.field_columns = rows.check_fields_columns(self.name, list(result.keys()))
                result.close()

    def usage_for(self, keys: Sequence[str], since: date) -> tuple[dict[str, dict[str, Series]], int]:
        """{account key: {metric: series}} for these keys, and the number of rows read."""
        found: dict[str, dict[str, tuple[list[date], list[float]]]] = {}
        count = 0
        if not self.settings.usage_query or not keys:
            return {}, count
        statement = self._joined(
            self.settings.usage_query, "q.account_key, q.metric, q.period_start, q.value"
        )
        name = self.name
        with self.connect() as conn:
            if conn.dialect.name == "duckdb" and self._columnar is not False and columnar.available():
                try:
                    fast = self._usage_columnar(conn, keys, since)
                except conn.dialect.loaded_dbapi.Error as exc:
                    raise self._failure(exc) from None
                if fast is not None:
                    return fast
            streaming = conn.execution_options(stream_results=True, yield_per=self.settings.fetch_size)
            try:
                batches = self._batches(conn, streaming, statement, {"since": since, "keys": list(keys)})
                # The hot loop of a pass that reads millions of rows: a type test per value on
                # the common path, the full checks (and their error messages) only off it.
                text_type, float_type, date_type, lookup = str, float, date, found.get
                for batch in batches:
                    count += len(batch)
                    for key, metric, period_start, value in batch:
                        if type(key) is not text_type:
                            key = rows.as_key(name, key)
                        if type(value) is not float_type or value - value != 0.0:  # inf, NaN fail too
                            value = rows.as_value(name, key, value)
                        if type(period_start) is not date_type:
                            period_start = rows.as_day(name, key, period_start)
                        if type(metric) is not text_type or not metric:
                            metric = rows.as_metric(name, key, metric)
                        series = lookup(key)
                        if series is None:
                            series = found[key] = {}
                        columns = series.get(metric)
                        if columns is None:
                            columns = series[metric] = ([], [])
                        columns[0].append(period_start)
                        columns[1].append(value)
            except SQLAlchemyError as exc:
                raise self._failure(exc) from None
            except conn.dialect.loaded_dbapi.Error as exc:  # the raw DuckDB path below
                raise self._failure(exc) from None
        return {
            key: {m: _sorted_series(*c) for m, c in series.items()} for key, series in found.items()
        }, count

    def _batches(
        self, conn: Connection, streaming: Connection, statement: Any, params: dict[str, Any]
    ) -> Iterator[Sequence[Any]]:
        """Batches of row tuples. DuckDB is embedded: its own cursor hands tuples straight over,
        where SQLAlchemy would wrap each in a Row first (a quarter of the read's CPU,
        bench/sql_source.py). Other drivers go through SQLAlchemy's streamed result: reading
        their DBAPI cursor behind its back could skip rows SQLAlchemy has already buffered."""
        size = self.settings.fetch_size
        if conn.dialect.name == "duckdb":
            cursor = _duckdb_execute(conn, statement, params)
            while batch := cursor.fetchmany(size):
                yield batch
            return
        yield from streaming.execute(statement, params).partitions(size)

    def _usage_columnar(
        self, conn: Connection, keys: Sequence[str], since: date
    ) -> tuple[dict[str, dict[str, Series]], int] | None:
        """The chunk through DuckDB's columnar path, or None for the row path: column types it
        cannot convert exactly (remembered: every later chunk goes the row path at once), or a
        cell the row path must name in its error."""
        statement = text(columnar.statement(self.settings.usage_query or ""))
        cursor = _duckdb_execute(conn, statement, {"since": since, "keys": list(keys)})
        if self._columnar is None:
            self._columnar = columnar.types_fit(cursor.description)
        if not self._columnar:  # (DuckDB's execute returns its connection: nothing to close)
            return None
        return columnar.series_of(cursor.fetchnumpy(), keys)

    def fields_for(self, keys: Sequence[str]) -> tuple[dict[str, dict[str, Any]], int]:
        """{account key: {canonical field: value}} for these keys (the last row of a key wins)."""
        found: dict[str, dict[str, Any]] = {}
        count = 0
        if not self.settings.fields_query or not keys:
            return found, count
        columns = ", ".join(f"q.{c}" for c in ["account_key", *self.field_columns])
        with self.connect() as conn:
            try:
                for row in conn.execute(
                    self._joined(self.settings.fields_query, columns), {"keys": list(keys)}
                ):
                    key = rows.as_key(self.name, row[0])
                    found[key] = {f: v for f, v in zip(self.field_columns, row[1:]) if v is not None}
                    count += 1
            except SQLAlchemyError as exc:
                raise self._failure(exc) from None
        return found, count

    def row_counts(self, since: date) -> tuple[int, int]:
        """Total rows of the usage and fields queries: minus the rows joined, the rows of
        accounts the CRM does not have (counted in the DB, not by reading them)."""
        usage = fields = 0
        with self.connect() as conn:
            if self.settings.usage_query:
                usage = conn.execute(
                    text(f"SELECT count(*) FROM ({self.settings.usage_query}) AS q"), {"since": since}
                ).scalar_one()
            if self.settings.fields_query:
                fields = conn.execute(
                    text(f"SELECT count(*) FROM ({self.settings.fields_query}) AS q")
                ).scalar_one()
        return int(usage), int(fields)

    def sample(self, which: str, since: date, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """`sources check`: the first rows of a query, as the source returns them."""
        query = self.settings.usage_query if which == "usage" else self.settings.fields_query
        assert query is not None
        with self.connect() as conn:
            result = conn.execute(text(f"SELECT * FROM ({query}) AS q LIMIT {int(limit)}"), {"since": since})
            return list(result.keys()), [tuple(r) for r in result]

    def keys(self, which: str, since: date) -> Iterator[str]:
        """Distinct account keys of a query, streamed (`sources check` joins them to accounts)."""
        query = self.settings.usage_query if which == "usage" else self.settings.fields_query
        assert query is not None
        with self.connect() as conn:
            streaming = conn.execution_options(stream_results=True, yield_per=self.settings.fetch_size)
            for (key,) in streaming.execute(
                text(f"SELECT DISTINCT q.account_key FROM ({query}) AS q"), {"since": since}
            ):
                if key is not None:
                    yield str(key).strip()


def _sorted_series(days: list[date], values: list[float]) -> Series:
    """Rows come in the source's order, usually by day already: sorted when not strictly by day,
    as (day, value) pairs, so ties go by value as the columnar path's ORDER BY puts them."""
    if all(map(lt, days, days[1:])):
        return Series(tuple(days), tuple(values))
    return Series.from_points(sorted(zip(days, values, strict=True)))


def _duckdb_execute(conn: Connection, statement: Any, params: dict[str, Any]) -> Any:
    """DuckDB's own cursor for a SQLAlchemy text statement (DuckDB is embedded: no round trip
    to save, but SQLAlchemy's Row per row costs a quarter of the read's CPU)."""
    compiled = statement.compile(dialect=conn.dialect)
    args = [params[name] for name in compiled.positiontup or ()]
    driver = conn.connection.driver_connection
    if driver is None:  # a closed connection: SQLAlchemy gives no DBAPI connection then
        raise RuntimeError("the DuckDB connection is closed")
    return driver.execute(compiled.string, args)


def _looks_down(exc: Exception) -> bool:
    text_of = str(getattr(exc, "orig", exc)).lower()
    return any(
        s in text_of
        for s in (
            "connection refused",
            "could not connect",
            "connection failed",
            "timeout expired",
            "could not translate host",
            "no such host",
            "could not set lock",
            "cannot open file",
            "no such file",
        )
    )
