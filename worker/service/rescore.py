"""Webhook-driven re-scores: accounts named by webhooks are remembered in Redis and get one
debounced incremental pass, not one per event."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from worker.service.enqueue import enqueue_pass
from worker.service.resources import redis_client
from worker.service.settings import service_settings

log = logging.getLogger(__name__)


def _debounce_seconds() -> int:
    return max(1, int(service_settings().rescore_debounce_seconds) or 1)


def request_rescore(crm: str, account_ids: Iterable[str], reason: str) -> int:
    """Webhooks name accounts that changed: remember them and queue one incremental pass soon.

    The connector protocol reads by cursor, not by id, so a re-score is an incremental pass (it
    picks up exactly the records changed since the cursor), debounced so a burst of webhooks
    starts one pass, not one per event."""
    cfg = service_settings()
    ids = [i for i in account_ids if i]
    if not ids:
        return 0
    r = redis_client()
    r.sadd(cfg.key("rescore", crm), *ids)
    if r.set(cfg.key("rescore", crm, "queued"), reason, nx=True, ex=_debounce_seconds()):
        run_id = enqueue_pass(None, crm, False, countdown=cfg.rescore_debounce_seconds)
        log.info("re-score of %d accounts queued as pass %s (%s)", len(ids), run_id, reason, extra={"crm": crm})
    return len(ids)


def follow_up_rescore(crm: str) -> str | None:
    """Accounts flagged by webhooks after the last pass started (or while it ran, when their own
    pass was skipped) get a pass of their own now, instead of waiting for the next schedule."""
    cfg = service_settings()
    r = redis_client()
    if not r.scard(cfg.key("rescore", crm)):
        return None
    if not r.set(cfg.key("rescore", crm, "queued"), "follow-up", nx=True, ex=_debounce_seconds()):
        return None
    run_id = enqueue_pass(None, crm, False)
    log.info("follow-up pass %s queued for accounts flagged during the last pass", run_id, extra={"crm": crm})
    return run_id


def take_flagged(crm: str) -> int:
    """A starting pass takes over every flagged account: how many there were."""
    cfg = service_settings()
    r = redis_client()
    requested = int(r.scard(cfg.key("rescore", crm)))
    r.delete(cfg.key("rescore", crm), cfg.key("rescore", crm, "queued"))
    return requested
