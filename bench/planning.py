"""The planning step on its own: `plan_pass` over a ledger of N waiting candidates, uncapped and capped.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.planning
    .venv/bin/python -m bench.planning --sqlite                 # a temporary SQLite ledger
    ... -m bench.planning --n 200000 --profile plan.prof       # cProfile of the uncapped run

The candidates are real: generated accounts (`connectors.files.sample`) assessed by every built-in
playbook (about one account in three with two offers), recorded as a pass records them
(`record_candidates`, 200 accounts per chunk) until N candidates wait. Their owners are spread over
one owner per 1,250 accounts (at least 8), and 3% of accounts have none (they wait: no fallback
owner is set). The same candidates are recorded twice, under two CRM names, so that each run starts
from the same waiting list. Filling is not timed and runs in a child process, so the RSS figures
are those of planning alone.

Timed, in this process: `plan_pass` with both caps lifted (every owned account promoted: each
payload rewritten with its owner, each account's offers made one conversation, 500 accounts per
transaction), then with the default caps (10 a week, 25 open: the leads query is the whole cost).
Printed per run: candidates promoted, wall seconds, promoted per second, this process's CPU
seconds (the rest is the database and waiting for it), RSS before and the peak during the run
(VmHWM, reset before each run). On PostgreSQL the database is created on the server DATABASE_URL
names and dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.worker import _database
from connectors.files.sample import AS_OF, iter_accounts
from domain import Account, FollowUpTask, Opportunity
from playbooks.affinity import AffinityModel
from playbooks.assess import Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog, load_playbooks
from worker.pipeline.capacity import plan_pass, record_candidates
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger
from worker.store.schema import WAITING, opportunities

CHUNK = 200
OWNERLESS = 0.03
RUNS = {
    "uncapped": {"tasks_per_owner_per_week": None, "open_tasks_per_owner": None},
    "capped": {},
}


def assessed_chunks(n: int, seed: int) -> Iterator[tuple[list[str], list[tuple[Opportunity, FollowUpTask]]]]:
    """Chunks of (account ids, their new offers) until `n` offers, owners reassigned as described."""
    rng = random.Random(seed)
    sample = list(iter_accounts(min(n, 20_000), seed + 1, as_of=AS_OF, showcase=False))
    assessor = Assessor(
        load_playbooks([]),
        load_catalog(),
        AffinityModel.from_baskets(frozenset(row["products"].split(";")) for _, row, _ in sample),
    )
    owners = [f"owner-{i}" for i in range(max(8, n // 1250))]
    found = 0
    accounts: list[str] = []
    offers: list[tuple[Opportunity, FollowUpTask]] = []
    for _, row, usage in iter_accounts(3 * n, seed, as_of=AS_OF, showcase=False):
        if found >= n:
            break
        account = Account.model_validate(row)
        owner = None if rng.random() < OWNERLESS else rng.choice(owners)
        accounts.append(account.id)
        for outcome in assessor.assess(account, usage, AccountHistory(), AS_OF).new[: n - found]:
            assert outcome.opportunity is not None and outcome.task is not None
            offers.append(
                (
                    outcome.opportunity.model_copy(update={"owner_id": owner}),
                    outcome.task.model_copy(update={"owner_id": owner}),
                )
            )
            found += 1
        if len(accounts) == CHUNK:
            yield accounts, offers
            accounts, offers = [], []
    if accounts:
        yield accounts, offers


def fill(url: str, n: int, seed: int) -> None:
    """Record N waiting candidates under each run's CRM name (the child process's work)."""
    ledger = Ledger(url)
    for accounts, offers in assessed_chunks(n, seed):
        for crm in RUNS:
            record_candidates(ledger, crm, "bench-fill", accounts, offers, AS_OF)
    ledger.engine.dispose()


def scratch_ledger(sqlite: bool, database: str) -> tuple[str, Callable[[], None]]:
    if sqlite:
        folder = tempfile.TemporaryDirectory()
        return f"sqlite:///{Path(folder.name) / 'ledger.sqlite3'}", folder.cleanup
    return _database(os.environ["DATABASE_URL"], database)


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Let VmHWM start again from the current RSS (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(ledger: Ledger, crm: str, profile: str | None) -> dict[str, Any]:
    with ledger.engine.connect() as db:
        waiting = db.execute(
            select(func.count()).where(opportunities.c.crm == crm, opportunities.c.state == WAITING)
        ).scalar_one()
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output_dir=Path(out), **RUNS[crm])
        profiler = cProfile.Profile() if profile else None
        reset_peak()
        before = status_mb("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        result = plan_pass(ledger, crm, "bench-plan", settings, AS_OF)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "run": crm,
        "waiting": waiting,
        "promoted": result.planned,
        "wall": wall,
        "cpu": cpu,
        "rss": before,
        "peak": status_mb("VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="waiting candidates")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite ledger")
    parser.add_argument("--database", default=f"ow_bench_planning_{uuid.uuid4().hex[:8]}")
    parser.add_argument("--profile", help="write the uncapped run's cProfile stats to this file")
    args = parser.parse_args()

    url, drop = scratch_ledger(args.sqlite, args.database)
    try:
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=fill, args=(url, args.n, args.seed))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"filling the ledger failed (exit {child.exitcode})")
        print(f"filled {'SQLite' if args.sqlite else 'PostgreSQL'}: {time.perf_counter() - started:.0f} s")
        ledger = Ledger(url)
        rows = [timed(ledger, crm, args.profile if crm == "uncapped" else None) for crm in RUNS]
        ledger.engine.dispose()
    finally:
        drop()
    print(
        f"{'run':<9} {'waiting':>8} {'promoted':>8} {'wall s':>7} {'per s':>7} {'CPU s':>6} {'RSS MB':>7} {'peak MB':>7}"
    )
    for r in rows:
        print(
            f"{r['run']:<9} {r['waiting']:>8,} {r['promoted']:>8,} {r['wall']:>7.1f} "
            f"{r['promoted'] / r['wall']:>7,.0f} {r['cpu']:>6.1f} {r['rss']:>7.0f} {r['peak']:>7.0f}"
        )


if __name__ == "__main__":
    main()
