"""Capacity planning (issue #15): how long ranking and planning take, and what it changes.

    .venv/bin/python -m bench.attention                 # 50,000 accounts, the sample comparison
    .venv/bin/python -m bench.attention --n 200000

Printed:
1. For N accounts' candidates (1 to 2 each, 8 to 40 owners, some unowned): the time and peak
   Python memory (tracemalloc) of `worker.pipeline.capacity.plan`, the pure step both drivers
   run once per pass (the ledger query that feeds it is not included).
2. On the bundled sample (a dry run, no caps, so every candidate is seen): per owner, the top K
   by the old order (score, then account id) against the top K by rank value, P(win | playbook,
   score, stage) x estimated amount (`worker.pipeline.ranking.rank_value`, the order `plan`
   uses), and the expected won amount of each: the sum of P(win) x amount.
   P(win) is calibrated (playbooks/calibration.py) on the sample's history: a fresh sample's ledger
   has no closed deals, so the backtest's replay of every built-in playbook over 2026-06-01 to
   2026-11-01 (every 3 days) stands in for them: each account a playbook flagged counts as one
   closed deal at its first flag's score, won if the account expanded afterwards. A second line
   gives the same comparison with the prior alone (what a new install ranks by).
   Caveat: the expected amount is measured with the model that ranks, so rank value can only
   match or beat the old order on it; the figure says how much money the old order leaves in its
   top K by that model, not that the model is right (the backtest's Brier and calibration table
   say that).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from domain import Opportunity
from playbooks.calibration import OutcomeCount, WinChances
from worker.pipeline.capacity import CapacityPolicy, plan
from worker.pipeline.ranking import rank_value
from worker.store.candidates import WaitingCandidate

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
CALIBRATE_FROM, CALIBRATE_TO = date(2026, 6, 1), date(2026, 11, 1)


def synthetic(n: int, seed: int = 7) -> list[WaitingCandidate]:
    rng = random.Random(seed)
    owners = [f"owner-{i}" for i in range(max(8, n // 1250))]
    out = []
    for i in range(n):
        owner = None if rng.random() < 0.01 else rng.choice(owners)
        for offer in range(rng.choice((1, 1, 2))):
            score = rng.randint(40, 100)
            out.append(
                WaitingCandidate(
                    f"acc-{i}:p{offer}:o", f"acc-{i}", owner, score / 100 * rng.uniform(500, 20000), score
                )
            )
    return out


def time_plan(n: int) -> None:
    candidates = synthetic(n)
    policy = CapacityPolicy(10, 25, {}, (0, 1, 2, 3, 4), None)
    started = time.perf_counter()
    result = plan(candidates, {}, policy, NOW)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second run for memory: tracing slows allocation several times over
    plan(candidates, {}, policy, NOW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"plan: {n:,} accounts, {len(candidates):,} candidates, {len(result.per_owner)} owners -> "
        f"{len(result.chosen):,} chosen, {result.waiting:,} waiting ({result.no_owner:,} without owner)"
    )
    print(f"plan: {elapsed * 1000:.1f} ms, peak {peak / 1e6:.1f} MB above the candidate list")


def sample_chances(settings: Any) -> tuple[WinChances, int]:
    """P(win) calibrated on the sample's replayed history (see the module docstring)."""
    from playbooks.loader import load_catalog
    from worker.outcomes.backtest import load_history, run_backtest
    from worker.pipeline.prepare import load_definitions

    history = load_history(settings, "files")
    result = run_backtest(
        load_definitions(settings), load_catalog(settings.catalog), history, CALIBRATE_FROM, CALIBRATE_TO, 3
    )
    tally: Counter[tuple[str, int, bool]] = Counter()
    for backtest in result.playbooks:
        for flag in backtest.calibration.flags:
            tally[(backtest.playbook, flag.score, flag.expanded)] += 1
    merged: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (playbook, score, won), n in tally.items():
        merged[(playbook, score)][0] += n if won else 0
        merged[(playbook, score)][1] += n
    counts = [OutcomeCount(p, s, None, w, n) for (p, s), (w, n) in sorted(merged.items())]
    return WinChances(counts), sum(n for _, n in merged.values())


def compare_on_sample(k: int = 10) -> None:
    from worker.pipeline.run import run_pass
    from worker.pipeline.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(output_dir=Path(tmp), tasks_per_owner_per_week=None, open_tasks_per_owner=None)
        report = run_pass(settings, dry_run=True)
        started = time.process_time()
        calibrated, closed = sample_chances(settings)
        replay_cpu = time.process_time() - started
    found = [
        Opportunity.model_validate(p["record"])
        for p in report.dry_run_payloads
        if p["append"] == "deals.jsonl"
    ]
    by_owner: dict[str, list[Opportunity]] = defaultdict(list)
    for opportunity in found:
        by_owner[opportunity.owner_id or "-"].append(opportunity)
    print(
        f"\nsample: {len(found)} candidates, top {k} per owner; P(win) calibrated on {closed} first flags "
        f"of the replayed history ({CALIBRATE_FROM} to {CALIBRATE_TO}, every 3 days; {replay_cpu:.0f} CPU s)"
    )
    for label, chances in (("calibrated", calibrated), ("prior only", WinChances())):

        def expected(o: Opportunity, chances: WinChances = chances) -> float:
            return rank_value(o, chances)  # P(win) x amount: the expected won amount

        print(f"\nexpected won amount of the top {k} per owner, P(win) {label}")
        print(
            f"{'owner':>10} | {'old (score, id)':>16} | {'by rank value':>14} | {'change':>7} | {'same tasks':>10}"
        )
        total_old = total_new = 0.0
        for owner, items in sorted(by_owner.items()):
            old_top = sorted(items, key=lambda o: (-o.score, o.account_id, o.playbook))[:k]
            new_top = sorted(items, key=lambda o: (-expected(o), -o.score, o.key))[:k]
            old, new = sum(map(expected, old_top)), sum(map(expected, new_top))
            same = len({o.key for o in old_top} & {o.key for o in new_top})
            total_old, total_new = total_old + old, total_new + new
            change = (new / old - 1) if old else 0
            print(
                f"{owner:>10} | {old:>16,.0f} | {new:>14,.0f} | {change:>+7.0%} | {same:>7} of {len(old_top)}"
            )
        change = (total_new / total_old - 1) if total_old else 0
        print(f"{'all':>10} | {total_old:>16,.0f} | {total_new:>14,.0f} | {change:>+7.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    time_plan(args.n)
    compare_on_sample(args.k)


if __name__ == "__main__":
    main()
