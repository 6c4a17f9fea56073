"""A pass as a Celery task graph, built from the same step functions as the in-process `run_pass`.

    start_pass (crm queue)      definitions, owners, our existing deals, affinity, then read the
                                accounts page by page, parking each chunk of 200 in Redis and
                                queueing its score_chunk at once (scoring overlaps reading)
      -> score_chunk x N        (score queue) assess one chunk; record each new opportunity as
                                `pending` in the ledger with its payload (ledger first); snapshots;
                                the last one to finish (a Redis barrier, `_maybe_plan`) queues
      -> plan_writes            (score queue) merge the chunk reports; stream every unfinished key
                                of this CRM (this pass's and any an earlier pass left) from the
                                ledger into batches of <= 100 parked in Redis, queueing each
      -> write_batch x M        (crm queue) WriteBack on one batch: exactly once through the
                                ledger plus the connectors' idempotent writes; the last one to
                                finish (a Redis barrier, `_maybe_finish`) queues
      -> finish_pass            (score queue) store the cursor only if nothing is left unfinished,
                                record the run report, release the CRM's pass lock

Messages carry ids only (run id, CRM, chunk or batch number); the bulky things (chunks, the pass
context, the batches' keys, the write counts) live in Redis under the run id for two days. Every task is idempotent: a
worker killed mid-task (acks_late) has its task run again, and a repeated write batch finds the
deals and tasks that already exist. Transient failures retry with backoff and jitter (a 429's
Retry-After becomes the countdown); configuration, auth and permanent failures fail the run with
a clear message and are not retried.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import redis
from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from connectors.base import AccountRecord, ReadReport
from connectors.capabilities import CallsHttpApi
from connectors.ratelimit import RateBudget
from connectors.registry import build_connector
from domain import ConnectorError, ExistingOpportunity, FailureKind, Owner, RetryBudgetExhausted
from playbooks.affinity import AffinityModel, Rule
from playbooks.loader import load_catalog
from worker import chunk_codec, jobs, listening
from worker.celery_app import app
from worker.history import build_history
from worker.ledger import Ledger, runs
from worker.observability import (
    ACCOUNTS_SCORED,
    OPPORTUNITIES_SUPPRESSED,
    OPPORTUNITIES_WRITTEN,
    PASSES,
    TASK_LATENCY,
    log_context,
    record_client_stats,
    register_secret,
)
from worker.service_settings import ServiceSettings, service_settings
from worker.settings import Settings
from worker.shared_limiter import RedisSlidingWindowLimiter
from worker.writeback import WriteBack, from_payload, pending_rows

log = logging.getLogger(__name__)

T = TypeVar("T")
STASH_TTL = 2 * 24 * 3600
RANKED_KEPT = 50  # the report keeps the best 50 (RunReport.summary)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PassFailed(Exception):
    """A pass failed for a reason retrying cannot fix; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# process-wide helpers


_redis: redis.Redis | None = None
_ledgers: dict[str, Ledger] = {}


def redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(service_settings().redis_url)
    return _redis


def pass_settings() -> Settings:
    return service_settings().pass_settings()


def ledger_for(settings: Settings) -> Ledger:
    url = settings.ledger_url
    if url not in _ledgers:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        _ledgers[url] = Ledger(url)
    return _ledgers[url]


def shared_limiter(
    cfg: ServiceSettings, crm: str, account: str = "default", default: RateBudget | None = None
) -> RedisSlidingWindowLimiter | None:
    """The budget of one CRM account (portal/token): CRMs limit per token or portal, so two
    portals configured in two deployments sharing a Redis keep separate windows. A budget set in
    the service settings wins over the connector's own (`default`, from its CRM's docs)."""
    budget = cfg.budget(crm) or default
    if budget is None:
        return None
    return RedisSlidingWindowLimiter(
        redis_client(), cfg.key("limit", crm, account), budget.max_calls, budget.window_seconds
    )


def open_connector(settings: Settings, crm: str) -> Any:
    """The CRM's connector with the shared, cross-worker rate limiter in front of its HTTP client."""
    cfg = service_settings()
    connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": False})
    if not isinstance(connector, CallsHttpApi):
        return connector  # no HTTP calls: nothing to mask, no budget to share
    for secret in connector.secrets():
        register_secret(secret)  # masked in every log line, should one slip through
    limiter = shared_limiter(cfg, crm, connector.rate_key(), connector.rate_budget())
    if limiter is not None:
        connector.add_limiter(limiter)
    return connector


def _stash_key(run_id: str, *parts: str) -> str:
    return service_settings().key("run", run_id, *parts)


def _put(key: str, value: Any) -> None:
    redis_client().set(key, json.dumps(value, default=str), ex=STASH_TTL)


