"""`score_chunk`'s body: assess one parked chunk, record each new opportunity as a `waiting`
candidate in the ledger with its payload (ledger first: no new key exists only in memory), and park the chunk's
partial report for the merge."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from connectors.base import ReadReport
from domain import ExistingOpportunity
from worker.pipeline import listening
from worker.pipeline.assess import assess_chunk
from worker.pipeline.capacity import record_candidates
from worker.pipeline.prepare import merge_history
from worker.pipeline.report import RunReport, keep_best
from worker.service import chunk_codec
from worker.service.barrier import maybe_plan
from worker.service.context import pass_context
from worker.service.observability import ACCOUNTS_SCORED
from worker.service.resources import ledger_for, pass_settings, redis_client
from worker.service.stash import STASH_TTL, get, stash_key


def score_chunk(run_id: str, crm: str, number: int) -> dict[str, Any]:
    r = redis_client()
    if r.hexists(stash_key(run_id, "parts"), str(number)):
        maybe_plan(run_id, crm)  # delivered again after it finished: nothing left to do
        return {"chunk": number, "done_before": True}
    settings = pass_settings()
    ledger = ledger_for(settings)
    ctx, context = pass_context(settings, run_id)
    chunk = [chunk_codec.decode(x) for x in get(stash_key(run_id, "chunk", str(number)))]
    if ctx.get("scoped"):
        stashed = get(stash_key(run_id, "history", str(number)))
        existing = [ExistingOpportunity.model_validate(x) for x in stashed["existing"]]
        merge_history(context, ledger, crm, stashed["ids"], existing)
    if ctx.get("listening"):
        context = replace(
            context,
            conversations=listening.from_stash(get(stash_key(run_id, "said", str(number)))),
            recall_mentions=bool(ctx.get("recall_mentions")),
        )
    now = context.now
    report = RunReport(run_id, crm, ctx["mode"], now)
    read = ReadReport()
    new = assess_chunk(context, ledger, crm, report, chunk, read, store=True)
    # Candidates wait in the ledger; plan_writes promotes, per owner, those that fit this week.
    ids = [r.account.id for r in chunk]
    record_candidates(ledger, crm, run_id, ids, new, now, context.assessor.win_chances, context.money)
    ACCOUNTS_SCORED.labels(crm).inc(report.scored)
    report.ranked = keep_best(report.ranked)
    report.defaulted = read.defaulted
    part = report.summary()
    r.hset(stash_key(run_id, "parts"), str(number), json.dumps(part, default=str))  # idempotent
    r.expire(stash_key(run_id, "parts"), STASH_TTL)
    r.delete(
        stash_key(run_id, "chunk", str(number)),
        stash_key(run_id, "history", str(number)),
        stash_key(run_id, "said", str(number)),
    )
    maybe_plan(run_id, crm)
    return {"chunk": number, "accounts": report.accounts_read, "new": report.new}
