"""Reads of many ledger rows by value that stay index probes whatever PostgreSQL's statistics say.

A ledger filled within one pass, or a server with autovacuum off, has no table statistics: the
planner then answers `crm = ? AND column IN (...hundreds of values...)` by probing an index by its
`crm` prefix alone and reading every row of the CRM, for each statement (tests/worker/
test_ledger_indexes.py). Per-key writes avoid it by sending one statement per key as one batch
(`column == bindparam(...)`, psycopg pipelines them); reads go through `select_each`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select


def select_each(
    dialect: Dialect, column: Any, values: Iterable[str], columns: Iterable[Any], *where: Any
) -> Select[Any]:
    """SELECT `columns` of the rows whose `column` is one of `values` (and `where`), each row once,
    by one index probe per value. On PostgreSQL that is a LATERAL subquery over the unnested values
    (OFFSET 0 keeps it from being flattened into a join, which a planner without statistics made a
    scan of the CRM too); the values are deduplicated so that a row is found once, as by IN.
    SQLite probes its index for each value of an IN list anyway."""
    distinct = list(dict.fromkeys(values))
    if dialect.name != "postgresql":
        return select(*columns).where(*where, column.in_(distinct))
    given = (
        func.unnest(bindparam("each", distinct, type_=ARRAY(String))).table_valued("value").render_derived()
    )
    found = select(*columns).where(*where, column == given.c.value).offset(0).lateral()
    return select(*found.c).select_from(given.join(found, true()))