def _get(key: str) -> Any:
    raw = redis_client().get(key)
    if raw is None:
        raise PassFailed(f"pass data {key} expired or missing from Redis; start a new pass")
    return json.loads(raw)


# ---------------------------------------------------------------------------------------------
# the pass lock: one pass per CRM at a time


def _lock_key(crm: str) -> str:
    return service_settings().key("pass-lock", crm)


def acquire_pass_lock(crm: str, run_id: str) -> str | None:
    """Take the CRM's lock for `run_id`; return the holder's run id if another pass holds it."""
    r = redis_client()
    if r.set(_lock_key(crm), run_id, nx=True, ex=service_settings().pass_lock_seconds):
        return None
    holder = r.get(_lock_key(crm))
    holder_id = holder.decode() if holder else None
    if holder_id == run_id:  # our own start_pass, delivered again
        return None
    if holder_id is None:
        return acquire_pass_lock(crm, run_id)
    return holder_id


_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def refresh_pass_lock(crm: str, run_id: str) -> None:
    """Every step of a live pass extends its lock, so only a dead pass's lock runs out."""
    redis_client().eval(_REFRESH, 1, _lock_key(crm), run_id, service_settings().pass_lock_seconds)


def release_pass_lock(crm: str, run_id: str) -> None:
    redis_client().eval(_RELEASE, 1, _lock_key(crm), run_id)


# ---------------------------------------------------------------------------------------------
# run bookkeeping


def _mark(ledger: Ledger, run_id: str, **values: Any) -> None:
    with ledger.engine.begin() as db:
        db.execute(update(runs).where(runs.c.id == run_id).values(**values))


def _run_row(ledger: Ledger, run_id: str) -> dict[str, Any] | None:
    with ledger.engine.connect() as db:
        row = db.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    return dict(row) if row else None


def fail_run(run_id: str, crm: str, message: str) -> None:
    try:
        ledger = ledger_for(pass_settings())
        row = _run_row(ledger, run_id)
        if row is None:
            ledger.start_run(run_id, crm, "unknown", datetime.now(timezone.utc), None)
        if row is None or row["status"] not in ("succeeded", "failed", "skipped"):
            ledger.finish_run(run_id, "failed", {"run_id": run_id, "crm": crm}, error=message)
            PASSES.labels(crm, "failed").inc()
    finally:
        release_pass_lock(crm, run_id)
        log.error("pass %s failed: %s", run_id, message)


def _backoff(retries: int) -> float:
    ceiling = min(300.0, 2.0 * 2**retries)
    return random.uniform(ceiling / 2, ceiling)  # jitter: workers retrying together spread out


def step(task: Task, run_id: str, crm: str, body: Callable[[], T]) -> T:
    """Run a task body with the run's log context, latency metric and the retry policy."""
    cfg = service_settings()
    started = time.monotonic()
    with log_context(run_id=run_id, crm=crm, task=task.name, task_id=task.request.id):
        try:
            refresh_pass_lock(crm, run_id)
            return body()
        except Retry:
            raise
        except ConnectorError as exc:
            # A client that spent its own retry budget has retried enough: a task retry on top
            # would multiply the calls per failing request (connectors/http.py).
            budget_spent = isinstance(exc, RetryBudgetExhausted)
            if exc.retryable and not budget_spent and task.request.retries < cfg.max_retries:
                wait = exc.retry_after if exc.retry_after is not None else _backoff(task.request.retries)
                countdown = min(wait + random.uniform(0, 1), cfg.max_countdown)
                log.warning("%s (%s); retrying in %.1f s", exc, exc.kind.value, countdown)
                raise task.retry(exc=PassFailed(str(exc)), countdown=countdown, max_retries=cfg.max_retries) from None
            hint = {
                FailureKind.CONFIG: "fix the configuration",
                FailureKind.AUTH: "check the CRM token and its scopes",
            }.get(exc.kind, "see the error")
            if budget_spent:
                hint = "the CRM client spent its retries; the next pass tries again"
            message = f"{crm} ({exc.kind.value}): {exc}; {hint}"
            fail_run(run_id, crm, message)
            raise PassFailed(message) from None
        except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
            if task.request.retries < cfg.max_retries:
                countdown = min(_backoff(task.request.retries), cfg.max_countdown)
                log.warning("infrastructure error %s; retrying in %.1f s", type(exc).__name__, countdown)
                raise task.retry(exc=PassFailed(type(exc).__name__), countdown=countdown, max_retries=cfg.max_retries) from None
            fail_run(run_id, crm, f"infrastructure: {type(exc).__name__}: {exc}")
            raise PassFailed(str(exc)) from None
        except PassFailed as exc:
            fail_run(run_id, crm, str(exc))
            raise
        except SoftTimeLimitExceeded:
            fail_run(run_id, crm, f"task {task.name} exceeded its time limit")
            raise PassFailed(f"task {task.name} exceeded its time limit") from None
        except Exception as exc:  # a bug or bad definitions: fail the run loudly, do not retry
            message = f"{type(exc).__name__}: {exc}"
            fail_run(run_id, crm, message)
            log.exception("pass step failed")
            raise PassFailed(message) from None
        finally:
            TASK_LATENCY.labels(task.name).observe(time.monotonic() - started)


