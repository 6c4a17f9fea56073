"""`finish_pass`'s body: the run report from the merged parts and the write counts, the cursor
stored only after a clean pass (`cursor_to_store`, the in-process driver's rule too), the lock
released and the stash dropped."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from typing import Any

from worker.pipeline.report import cursor_to_store, report_from_merged
from worker.service.lock import release_pass_lock
from worker.service.observability import OPPORTUNITIES_SUPPRESSED, PASSES
from worker.service.rescore import follow_up_rescore
from worker.service.resources import ledger_for, pass_settings
from worker.service.stash import drop_run, get, stash_key
from worker.service.write import written_counts

log = logging.getLogger(__name__)


def finish_pass(run_id: str, crm: str, cursor: str | None) -> dict[str, Any]:
    ledger = ledger_for(pass_settings())
    row = ledger.run(run_id)
    if row is not None and row["status"] == "succeeded":
        return json.loads(row["report"] or "{}")
    merged = get(stash_key(run_id, "report"))
    ctx = get(stash_key(run_id, "ctx"))
    report = report_from_merged(run_id, crm, ctx["mode"], datetime.fromisoformat(ctx["now"]), merged)
    written = written_counts(run_id)
    report.deals_created = written.get("deals_created", 0)
    report.deals_existing = written.get("deals_existing", 0)
    report.tasks_created = written.get("tasks_created", 0)
    report.tasks_existing = written.get("tasks_existing", 0)
    report.write_errors = Counter(written["write_errors"])
    report.cursor = cursor_to_store(cursor, report.write_errors, ledger.count_unfinished(crm))
    if report.cursor:
        ledger.store_cursor(crm, report.cursor, run_id)
    ledger.finish_run(run_id, "succeeded", report.summary())
    for reason, count in report.suppressed.items():
        OPPORTUNITIES_SUPPRESSED.labels(crm, reason).inc(count)
    PASSES.labels(crm, "succeeded").inc()
    release_pass_lock(crm, run_id)
    follow_up_rescore(crm)
    drop_run(run_id)
    log.info(
        "pass %s finished: %d read, %d new, %d deals created",
        run_id,
        report.accounts_read,
        report.new,
        report.deals_created,
    )
    return report.summary()
