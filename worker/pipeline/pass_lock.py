"""One in-process pass per output folder at a time.

Two `oppworker run` on one folder used to race on the ledger and the second died with an
IntegrityError whose SQL and payloads landed in `runs.error`. An OS file lock (flock) is released by
the kernel when its process dies, so a crashed pass never blocks the next one, and nothing has to
be cleaned up by hand. (The Celery driver has its own lock in Redis: worker/service/lock.py.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".pass.lock"


class PassRunning(RuntimeError):
    """Another live process holds the folder's pass lock."""


@contextmanager
def hold_pass_lock(output_dir: Path) -> Iterator[None]:
    path = output_dir / LOCK_FILE
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise PassRunning(
                f"a pass is already running on {output_dir} (process {holder}); wait for it to finish "
                "or use another --output-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
