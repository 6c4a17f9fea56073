"""`start_pass`'s body: take the CRM's lock, prepare the pass, then read the accounts page by page,
parking each de-duplicated chunk of 200 in Redis and queueing its `score_chunk` at once (scoring
overlaps reading)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.base import ReadReport
from playbooks.catalog_check import require_priced_offers
from playbooks.loader import load_catalog
from worker.pipeline import listening
from worker.pipeline.assess import CHUNK, chunked
from worker.pipeline.dedupe import MarkSeen, first_listings
from worker.pipeline.prepare import chunk_history, load_definitions, prepare_pass
from worker.pipeline.revisits import accounts_to_revisit, heard_watermark, read_with_revisits
from worker.service import chunk_codec
from worker.service.barrier import maybe_plan
from worker.service.connections import open_connector
from worker.service.context import stash_context
from worker.service.lock import acquire_pass_lock
from worker.service.observability import PASSES, record_client_stats
from worker.service.queue import send
from worker.service.rescore import take_flagged
from worker.service.resources import ledger_for, pass_settings, redis_client
from worker.service.retry import ENDED
from worker.service.settings import service_settings
from worker.service.stash import STASH_TTL, put, stash_key

log = logging.getLogger(__name__)

READ_AHEAD = 50  # chunks the reader may stash ahead of the scorers (10,000 accounts, about 20 MB)
READER_PATIENCE = 30  # seconds without progress after which the reader stops waiting


def start_pass(run_id: str, crm: str, full: bool) -> dict[str, Any]:
    cfg = service_settings()
    settings = pass_settings()
    ledger = ledger_for(settings)
    row = ledger.run(run_id)
    if row is not None and row["status"] in ENDED:
        return {"run_id": run_id, "status": row["status"]}  # a redelivery after the pass ended
    holder = acquire_pass_lock(crm, run_id)
    if holder is not None:
        if row is None:
            ledger.start_run(run_id, crm, "full" if full else "incremental", datetime.now(UTC), None)
        ledger.finish_run(
            run_id,
            "skipped",
            {"run_id": run_id, "crm": crm},
            error=f"pass {holder} of {crm} is still running",
        )
        PASSES.labels(crm, "skipped").inc()
        log.info("pass %s skipped: %s is running", run_id, holder)
        return {"run_id": run_id, "status": "skipped", "running": holder}
    playbooks = load_definitions(settings)  # malformed definitions stop the pass before any I/O
    catalog = load_catalog(settings.catalog)
    require_priced_offers(playbooks, catalog, str(settings.catalog or "the bundled catalog"))
    connector = open_connector(settings, crm)
    try:
        now = connector.data_as_of() or datetime.now(UTC)
        cursor = None if full else ledger.cursor(crm)
        mode = "incremental" if cursor else "full"
        if row is None:
            ledger.start_run(run_id, crm, mode, datetime.now(UTC), now)
        ledger.mark_run(run_id, status="running", mode=mode, data_as_of=now, started_at=datetime.now(UTC))
        flagged = take_flagged(crm)
        log.info(
            "pass %s started (%s, %d playbooks, %d accounts and %d deals flagged by webhooks)",
            run_id,
            mode,
            len(playbooks),
            len(flagged.accounts),
            len(flagged.deals),
        )
        send("watch_pass", run_id, crm, countdown=cfg.max_countdown)
        read = ReadReport()
        context, affinity = prepare_pass(
            settings,
            ledger,
            connector,
            crm,
            playbooks,
            catalog,
            read,
            now,
            dry_run=False,
            incremental=cursor is not None,
        )
        stash_context(run_id, crm, mode, context, affinity)
        # Stream: each chunk is scored (on the score queue) while the next page is being read.
        chunks = 0
        redis_client().delete(stash_key(run_id, "seen"))  # a redelivered start_pass reads from the start
        mark_seen = _seen_in_redis(run_id)
        pacing = True
        revisit = (
            []
            if cursor is None
            else accounts_to_revisit(
                connector, heard_watermark(ledger.last_successful_start(crm)), flagged.accounts, flagged.deals
            )
        )
        listing = read_with_revisits(connector, cursor, read, revisit)
        for number, listed in enumerate(chunked(listing, CHUNK)):
            if pacing and not _wait_for_scorers(run_id, number):
                pacing = False
                log.warning(
                    "no scorer took a chunk for %d s; reading on without waiting for them", READER_PATIENCE
                )
            chunk = first_listings(listed, read, mark_seen)
            put(stash_key(run_id, "chunk", str(number)), [chunk_codec.encode(r) for r in chunk])
            if context.scoped:  # this chunk's deals, read here on the CRM queue, merged when scored
                ids = [r.account.id for r in chunk]
                existing = chunk_history(connector, ledger, crm, ids, now, dry_run=False)
                put(
                    stash_key(run_id, "history", str(number)),
                    {"ids": ids, "existing": [o.model_dump(mode="json") for o in existing]},
                )
            if context.conversations is not None:  # what these accounts said, read here on the CRM queue
                said = context.conversations([r.account.id for r in chunk])
                put(stash_key(run_id, "said", str(number)), listening.to_stash(said))
            send("score_chunk", run_id, crm, number)
            chunks += 1
        put(
            stash_key(run_id, "read"),
            {
                "chunks": chunks,
                "cursor": connector.next_cursor(),
                "skipped": dict(read.skipped),
                "defaulted": dict(read.defaulted),
            },
        )
        record_client_stats(crm, connector)
    finally:
        connector.close()
    maybe_plan(run_id, crm)
    return {"run_id": run_id, "status": "running", "chunks": chunks}


def _wait_for_scorers(run_id: str, stashed: int) -> bool:
    """Backpressure: a fast source (a file, a generator, a CRM with a high limit) must not park the
    whole portal in Redis while the scorers work through it; the reader waits while more than
    READ_AHEAD chunks are unscored. False when no chunk was scored for READER_PATIENCE seconds
    (every worker thread is busy, or a single-thread worker runs this very task): the reader then
    reads on unpaced rather than wait on itself."""
    parts = stash_key(run_id, "parts")
    r = redis_client()
    done, since = r.hlen(parts), time.monotonic()
    while stashed - done > READ_AHEAD:
        time.sleep(0.05)
        now_done = r.hlen(parts)
        if now_done != done:
            done, since = now_done, time.monotonic()
        elif time.monotonic() - since > READER_PATIENCE:
            return False
    return True


def _seen_in_redis(run_id: str) -> MarkSeen:
    """`mark_seen` for `first_listings` over a Redis set under the run, not the reading process's
    memory: it does not grow with the portal (a million ids), and a redelivered reader agrees."""
    key = stash_key(run_id, "seen")

    def mark(ids: Sequence[str]) -> list[bool]:
        pipe = redis_client().pipeline(transaction=False)
        for account_id in ids:
            pipe.sadd(key, account_id)
        pipe.expire(key, STASH_TTL)
        return [bool(added) for added in pipe.execute()[:-1]]

    return mark
