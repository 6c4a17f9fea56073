"""A file connector that hangs once in the middle of a write batch, for the SIGKILL test.

Loaded into worker processes through `OPPWORKER_CONNECTOR_PLUGINS`. When the file named by
`OPPWORKER_TEST_STALL_MARKER` does not exist yet, the first `write_tasks` call creates it (so
the test knows deals of this batch are written and its tasks are not) and then blocks until the
worker is killed. Later calls behave normally.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors.files.connector import FileConnector
from domain import ConnectorError, FailureKind, FollowUpTask, WriteResult


class StallingConnector(FileConnector):
    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        marker = os.environ.get("OPPWORKER_TEST_STALL_MARKER")
        if marker and not Path(marker).exists():
            Path(marker).write_text(",".join(t.opportunity_key for t in tasks))
            release = Path(marker + ".release")  # the test may let it go on instead of killing it
            deadline = time.monotonic() + 600
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        return super().write_tasks(tasks, deal_ids)


def from_options(options: Mapping[str, Any]) -> StallingConnector:
    output = options.get("output_dir") or os.environ.get("OPPWORKER_OUTPUT_DIR") or "oppworker-out"
    return StallingConnector(options.get("data_dir"), Path(output))


class FlakyConnector(FileConnector):
    """Answers its first owners read with a 429 carrying Retry-After (once per marker file)."""

    def read_owners(self):  # type: ignore[no-untyped-def]
        marker = Path(os.environ["OPPWORKER_TEST_FLAKY_MARKER"])
        if not marker.exists():
            marker.write_text("429 sent")
            raise ConnectorError(
                "HTTP 429 from GET /owners: slow down", FailureKind.RATE_LIMITED, status=429, retry_after=0.3
            )
        return super().read_owners()


class BadTokenConnector(FileConnector):
    """Every read fails as a CRM does with a revoked token."""

    def read_owners(self):  # type: ignore[no-untyped-def]
        marker = Path(os.environ["OPPWORKER_TEST_FLAKY_MARKER"] + ".auth")
        marker.write_text(str(int(marker.read_text() or 0) + 1) if marker.exists() else "1")
        raise ConnectorError("HTTP 401 from GET /owners: token revoked", FailureKind.AUTH, status=401)


def flaky(options: Mapping[str, Any]) -> FlakyConnector:
    return FlakyConnector(options.get("data_dir"), Path(os.environ["OPPWORKER_OUTPUT_DIR"]))


def bad_token(options: Mapping[str, Any]) -> BadTokenConnector:
    return BadTokenConnector(options.get("data_dir"), Path(os.environ["OPPWORKER_OUTPUT_DIR"]))


class AlwaysLimitedConnector(FileConnector):
    """A CRM that answers every call with 429: retries run out and the pass fails."""

    def read_owners(self):  # type: ignore[no-untyped-def]
        raise ConnectorError(
            "HTTP 429 from GET /owners: daily limit", FailureKind.RATE_LIMITED, status=429, retry_after=0.1
        )


def always_limited(options: Mapping[str, Any]) -> AlwaysLimitedConnector:
    return AlwaysLimitedConnector(options.get("data_dir"), Path(os.environ["OPPWORKER_OUTPUT_DIR"]))


class RelistingConnector(FileConnector):
    """Lists its first five accounts again at the end of the stream, as a CRM does when records
    are edited while its pages are read: the repeats land in a later chunk than the originals."""

    def read_accounts(self, cursor, report):  # type: ignore[no-untyped-def]
        first = []
        for record in super().read_accounts(cursor, report):
            if len(first) < 5:
                first.append(record)
            yield record
        yield from first


def relisting(options: Mapping[str, Any]) -> RelistingConnector:
    return RelistingConnector(options.get("data_dir"), Path(os.environ["OPPWORKER_OUTPUT_DIR"]))


class RefusingConnector(FileConnector):
    """While the file named by `OPPWORKER_TEST_REFUSE_MARKER` exists, refuses the first task of every
    `write_tasks` call, as a CRM refuses a record (a validation error): the pass goes on, the write
    is counted as an error and its key stays unfinished in the ledger."""

    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        marker = os.environ.get("OPPWORKER_TEST_REFUSE_MARKER")
        if not tasks or not marker or not Path(marker).exists():
            return super().write_tasks(tasks, deal_ids)
        refused = WriteResult(key=tasks[0].opportunity_key, error="refused by the test CRM")
        return [refused, *super().write_tasks(tasks[1:], deal_ids)]


def refusing(options: Mapping[str, Any]) -> RefusingConnector:
    output = options.get("output_dir") or os.environ.get("OPPWORKER_OUTPUT_DIR") or "oppworker-out"
    return RefusingConnector(options.get("data_dir"), Path(output))
