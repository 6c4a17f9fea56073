"""Webhook-driven re-scores: accounts named by webhooks are remembered in Redis and get one
debounced incremental pass, not one per event."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from worker.service.enqueue import enqueue_pass
from worker.service.resources import redis_client
from worker.service.settings import service_settings

log = logging.getLogger(__name__)


def _debounce_seconds() -> int:
    return max(1, int(service_settings().rescore_debounce_seconds) or 1)


def request_rescore(crm: str, account_ids: Iterable[str], reason: str) -> int:
    """Webhooks name accounts that changed: remember them and queue one incremental pass soon.

    The pass reads the records changed since its cursor and re-reads the flagged ones by id where
    the connector can (worker/pipeline/revisits.py), debounced so a burst of webhooks starts one
    pass, not one per event."""
    return _flag(crm, cfg_key_parts=("rescore", crm), ids=account_ids, reason=reason)


def request_deal_rescore(crm: str, deal_ids: Iterable[str], reason: str) -> int:
    """A deal webhook names a deal, not its company. The receiver must not call the CRM, so the
    deal ids are remembered as they are; the pass resolves them to companies (capability
    `ResolvesDealAccounts`) and re-scores those."""
    return _flag(crm, cfg_key_parts=("rescore", crm, "deals"), ids=deal_ids, reason=reason)


def _flag(crm: str, cfg_key_parts: tuple[str, ...], ids: Iterable[str], reason: str) -> int:
    cfg = service_settings()
    named = [i for i in ids if i]
    if not named:
        return 0
    r = redis_client()
    r.sadd(cfg.key(*cfg_key_parts), *named)
    if r.set(cfg.key("rescore", crm, "queued"), reason, nx=True, ex=_debounce_seconds()):
        run_id = enqueue_pass(None, crm, False, countdown=cfg.rescore_debounce_seconds)
        log.info(
            "re-score of %d %s queued as pass %s (%s)",
            len(named),
            cfg_key_parts[-1],
            run_id,
            reason,
            extra={"crm": crm},
        )
    return len(named)


def follow_up_rescore(crm: str) -> str | None:
    """Accounts flagged by webhooks after the last pass started (or while it ran, when their own
    pass was skipped) get a pass of their own now, instead of waiting for the next schedule."""
    cfg = service_settings()
    r = redis_client()
    if not r.scard(cfg.key("rescore", crm)) and not r.scard(cfg.key("rescore", crm, "deals")):
        return None
    if not r.set(cfg.key("rescore", crm, "queued"), "follow-up", nx=True, ex=_debounce_seconds()):
        return None
    run_id = enqueue_pass(None, crm, False)
    log.info("follow-up pass %s queued for accounts flagged during the last pass", run_id, extra={"crm": crm})
    return run_id


@dataclass(frozen=True)
class Flagged:
    """What webhooks named since the last pass took them: accounts, and deals whose account the
    pass must look up."""

    accounts: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.accounts) + len(self.deals)


def take_flagged(crm: str) -> Flagged:
    """A starting pass takes over every flagged account and deal (read and cleared atomically, so
    a webhook arriving meanwhile is either taken now or left for the follow-up pass)."""
    cfg = service_settings()
    accounts, deals = cfg.key("rescore", crm), cfg.key("rescore", crm, "deals")
    pipe = redis_client().pipeline(transaction=True)
    pipe.smembers(accounts)
    pipe.smembers(deals)
    pipe.delete(accounts, deals, cfg.key("rescore", crm, "queued"))
    named_accounts, named_deals, _ = pipe.execute()
    return Flagged(sorted(_text(a) for a in named_accounts), sorted(_text(d) for d in named_deals))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