# ---------------------------------------------------------------------------------------------
# (de)serialising the pass context and chunks


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "antecedent": sorted(rule.antecedent),
        "consequent": rule.consequent,
        "support": rule.support,
        "confidence": rule.confidence,
        "lift": rule.lift,
        "count": rule.count,
    }


def _rule_from(data: dict[str, Any]) -> Rule:
    return Rule(frozenset(data["antecedent"]), data["consequent"], data["support"], data["confidence"], data["lift"], data["count"])


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# ---------------------------------------------------------------------------------------------
# tasks


def enqueue_pass(settings: Settings | None, crm: str, full: bool = False, *, countdown: float | None = None) -> str:
    """Queue a pass of `crm` and return its run id (visible at once in `oppworker runs` as queued)."""
    run_id = uuid.uuid4().hex
    ledger = ledger_for(settings or pass_settings())
    ledger.start_run(run_id, crm, "full" if full else "incremental", datetime.now(timezone.utc), None)
    _mark(ledger, run_id, status="queued")
    start_pass.apply_async(args=(run_id, crm, full), countdown=countdown)
    return run_id


@app.task(name="oppworker.scheduled_pass", bind=True, ignore_result=True)
def scheduled_pass(self: Task, crm: str, full: bool = False, kind: str = "incremental") -> str:
    """What beat fires: queue a pass (the pass lock decides whether it runs)."""
    with log_context(crm=crm, task=self.name):
        if not scheduled_pass_due(crm):
            log.info("scheduled %s pass not queued: a pass of %s is running", kind, crm)
            return ""
        run_id = enqueue_pass(None, crm, full)
        log.info("scheduled %s pass queued as %s", kind, run_id)
        return run_id


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
    if r.set(cfg.key("rescore", crm, "queued"), reason, nx=True, ex=max(1, int(cfg.rescore_debounce_seconds) or 1)):
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
    if not r.set(cfg.key("rescore", crm, "queued"), "follow-up", nx=True, ex=max(1, int(cfg.rescore_debounce_seconds) or 1)):
        return None
    run_id = enqueue_pass(None, crm, False)
    log.info("follow-up pass %s queued for accounts flagged during the last pass", run_id, extra={"crm": crm})
    return run_id


def scheduled_pass_due(crm: str) -> bool:
    """Beat's passes are not even queued while one of the CRM's passes holds its lock."""
    return not redis_client().exists(_lock_key(crm))


@app.task(name="oppworker.start_pass", bind=True)
def start_pass(self: Task, run_id: str, crm: str, full: bool = False) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: _start_pass(run_id, crm, full))


