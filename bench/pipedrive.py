"""Benchmark: a full pass and an incremental pass (1 % of accounts changed) of N accounts through
`worker.pipeline.run.run_pass` against the Pipedrive sandbox enforcing the plan's limits.

    .venv/bin/python -m bench.pipedrive [--n 5000] [--plan growth] [--changed 0.01] [--search always|org|unlisted]

Prints, per pass: calls and token cost, each against the lower bound for the same work; wall time
against the burst-limit bound; and the 429s the sandbox answered. The sandbox enforces the plan's
burst limit per rolling 2 s and search's 10 per 2 s and counts token costs as documented
(/work/shared/reference/pipedrive-api.md section 4); the client runs with its defaults for that plan.

Lower bound = each listing read once at 500 a page (users, organization and deal fields, every deal
and the archive - Pipedrive cannot filter deals by a custom field without a saved filter - won deals
and the archive for products, deal products at 100 deals a call, organizations, the organizations'
notes for the intent listener at 500 a page) + one create per deal
and per activity (Pipedrive has no batch create). Searches before creates and activity lookups are the
exactly-once safety net: "above bound" counts them (searches, or with `--search org` one list of
the organization's deals per create). Wall bound = max(calls / burst rate, searches / search rate).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.sandboxes is not an installed package

from bench.pass_table import print_pass_table
from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.limits import DailyTokenBudget, token_cost
from connectors.pipedrive.settings import PLAN_BURST, PipedriveSettings
from tests.sandboxes.pipedrive import PipedriveSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

PAGE = 500


def pages(count: int, size: int = PAGE) -> int:
    return max(1, math.ceil(count / size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--plan", default="growth", choices=sorted(PLAN_BURST))
    parser.add_argument("--seats", type=int, default=5)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--search", default="always", choices=["always", "org", "unlisted"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="bench-pipedrive-"))
    settings = Settings(database_url=f"sqlite:///{tmp}/ledger.db", output_dir=tmp)
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    burst = PLAN_BURST[args.plan]
    rows = []
    with PipedriveSandbox(burst_limit=burst, search_limit=10) as sandbox:
        for i in range(3):
            sandbox.add_user(f"CSM {i}", f"csm{i}@example.com")
        ids = sandbox.generate_accounts(args.n, seed=args.seed)
        pd_settings = PipedriveSettings(
            api_token=sandbox.token,
            base_url=sandbox.url,
            plan=args.plan,
            seats=args.seats,
            search_before_create=args.search,
        )
        budget = DailyTokenBudget(int(pd_settings.token_budget * pd_settings.budget_share))
        sandbox.daily_budget = pd_settings.token_budget

        def one_pass(label: str, when: datetime, changed: int) -> None:
            deals_before = list(sandbox.deals.values())
            won_before = sum(1 for d in deals_before if d["status"] == "won")
            calls_before, tokens_before, limited_before = (
                len(sandbox.calls),
                sandbox.tokens_used,
                sandbox.rate_limited,
            )
            connector = PipedriveConnector(pd_settings, budget=budget)
            started = time.perf_counter()
            report = run_pass(settings, crm="pipedrive", connector=connector, now=when)
            wall = time.perf_counter() - started
            connector.close()
            made = sandbox.calls[calls_before:]
            by_endpoint = Counter(f"{m} {p}" for m, p in made)
            needed = [
                ("GET", "/v1/users"),
                ("GET", "/api/v2/organizationFields"),
                ("GET", "/api/v2/dealFields"),
            ]
            needed += [("GET", "/api/v2/deals")] * pages(len(deals_before)) + [
                ("GET", "/api/v2/deals/archived")
            ]
            needed += [("GET", "/api/v2/deals")] * pages(won_before) + [("GET", "/api/v2/deals/archived")]
            needed += [("GET", "/api/v2/deals/products")] * pages(won_before, 100)
            needed += [("GET", "/api/v2/organizations")] * pages(args.n if report.mode == "full" else changed)
            needed += [("GET", "/v1/notes")] * pages(len(sandbox.notes))  # listening: one scan per pass
            needed += [("POST", "/api/v2/deals")] * report.deals_created + [
                ("POST", "/api/v2/activities")
            ] * report.tasks_created
            safety = len(made) - len(needed)
            searches = by_endpoint["GET /api/v2/deals/search"]
            calls, tokens = len(made), sandbox.tokens_used - tokens_before
            bound_tokens = sum(token_cost(m, p) for m, p in needed)
            wall_bound = max(calls / (burst / 2.0), searches / (10 / 2.0))
            rows.append(
                (
                    label,
                    report.mode,
                    report.accounts_read,
                    report.deals_created,
                    report.tasks_created,
                    calls,
                    len(needed),
                    safety,
                    f"{calls / len(needed):.3f}",
                    tokens,
                    bound_tokens,
                    f"{tokens / bound_tokens:.3f}",
                    f"{wall:.1f}",
                    f"{wall_bound:.1f}",
                    f"{wall / wall_bound:.3f}",
                    sandbox.rate_limited - limited_before,
                    dict(by_endpoint),
                )
            )

        one_pass("pass 1", now, 0)
        changed = ids[:: max(1, round(1 / args.changed))] if args.changed > 0 else []
        for org_id in changed:  # every seat taken and usage grew: some become opportunities
            sandbox.update_org(
                org_id, {"seats_purchased": 40, "seats_used": 40, "active_users": 40, "nps": 9}
            )
        one_pass("pass 2", now + timedelta(days=1), len(changed))

    print(
        f"\nPipedrive bench: N={args.n}, plan {args.plan} (burst {burst} per 2 s, search 10 per 2 s), "
        f"{args.seats} seats (daily budget {pd_settings.token_budget:,} tokens, {budget.spent:,} spent), "
        f"search before create: {args.search}, {len(changed)} accounts changed before pass 2\n"
    )
    header = (
        "pass",
        "mode",
        "accounts",
        "deals",
        "activities",
        "calls",
        "call bound",
        "above bound",
        "calls/bound",
        "tokens",
        "token bound",
        "tokens/bound",
        "wall s",
        "wall bound s",
        "wall/bound",
        "429s",
    )
    print_pass_table(header, [(row[:-1], row[-1]) for row in rows])


if __name__ == "__main__":
    main()
