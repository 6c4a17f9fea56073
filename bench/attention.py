"""Capacity planning (issue #15): how long ranking and planning take, and what it changes.

    .venv/bin/python -m bench.attention                 # 50,000 accounts, the sample comparison
    .venv/bin/python -m bench.attention --n 200000

Printed:
1. For N accounts' candidates (1 to 2 each, 8 to 40 owners, some unowned): the time and peak
   Python memory (tracemalloc) of `worker.pipeline.capacity.plan`, the pure step both drivers
   run once per pass (the ledger query that feeds it is not included).
2. On the bundled sample (a dry run, no caps, so every candidate is seen): per owner, the top 10
   by today's order (score, then account id) against the top 10 `plan` picks, and the expected
   amount of each: sum of P(win) x estimated amount. Until the ledger holds enough outcomes to
   calibrate P(win) (issue #15 step 3, not built yet), P(win) is score / 100, the same proxy the new
   ranking uses, so this comparison shows how much the order changes, not that it wins more.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from worker.pipeline.capacity import CapacityPolicy, plan
from worker.store.candidates import WaitingCandidate

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


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


def compare_on_sample(k: int = 10) -> None:
    from worker.pipeline.run import run_pass
    from worker.pipeline.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(output_dir=Path(tmp), tasks_per_owner_per_week=None, open_tasks_per_owner=None)
        report = run_pass(settings, dry_run=True)
    deals = [p["record"] for p in report.dry_run_payloads if p["append"] == "deals.jsonl"]
    by_owner: dict[str, list[dict]] = defaultdict(list)
    for deal in deals:
        by_owner[deal.get("owner_id") or "-"].append(deal)

    def expected(deal: dict) -> float:
        return int(deal["score"]) / 100 * float(deal["estimated_amount"])

    print(f"\nsample: {len(deals)} candidates, top {k} per owner, expected amount = score/100 x estimate")
    print(f"{'owner':>10} | {'today (score, id)':>18} | {'by rank value':>14} | {'change':>7}")
    total_old = total_new = 0.0
    for owner, items in sorted(by_owner.items()):
        today = sorted(items, key=lambda d: (-int(d["score"]), d["account_id"], d["playbook"]))[:k]
        best = sorted(items, key=lambda d: (-expected(d), -int(d["score"]), d["key"]))[:k]
        old, new = sum(map(expected, today)), sum(map(expected, best))
        total_old, total_new = total_old + old, total_new + new
        print(f"{owner:>10} | {old:>18,.0f} | {new:>14,.0f} | {(new / old - 1) if old else 0:>+7.0%}")
    print(f"{'all':>10} | {total_old:>18,.0f} | {total_new:>14,.0f} | {(total_new / total_old - 1):>+7.0%}")


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