def _start_pass(run_id: str, crm: str, full: bool) -> dict[str, Any]:
    cfg = service_settings()
    settings = pass_settings()
    ledger = ledger_for(settings)
    row = _run_row(ledger, run_id)
    if row is not None and row["status"] in ("succeeded", "failed", "skipped"):
        return {"run_id": run_id, "status": row["status"]}  # a redelivery after the pass ended
    holder = acquire_pass_lock(crm, run_id)
    if holder is not None:
        if row is None:
            ledger.start_run(run_id, crm, "full" if full else "incremental", datetime.now(timezone.utc), None)
        ledger.finish_run(run_id, "skipped", {"run_id": run_id, "crm": crm}, error=f"pass {holder} of {crm} is still running")
        PASSES.labels(crm, "skipped").inc()
        log.info("pass %s skipped: %s is running", run_id, holder)
        return {"run_id": run_id, "status": "skipped", "running": holder}
    playbooks = jobs.load_definitions(settings)  # malformed definitions stop the pass before any I/O
    catalog = load_catalog(settings.catalog)
    connector = open_connector(settings, crm)
    try:
        now = connector.data_as_of() or datetime.now(timezone.utc)
        cursor = None if full else ledger.cursor(crm)
        mode = "incremental" if cursor else "full"
        if row is None:
            ledger.start_run(run_id, crm, mode, datetime.now(timezone.utc), now)
        _mark(ledger, run_id, status="running", mode=mode, data_as_of=now, started_at=datetime.now(timezone.utc))
        rescore = cfg.key("rescore", crm)
        requested = redis_client().scard(rescore)
        redis_client().delete(rescore, cfg.key("rescore", crm, "queued"))
        log.info("pass %s started (%s, %d playbooks, %d accounts flagged by webhooks)", run_id, mode, len(playbooks), requested)
        watch_pass.apply_async((run_id, crm), countdown=cfg.max_countdown)
        read = ReadReport()
        context, affinity = jobs.prepare_pass(
            settings, ledger, connector, crm, playbooks, catalog, read, now, dry_run=False, incremental=cursor is not None
        )
        owners = [o.model_dump(mode="json") for o in context.owners.values()]
        histories = context.histories
        last_run_at = context.last_run_at
        _put(
            _stash_key(run_id, "ctx"),
            {
                "crm": crm,
                "mode": mode,
                "now": now.isoformat(),
                "last_run_at": last_run_at.isoformat() if last_run_at else None,
                "owners": owners,
                "existing": [o.model_dump(mode="json") for h in histories.values() for o in h.opportunities],
                "scoped": context.scoped,
                "listening": context.conversations is not None,  # chunks carry their conversations
                # the model's rules after its lift filter, in its own order (ties keep the first)
                "rules": [_rule_json(r) for rules in affinity._by_antecedent.values() for r in rules],
            },
        )
        # Stream: each chunk is scored (on the score queue) while the next page is being read.
        chunks = 0
        redis_client().delete(_stash_key(run_id, "seen"))  # a redelivered start_pass reads from the start
        pacing = True
        for number, listed in enumerate(jobs.chunked(connector.read_accounts(cursor, read), jobs.CHUNK)):
            if pacing and not _wait_for_scorers(run_id, number):
                pacing = False
                log.warning("no scorer took a chunk for %d s; reading on without waiting for them", READER_PATIENCE)
            chunk = _first_listings(run_id, listed, read)
            _put(_stash_key(run_id, "chunk", str(number)), [chunk_codec.encode(r) for r in chunk])
            if context.scoped:  # this chunk's deals, read here on the CRM queue, merged when scored
                ids = [r.account.id for r in chunk]
                existing = jobs.chunk_history(connector, ledger, crm, ids, now, dry_run=False)
                _put(_stash_key(run_id, "history", str(number)), {"ids": ids, "existing": [o.model_dump(mode="json") for o in existing]})
            if context.conversations is not None:  # what these accounts said, read here on the CRM queue
                said = context.conversations([r.account.id for r in chunk])
                _put(_stash_key(run_id, "said", str(number)), listening.to_stash(said))
            score_chunk.delay(run_id, crm, number)
            chunks += 1
        _put(
            _stash_key(run_id, "read"),
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
    _maybe_plan(run_id, crm)
    return {"run_id": run_id, "status": "running", "chunks": chunks}


READ_AHEAD = 50  # chunks the reader may stash ahead of the scorers (10,000 accounts, about 20 MB)
READER_PATIENCE = 30  # seconds without progress after which the reader stops waiting


def _wait_for_scorers(run_id: str, stashed: int) -> bool:
    """Backpressure: a fast source (a file, a generator, a CRM with a high limit) must not park the
    whole portal in Redis while the scorers work through it; the reader waits while more than
    READ_AHEAD chunks are unscored. False when no chunk was scored for READER_PATIENCE seconds
    (every worker thread is busy, or a single-thread worker runs this very task): the reader then
    reads on unpaced rather than wait on itself."""
    parts = _stash_key(run_id, "parts")
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


def _first_listings(run_id: str, chunk: list[AccountRecord], read: ReadReport) -> list[AccountRecord]:
    """A CRM can list one account twice in a pass (a record edited while pages are read,
    overlapping search windows): the first listing counts, repeats are skipped and counted. The ids
    seen so far live in a Redis set under the run, not in the reading process, so a worker's memory
    does not grow with the portal (a million ids) and chunks scored on different workers agree."""
    key = _stash_key(run_id, "seen")
    pipe = redis_client().pipeline(transaction=False)
    for record in chunk:
        pipe.sadd(key, record.account.id)
    pipe.expire(key, STASH_TTL)
    added = pipe.execute()[:-1]
    kept = []
    for record, first in zip(chunk, added):
        if first:
            kept.append(record)
        else:
            read.skip("duplicate_account_id", record.account.id, "listed more than once in this pass")
    return kept


_contexts: dict[str, tuple[dict[str, Any], jobs.PassContext]] = {}
_contexts_lock = threading.Lock()


def _pass_context(settings: Settings, run_id: str) -> tuple[dict[str, Any], jobs.PassContext]:
    """The run's assessment context, rebuilt from its Redis stash once per worker process (a few
    runs kept): chunks of one pass land on the same workers, and definitions, the catalog and the
    affinity model are the same for all of them."""
    with _contexts_lock:
        if run_id in _contexts:
            return _contexts[run_id]
    ctx = _get(_stash_key(run_id, "ctx"))
    affinity = AffinityModel([_rule_from(r) for r in ctx["rules"]], min_lift=0.0)  # already filtered
    context = jobs.PassContext(
        assessor=jobs.build_assessor(settings, jobs.load_definitions(settings), load_catalog(settings.catalog), affinity),
        histories=build_history((ExistingOpportunity.model_validate(x) for x in ctx["existing"]), ()),
        owners={o.id: o for o in (Owner.model_validate(x) for x in ctx["owners"])},
        now=datetime.fromisoformat(ctx["now"]),
        last_run_at=_dt(ctx["last_run_at"]),
        seen=None,  # the reader de-duplicated (`_first_listings`)
    )
    with _contexts_lock:
        while len(_contexts) >= 4:
            _contexts.pop(next(iter(_contexts)))
        _contexts[run_id] = (ctx, context)
    return ctx, context


@app.task(name="oppworker.score_chunk", bind=True)
def score_chunk(self: Task, run_id: str, crm: str, number: int) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: _score_chunk(run_id, crm, number))


