"""Scoring throughput: accounts x playbooks evaluated per second, and memory as N grows.

    python bench/score.py            # 100,000 generated accounts (about a minute)
    python bench/score.py --n 20000  # quicker

Accounts are generated and validated in chunks (not timed), then assessed (timed): journey stage,
every built-in playbook's score with its explanation, guardrails, and the opportunity and task for
each that fires. Each account is assessed twice: as on a first pass (no history, so every
qualifying offer is built: deal, explanation, rendered task), and in steady state (the offers of the
first pass are open, as on every later pass). Runs in one process, so the rates are per core. Peak
RSS is printed at checkpoints: it must stay flat as N grows, because a pass keeps no account.

Rates are given twice: per second of wall time, and per second of this process's CPU time. On a
shared machine the wall rate drops with every other process running; the CPU rate is the one to
compare before and after a change (run both versions with the same command on the same machine).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.files.sample import AS_OF, iter_accounts
from domain import Account, ExistingOpportunity, OpportunityStatus
from playbooks.affinity import AffinityModel
from playbooks.assess import NEW, Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog, load_playbooks

CHUNK = 2000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    playbooks = load_playbooks([])
    baskets = (
        frozenset(a["products"].split(";")) for _, a, _ in iter_accounts(5000, args.seed + 1, showcase=False)
    )
    assessor = Assessor(playbooks, load_catalog(), AffinityModel.from_baskets(baskets))
    empty = AccountHistory()
    checkpoints = {args.n // 10, args.n // 2, args.n}
    assessed = fired = 0
    first_time = steady_time = first_cpu = steady_cpu = 0.0
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
        histories = []
        start, start_cpu = time.perf_counter(), time.process_time()
        for account, usage in chunk:
            result = assessor.assess(account, usage, empty, AS_OF)
            histories.append([o.opportunity for o in result.outcomes if o.status == NEW])
        first_time += time.perf_counter() - start
        first_cpu += time.process_time() - start_cpu
        fired += sum(len(h) for h in histories)
        opened = [
            AccountHistory(
                [
                    ExistingOpportunity(
                        key=o.key,
                        account_id=o.account_id,
                        playbook=o.playbook,
                        offer=o.offer,
                        status=OpportunityStatus.OPEN,
                        created_at=AS_OF - timedelta(days=40),
                    )
                    for o in offers
                    if o is not None
                ]
            )
            for offers in histories
        ]
        start, start_cpu = time.perf_counter(), time.process_time()
        for (account, usage), history in zip(chunk, opened):
            assessor.assess(account, usage, history, AS_OF)
        steady_time += time.perf_counter() - start
        steady_cpu += time.process_time() - start_cpu
        before = assessed
        assessed += len(chunk)
        for mark in sorted(checkpoints):
            if before < mark <= assessed:
                evaluations = assessed * len(playbooks)
                rows.append(
                    (
                        assessed,
                        evaluations / first_time,
                        evaluations / first_cpu,
                        evaluations / steady_time,
                        evaluations / steady_cpu,
                        peak_rss_mb(),
                    )
                )
        del chunk, histories, opened

    print(
        f"scoring benchmark: {len(playbooks)} playbooks, one process (one core), Python {sys.version.split()[0]}"
    )
    print(f"{'':>10} {'first pass eval/s':^25} {'steady state eval/s':^25}")
    print(f"{'accounts':>10} {'wall':>12} {'CPU':>12} {'wall':>12} {'CPU':>12} {'peak RSS MB':>12}")
    for n, first, first_c, steady, steady_c, rss in rows:
        print(f"{n:>10,} {first:>12,.0f} {first_c:>12,.0f} {steady:>12,.0f} {steady_c:>12,.0f} {rss:>12,.1f}")
    print(
        f"first pass: {assessed / first_time:,.0f} accounts/s ({assessed / first_cpu:,.0f} per CPU second), "
        f"{fired:,} offers built ({fired / assessed:.2f} per account); steady state: "
        f"{assessed / steady_time:,.0f} accounts/s ({assessed / steady_cpu:,.0f} per CPU second)"
    )
    print("target: >= 200,000 evaluations/s per core; peak RSS flat in N")


if __name__ == "__main__":
    main()
