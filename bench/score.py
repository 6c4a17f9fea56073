"""Scoring throughput: accounts x playbooks evaluated per second, and memory as N grows.

    python bench/score.py            # 100,000 generated accounts (about a minute)
    python bench/score.py --n 20000  # quicker

Accounts are generated and validated in chunks (not timed), then assessed (timed): journey stage,
every built-in playbook's score with its explanation, guardrails, and the opportunity and task for
each that fires. Runs in one process, so the rate is per core. Peak RSS is printed at checkpoints:
it must stay flat as N grows, because a pass streams accounts and keeps none of them.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.files.sample import AS_OF, iter_accounts  # noqa: E402
from domain import Account  # noqa: E402
from playbooks.affinity import AffinityModel  # noqa: E402
from playbooks.assess import NEW, Assessor  # noqa: E402
from playbooks.guardrails import AccountHistory  # noqa: E402
from playbooks.loader import load_catalog, load_playbooks  # noqa: E402

CHUNK = 2000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    playbooks = load_playbooks([])
    baskets = (frozenset(a["products"].split(";")) for _, a, _ in iter_accounts(5000, args.seed + 1, showcase=False))
    assessor = Assessor(playbooks, load_catalog(), AffinityModel.from_baskets(baskets))
    empty = AccountHistory()
    checkpoints = {args.n // 10, args.n // 2, args.n}
    assessed = fired = 0
    timed = 0.0
    rows = []
    stream = iter_accounts(args.n, args.seed, showcase=False)
    while assessed < args.n:
        chunk = []
        for _, row, usage in stream:
            chunk.append((Account.model_validate(row), usage))
            if len(chunk) == CHUNK:
                break
        if not chunk:
            break
        start = time.perf_counter()
        for account, usage in chunk:
            result = assessor.assess(account, usage, empty, AS_OF)
            fired += sum(1 for o in result.outcomes if o.status == NEW)
        timed += time.perf_counter() - start
        before = assessed
        assessed += len(chunk)
        for mark in sorted(checkpoints):
            if before < mark <= assessed:
                rows.append((assessed, assessed / timed, assessed * len(playbooks) / timed, peak_rss_mb()))
        del chunk

    print(f"scoring benchmark: {len(playbooks)} playbooks, one process (one core), Python {sys.version.split()[0]}")
    print(f"{'accounts':>10} {'accounts/s':>12} {'evaluations/s':>15} {'peak RSS MB':>12}")
    for n, per_second, evaluations, rss in rows:
        print(f"{n:>10,} {per_second:>12,.0f} {evaluations:>15,.0f} {rss:>12,.1f}")
    print(f"assessment time {timed:.2f} s for {assessed:,} accounts; {fired:,} offers would fire")
    print("target: >= 200,000 evaluations/s per core; peak RSS flat in N")


if __name__ == "__main__":
    main()