def _score_chunk(run_id: str, crm: str, number: int) -> dict[str, Any]:
    if redis_client().hexists(_stash_key(run_id, "parts"), str(number)):
        _maybe_plan(run_id, crm)  # delivered again after it finished: nothing left to do
        return {"chunk": number, "done_before": True}
    settings = pass_settings()
    ledger = ledger_for(settings)
    ctx, context = _pass_context(settings, run_id)
    chunk = [chunk_codec.decode(r) for r in _get(_stash_key(run_id, "chunk", str(number)))]
    if ctx.get("scoped"):
        stashed = _get(_stash_key(run_id, "history", str(number)))
        existing = [ExistingOpportunity.model_validate(x) for x in stashed["existing"]]
        jobs.merge_history(context, ledger, crm, stashed["ids"], existing)
    if ctx.get("listening"):
        context = replace(context, conversations=listening.from_stash(_get(_stash_key(run_id, "said", str(number)))))
    now = context.now
    report = jobs.RunReport(run_id, crm, ctx["mode"], now)
    read = ReadReport()
    new = jobs.assess_chunk(context, ledger, crm, report, chunk, read, store=True)
    # Ledger first: every new key is recorded pending with its payload before any CRM call.
    for start in range(0, len(new), 100):
        _record_pending(ledger, crm, run_id, now, new[start : start + 100])
    ACCOUNTS_SCORED.labels(crm).inc(report.scored)
    report.ranked.sort(key=lambda r: (-r.score, r.account_id, r.playbook))
    report.defaulted = read.defaulted
    part = report.summary()
    part["ranked"] = part["ranked"][:RANKED_KEPT]
    r = redis_client()
    r.hset(_stash_key(run_id, "parts"), str(number), json.dumps(part, default=str))  # idempotent
    r.expire(_stash_key(run_id, "parts"), STASH_TTL)
    r.delete(_stash_key(run_id, "chunk", str(number)), _stash_key(run_id, "history", str(number)),
             _stash_key(run_id, "said", str(number)))
    _maybe_plan(run_id, crm)
    return {"chunk": number, "accounts": report.accounts_read, "new": report.new}


def _maybe_plan(run_id: str, crm: str) -> None:
    """The barrier between scoring and writing: once reading has ended and every chunk is scored,
    exactly one caller (the last scorer, or the reader if it ends last) queues `plan_writes`."""
    r = redis_client()
    read = r.get(_stash_key(run_id, "read"))
    if read is None:
        return
    if r.hlen(_stash_key(run_id, "parts")) < json.loads(read)["chunks"]:
        return
    if r.set(_stash_key(run_id, "planned"), 1, nx=True, ex=STASH_TTL):
        plan_writes.delay(run_id, crm)


def _record_pending(ledger: Ledger, crm: str, run_id: str, now: datetime, batch: list[tuple[Any, Any]]) -> None:
    """Step 1 of `WriteBack._write`, done at scoring time so no new key exists only in memory."""
    ledger.record_pending(crm, run_id, pending_rows(batch), now)


