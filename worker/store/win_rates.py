"""The ledger's closed deals counted per playbook, score and journey stage: the input of
`playbooks.calibration.WinChances`, which turns them into P(win) for ranking and task text.

One GROUP BY in SQL, so a ledger with a million deals returns a few hundred rows. A deal counts as
closed when the CRM says won or lost, or when it is still open `STALE_AFTER` after we wrote it:
such a deal has in practice not been won, and leaving it out would make every playbook look better
than it is (won over closed only counts the deals someone bothered to close).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine

from playbooks.calibration import OutcomeCount, WinChances
from worker.store.outcomes import LOST, OPEN, WON, OutcomeStore, outcomes
from worker.store.schema import utc

STALE_AFTER = timedelta(days=120)  # longer than any built-in playbook's close_in_days (30 to 60)


def outcome_counts(engine: Engine, crm: str, now: datetime) -> list[OutcomeCount]:
    OutcomeStore(engine)  # creates the outcome tables on a ledger that has none yet
    status = outcomes.c.status
    closed = or_(
        status.in_((WON, LOST)),
        and_(status == OPEN, outcomes.c.created_at.is_not(None), outcomes.c.created_at < now - STALE_AFTER),
    )
    query = (
        select(
            outcomes.c.playbook,
            outcomes.c.score,
            outcomes.c.journey_stage,
            func.sum(case((status == WON, 1), else_=0)),
            func.count(),
        )
        .where(outcomes.c.crm == crm, outcomes.c.score.is_not(None), closed)
        .group_by(outcomes.c.playbook, outcomes.c.score, outcomes.c.journey_stage)
        .order_by(outcomes.c.playbook, outcomes.c.score, outcomes.c.journey_stage)
    )
    with engine.connect() as db:
        return [
            OutcomeCount(playbook, int(score), stage, int(won or 0), int(total))
            for playbook, score, stage, won, total in db.execute(query)
        ]


def counts_of_rows(rows: Iterable[Mapping[str, Any]], now: datetime) -> list[OutcomeCount]:
    """`outcome_counts`' rule applied in Python, to rows that are not (all) stored yet."""
    tally: Counter[tuple[str, int, str | None, bool]] = Counter()
    for row in rows:
        status, created = row.get("status"), utc(row.get("created_at"))
        stale = status == OPEN and created is not None and created < now - STALE_AFTER
        if row.get("score") is None or not (status in (WON, LOST) or stale):
            continue
        tally[(row["playbook"], int(row["score"]), row.get("journey_stage"), status == WON)] += 1
    merged: dict[tuple[str, int, str | None], list[int]] = {}
    for (playbook, score, stage, won), n in tally.items():
        entry = merged.setdefault((playbook, score, stage), [0, 0])
        entry[0] += n if won else 0
        entry[1] += n
    return [OutcomeCount(p, s, st, w, n) for (p, s, st), (w, n) in sorted(merged.items(), key=str)]


def win_chances(
    engine: Engine, crm: str, now: datetime, pending: Iterable[Mapping[str, Any]] = ()
) -> WinChances:
    """P(win) for a pass of `crm` at `now`, from every deal of ours closed so far. `pending`: rows
    a dry run's outcome sync would have stored (by key, over the stored ones)."""
    pending = list(pending)
    if not pending:
        return WinChances(outcome_counts(engine, crm, now))
    rows = {r["key"]: r for r in OutcomeStore(engine).outcomes(crm)}
    for change in pending:
        rows[change["key"]] = {**rows.get(change["key"], {}), **change}
    return WinChances(counts_of_rows(rows.values(), now))
