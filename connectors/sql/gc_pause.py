"""Pausing Python's cycle collector while a chunk of accounts and their usage series is built.

Why. A chunk is tens of thousands of records, dicts and lists, and a million (day, value) tuples
for the bench's 1,000,000 rows. Allocating them set off the collector every 700 allocations and a
full collection (a walk over every object the process holds) about once per chunk: on
bench/sql_source.py that was a third of the read's CPU. With the collector paused while the chunk
is built it runs once afterwards over what survived, instead of every few hundred objects. Nothing
is lost: the objects built here form no reference cycles, and any cycle made meanwhile is collected
at the next run. The previous state is restored, so a caller that disabled the collector keeps it
disabled.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collection() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