# Which RunReport fields add up across chunks: every int and Counter the scoring step fills.
# Derived from the dataclass, so a field the in-process pass gains is merged here too.
_WRITE_FIELDS = {"deals_created", "deals_existing", "tasks_created", "tasks_existing", "resumed", "write_errors"}
_PROBE = jobs.RunReport("probe", "probe", "probe", datetime.now(timezone.utc))
SUMMED = tuple(f.name for f in fields(jobs.RunReport) if isinstance(getattr(_PROBE, f.name), int) and f.name not in _WRITE_FIELDS)
COUNTED = tuple(f.name for f in fields(jobs.RunReport) if isinstance(getattr(_PROBE, f.name), Counter) and f.name not in _WRITE_FIELDS)


def merge_parts(parts: Iterable[dict[str, Any]], read_counts: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {name: 0 for name in SUMMED}
    counters: dict[str, Counter[str]] = {name: Counter() for name in COUNTED}
    counters["defaulted"].update(read_counts.get("defaulted", {}))
    counters["skipped"].update(read_counts.get("skipped", {}))
    # Only the best RANKED_KEPT survive each part: a million accounts make 5,000 parts of 50 ranked
    # opportunities each, 250 MB had they been held together.
    ranked: list[dict[str, Any]] = []
    for part in parts:
        for name in SUMMED:
            merged[name] += part.get(name, 0)
        for name in COUNTED:
            counters[name].update(part.get(name, {}))
        ranked = heapq.nsmallest(RANKED_KEPT, ranked + part.get("ranked", []), key=_rank)
    merged.update({name: dict(c) for name, c in counters.items()})
    merged["ranked"] = ranked
    return merged


def _rank(r: dict[str, Any]) -> tuple[Any, ...]:
    return (-r["score"], r["account_id"], r["playbook"])


@app.task(name="oppworker.plan_writes", bind=True)
def plan_writes(self: Task, run_id: str, crm: str) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: _plan_writes(run_id, crm))


def _plan_writes(run_id: str, crm: str) -> dict[str, Any]:
    settings = pass_settings()
    ledger = ledger_for(settings)
    read_counts = _get(_stash_key(run_id, "read"))
    cursor = read_counts["cursor"]
    parts = (json.loads(v) for _, v in redis_client().hscan_iter(_stash_key(run_id, "parts"), count=200))
    merged = merge_parts(parts, read_counts)
    r = redis_client()
    if r.exists(_stash_key(run_id, "batches")):
        return {"run_id": run_id, "planned_before": True}  # a redelivery after it queued every batch
    r.delete(_stash_key(run_id, "written"))
    # This pass's new keys and anything an earlier pass left, streamed from the ledger into batches
    # parked in Redis, each queued as soon as it is parked. A first pass over a million accounts
    # leaves hundreds of thousands of keys: neither this task nor any message holds them all (a
    # chord over 7,500 batches cost this task 300 MB), and the last batch to finish queues
    # finish_pass through a Redis barrier (`_maybe_finish`), as the last chunk queues this task.
    size = settings.write_batch_size
    resumed = batches = 0
    keys: list[str] = []

    def queue(batch: list[str]) -> None:
        r.set(_stash_key(run_id, "batch", str(batches)), json.dumps(batch), ex=STASH_TTL)
        write_batch.delay(run_id, crm, batches)

    for key, owner in ledger.unfinished_keys(crm):
        resumed += owner != run_id
        keys.append(key)
        if len(keys) == size:
            queue(keys)
            batches, keys = batches + 1, []
    if keys:
        queue(keys)
        batches += 1
    merged["resumed"] = resumed
    _put(_stash_key(run_id, "report"), merged)
    _put(_stash_key(run_id, "batches"), {"total": batches, "cursor": cursor})
    _maybe_finish(run_id, crm)
    return {"run_id": run_id, "batches": batches}


def _maybe_finish(run_id: str, crm: str, batch: int | None = None) -> None:
    """The barrier after the writes: note `batch` as written; once plan_writes has queued every
    batch and each is written, exactly one caller queues finish_pass. A batch delivered twice is
    noted once (a set)."""
    r = redis_client()
    written = _stash_key(run_id, "written")
    if batch is not None:
        r.sadd(written, batch)
        r.expire(written, STASH_TTL)
    planned = r.get(_stash_key(run_id, "batches"))
    if planned is None:
        return
    plan = json.loads(planned)
    if r.scard(written) >= plan["total"] and r.set(_stash_key(run_id, "finishing"), 1, nx=True, ex=STASH_TTL):
        finish_pass.delay([], run_id, crm, plan["cursor"])


@app.task(name="oppworker.write_batch", bind=True)
def write_batch(self: Task, run_id: str, crm: str, batch: int | list[str]) -> dict[str, Any]:
    def body() -> dict[str, Any]:
        tally = _write_batch(run_id, crm, batch)
        if isinstance(batch, int):
            _maybe_finish(run_id, crm, batch)
        return tally

    return step(self, run_id, crm, body)


