"""The ledger's record of passes: one row per run (status, mode, report) and each CRM's read
cursor. A pass's start and end, the cursor it leaves, and the watermarks later passes read from
them (milestones, new conversations) live here, apart from the per-key write state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from worker.store.schema import cursors, runs, utc


class RunsAndCursors:
    """Mixed into `Ledger` (worker/store/ledger.py), which owns the engine."""

    engine: Engine

    def start_run(self, run_id: str, crm: str, mode: str, now: datetime, data_as_of: datetime | None) -> None:
        with self.engine.begin() as db:
            db.execute(
                insert(runs).values(
                    id=run_id, crm=crm, mode=mode, status="running", started_at=now, data_as_of=data_as_of
                )
            )

    def finish_run(self, run_id: str, status: str, report: dict[str, Any], error: str | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=datetime.now(UTC),
                    report=json.dumps(report, default=str),
                    error=error,
                )
            )

    def last_successful_run(self, crm: str) -> datetime | None:
        """When the last completed, non-dry pass of this CRM looked at its data (for milestones)."""
        with self.engine.connect() as db:
            row = db.execute(
                select(runs.c.data_as_of, runs.c.started_at)
                .where(runs.c.crm == crm, runs.c.status == "succeeded", runs.c.mode != "dry-run")
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return utc(row.data_as_of or row.started_at)

    def last_successful_start(self, crm: str) -> datetime | None:
        """Wall-clock start of the last completed, non-dry pass of this CRM: the watermark from
        which conversations are new to the next pass (worker/pipeline/revisits.py)."""
        with self.engine.connect() as db:
            started = db.execute(
                select(runs.c.started_at)
                .where(runs.c.crm == crm, runs.c.status == "succeeded", runs.c.mode != "dry-run")
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).scalar()
        return None if started is None else utc(started)

    def mark_run(self, run_id: str, **values: Any) -> None:
        """Set some columns of a run's row (queued -> running, its mode and data date)."""
        with self.engine.begin() as db:
            db.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's row as stored (`report` still JSON text), or None."""
        with self.engine.connect() as db:
            row = db.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return dict(row) if row else None

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit)).mappings().all()
        return [dict(r) | {"report": json.loads(r["report"]) if r["report"] else None} for r in rows]

    # --- cursors ------------------------------------------------------------------------------
    def cursor(self, crm: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(cursors.c.value).where(cursors.c.crm == crm)).scalar_one_or_none()

    def store_cursor(self, crm: str, value: str, run_id: str) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as db:
            done = db.execute(
                update(cursors).where(cursors.c.crm == crm).values(value=value, run_id=run_id, updated_at=now)
            )
            if done.rowcount == 0:
                db.execute(insert(cursors).values(crm=crm, value=value, run_id=run_id, updated_at=now))
