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
from domain import FollowUpTask, WriteResult


class StallingConnector(FileConnector):
    def write_tasks(self, tasks: Sequence[FollowUpTask], deal_ids: Mapping[str, str]) -> list[WriteResult]:
        marker = os.environ.get("OPPWORKER_TEST_STALL_MARKER")
        if marker and not Path(marker).exists():
            Path(marker).write_text(",".join(t.opportunity_key for t in tasks))
            time.sleep(600)
        return super().write_tasks(tasks, deal_ids)


def from_options(options: Mapping[str, Any]) -> StallingConnector:
    output = options.get("output_dir") or os.environ.get("OPPWORKER_OUTPUT_DIR") or "oppworker-out"
    return StallingConnector(options.get("data_dir"), Path(output))