def _write_batch(run_id: str, crm: str, batch: int | list[str]) -> dict[str, Any]:
    settings = pass_settings()
    ledger = ledger_for(settings)
    # the batch's number (plan_writes parked its keys); a list is a message queued by an earlier
    # version, which sent the keys themselves
    keys: list[str] = _get(_stash_key(run_id, "batch", str(batch))) if isinstance(batch, int) else batch
    rows = ledger.rows(crm, keys)
    todo = [rows[k] for k in keys if k in rows and rows[k]["state"] != "done"]
    if not todo:
        return {"done_before": len(keys)}
    ctx = _get(_stash_key(run_id, "ctx"))
    connector = open_connector(settings, crm)
    try:
        writer = WriteBack(
            connector, ledger, crm, run_id, datetime.fromisoformat(ctx["now"]), settings.write_batch_size,
            lease=timedelta(seconds=settings.write_lease_seconds), on_counted=lambda counts: _count_writes(run_id, counts),
        )
        for row in todo:
            writer.add(*from_payload(row["payload"]))
        writer.flush()
        record_client_stats(crm, connector)
    finally:
        connector.close()
    t = writer.tally
    if t.claimed_elsewhere:
        # Another copy of this batch (a retry racing a redelivered message) holds some keys: come
        # back once its lease could have run out; by then it has finished them, or died.
        raise ConnectorError(
            f"{t.claimed_elsewhere} key(s) of this batch are being written by another worker",
            FailureKind.TRANSIENT,
            retry_after=settings.write_lease_seconds,
        )
    OPPORTUNITIES_WRITTEN.labels(crm).inc(t.deals_created)
    return {
        "deals_created": t.deals_created,
        "deals_existing": t.deals_existing,
        "tasks_created": t.tasks_created,
        "tasks_existing": t.tasks_existing,
        "write_errors": dict(t.errors),
    }


def _count_writes(run_id: str, counts: dict[str, int]) -> None:
    """The pass's write counts, kept in Redis as each step is recorded in the ledger. A batch's
    return value dies with a worker killed in the middle of it, and the redelivered batch then
    finds those deals already recorded and counts nothing: the run report under-counted."""
    key = _stash_key(run_id, "writes")
    deadline = time.monotonic() + 20  # the steps are recorded: ride out a Redis restart, not retry them
    while True:
        pipe = redis_client().pipeline()  # MULTI/EXEC: all of one step's counts or none
        for name, n in counts.items():
            pipe.hincrby(key, name, n)
        pipe.expire(key, STASH_TTL)
        try:
            pipe.execute()
            return
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _write_counts(run_id: str, tallies: list[dict[str, Any]]) -> dict[str, Any]:
    """What the pass wrote: the counts kept in Redis; the batches' return values only when Redis has
    none (a pass whose batches ran before these counts were kept)."""
    stored = {k.decode(): int(v) for k, v in redis_client().hgetall(_stash_key(run_id, "writes")).items()}
    if stored or not any(tallies):
        errors = {k.removeprefix("error:"): v for k, v in stored.items() if k.startswith("error:")}
        return {**{k: v for k, v in stored.items() if not k.startswith("error:")}, "write_errors": errors}
    total: Counter[str] = Counter()
    errors_seen: Counter[str] = Counter()
    for t in tallies:
        for name in ("deals_created", "deals_existing", "tasks_created", "tasks_existing"):
            total[name] += t.get(name, 0)
        errors_seen.update(t.get("write_errors", {}))
    return {**total, "write_errors": dict(errors_seen)}


STALLED_CHECKS = 3  # checks half a visibility timeout apart without progress: 1.5 timeouts


@app.task(name="oppworker.watch_pass", bind=True, ignore_result=True)
def watch_pass(self: Task, run_id: str, crm: str, seen: int = -1, stalls: int = 0) -> None:
    """The safety net for a lost message. The Redis transport can lose one when Redis dies between
    handing a message to a worker and recording it as unacknowledged (seen once in 15 Redis restarts
    of tests/worker/test_redis_restart.py: a write batch never arrived, so the pass never finished).
    Every half visibility timeout this checks the pass's progress (chunks scored, batches planned
    and written); after 1.5 timeouts without any (longer than a restored message or a capped retry
    takes to come back), it queues again each chunk not scored, the plan if it never ran, each
    batch not written, or the finish. All of them are idempotent, so one that was only slow runs
    twice harmlessly."""
    cfg = service_settings()
    with log_context(run_id=run_id, crm=crm, task=self.name):
        progress = seen
        try:
            row = _run_row(ledger_for(pass_settings()), run_id)
            if row is None or row["status"] in ("succeeded", "failed", "skipped"):
                return
            r = redis_client()
            parts, planned = r.hlen(_stash_key(run_id, "parts")), r.get(_stash_key(run_id, "batches"))
            progress = parts + r.scard(_stash_key(run_id, "written")) + (planned is not None)
            stalls = stalls + 1 if progress == seen else 0
            if stalls >= STALLED_CHECKS:
                stalls = 0
                _requeue_lost(run_id, crm, parts, planned)
        except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("pass watch could not look (%s); looking again later", type(exc).__name__)
        watch_pass.apply_async((run_id, crm, progress, stalls), countdown=cfg.max_countdown)


def _requeue_lost(run_id: str, crm: str, parts: int, planned: bytes | None) -> None:
    r = redis_client()
    read = r.get(_stash_key(run_id, "read"))
    if read is None:
        return  # still reading (start_pass refreshes its own lock; a dead one is redelivered)
    chunks = json.loads(read)["chunks"]
    if parts < chunks:
        missing = [n for n in range(chunks) if not r.hexists(_stash_key(run_id, "parts"), str(n))]
        log.warning("pass %s made no progress: queueing %d chunk(s) again", run_id, len(missing))
        for n in missing:
            score_chunk.delay(run_id, crm, n)
    elif planned is None:
        log.warning("pass %s made no progress: queueing its write plan again", run_id)
        plan_writes.delay(run_id, crm)
    else:
        plan = json.loads(planned)
        written = {int(n) for n in r.smembers(_stash_key(run_id, "written"))}
        missing = [n for n in range(plan["total"]) if n not in written]
        log.warning("pass %s made no progress: queueing %d write batch(es) again", run_id, len(missing))
        for n in missing:
            write_batch.delay(run_id, crm, n)
        if not missing:
            finish_pass.delay([], run_id, crm, plan["cursor"])


@app.task(name="oppworker.finish_pass", bind=True)
def finish_pass(self: Task, tallies: list[dict[str, Any]], run_id: str, crm: str, cursor: str | None) -> dict[str, Any]:
    return step(self, run_id, crm, lambda: _finish_pass(tallies, run_id, crm, cursor))


def _finish_pass(tallies: list[dict[str, Any]], run_id: str, crm: str, cursor: str | None) -> dict[str, Any]:
    settings = pass_settings()
    ledger = ledger_for(settings)
    row = _run_row(ledger, run_id)
    if row is not None and row["status"] == "succeeded":
        return json.loads(row["report"] or "{}")
    merged = _get(_stash_key(run_id, "report"))
    ctx = _get(_stash_key(run_id, "ctx"))
    report = jobs.RunReport(run_id, crm, ctx["mode"], datetime.fromisoformat(ctx["now"]))
    for name in SUMMED:
        setattr(report, name, merged.get(name, 0))
    for name in COUNTED:
        setattr(report, name, Counter(merged.get(name, {})))
    report.resumed = merged.get("resumed", 0)
    report.ranked = [jobs.RankedOpportunity(**r) for r in merged["ranked"]]
    written = _write_counts(run_id, tallies)
    report.deals_created = written.get("deals_created", 0)
    report.deals_existing = written.get("deals_existing", 0)
    report.tasks_created = written.get("tasks_created", 0)
    report.tasks_existing = written.get("tasks_existing", 0)
    errors = Counter(written["write_errors"])
    report.write_errors = errors
    left = ledger.count(crm) - ledger.count(crm, "done")
    # The cursor moves only when every write is done: otherwise the next pass would not re-read
    # the accounts whose writes failed (their keys are resumed from the ledger either way).
    if cursor and not errors and left == 0:
        ledger.store_cursor(crm, cursor, run_id)
        report.cursor = cursor
    ledger.finish_run(run_id, "succeeded", report.summary())
    for reason, count in report.suppressed.items():
        OPPORTUNITIES_SUPPRESSED.labels(crm, reason).inc(count)
    PASSES.labels(crm, "succeeded").inc()
    release_pass_lock(crm, run_id)
    follow_up_rescore(crm)
    r = redis_client()
    stash = list(r.scan_iter(_stash_key(run_id, "*"), count=500))
    if stash:
        r.delete(*stash)
    log.info("pass %s finished: %d read, %d new, %d deals created", run_id, report.accounts_read, report.new, report.deals_created)
    return report.summary()


def pass_report(run_id: str) -> dict[str, Any] | None:
    """The ledger's row for a run (status, report, error): what `oppworker runs` shows."""
    row = _run_row(ledger_for(pass_settings()), run_id)
    if row is None:
        return None
    return row | {"report": json.loads(row["report"]) if row["report"] else None}


