"""Benchmark: a full and an incremental pass of N accounts through `worker.pipeline.run.run_pass` against the
Zendesk Sell sandbox at a scaled rate limit, with the connector's own paced limiter.

    .venv/bin/python bench/zendesk_sell.py [--n 5000] [--rate 10] [--changed 0.1]

Prints, per pass: calls made; the lower bound for the same work (every listing read once at 100 per
page, Firehose pages at 100 events, one call per deal and per task written, since Sell has no batch
write); their ratio; wall time against calls / allowed rate; and the 429s the sandbox answered.
The sandbox enforces `--rate` requests per rolling second, the per-second reading of Sell's
36,000/hour (https://developer.zendesk.com/api-reference/sales-crm/rate-limits); the client is
configured with the same hourly budget (`requests_per_hour = rate * 3600`) and spends its default
share of it. Targets (issue 4): calls <= 1.05 x bound, wall <= 1.1 x rate bound, zero 429s.
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
from connectors.zendesk_sell.connector import ZendeskSellConnector
from connectors.zendesk_sell.settings import ZendeskSellSettings
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

PAGE = 100


def pages(count: int) -> int:
    """Pages to read `count` records at 100 a page; an empty listing still costs one call."""
    return max(1, math.ceil(count / PAGE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="organisations in the sandbox")
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="allowed requests per second (Sell's real limit is 10: 36,000/h)",
    )
    parser.add_argument("--changed", type=float, default=0.1, help="share of accounts changed before pass 2")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="bench-zendesk-sell-"))
    settings = Settings(database_url=f"sqlite:///{tmp}/ledger.db", output_dir=tmp)
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    rows = []
    with SellSandbox(rate_limit=max(1, int(args.rate)), rate_window=1.0) as sell:
        for i in range(3):
            sell.add_user(f"CSM {i}", f"csm{i}@example.com")
        ids = sell.generate_accounts(args.n, seed=args.seed)
        sell_settings = ZendeskSellSettings(
            access_token=sell.token, base_url=sell.url, requests_per_hour=int(args.rate * 3600)
        )

        def one_pass(label: str, when: datetime, changed_events: int) -> None:
            deals_before = len(sell.deals)
            calls_before, limited_before = len(sell.calls), sell.rate_limited
            connector = ZendeskSellConnector(sell_settings)
            started = time.perf_counter()
            report = run_pass(settings, crm="zendesk-sell", connector=connector, now=when)
            wall = time.perf_counter() - started
            connector.close()
            calls = len(sell.calls) - calls_before
            by_endpoint = Counter(f"{m} {p}" for m, p in sell.calls[calls_before:])
            listing = pages(len(sell.users)) + pages(len(sell.stages)) + pages(deals_before)
            if report.mode == "full":
                reads = pages(args.n) + 1  # contacts once + the Firehose position taken before the scan
            else:
                reads = pages(changed_events)
            writes = (
                report.deals_created + report.tasks_created + report.deals_existing + report.tasks_existing
            )
            bound = listing + reads + writes
            rows.append(
                (
                    label,
                    report.mode,
                    report.accounts_read,
                    report.deals_created,
                    report.tasks_created,
                    calls,
                    bound,
                    calls / bound,
                    wall,
                    calls / args.rate,
                    wall / (calls / args.rate),
                    sell.rate_limited - limited_before,
                    dict(by_endpoint),
                )
            )

        one_pass("pass 1", now, 0)
        rng_changed = ids[:: max(1, round(1 / args.changed))] if args.changed > 0 else []
        events_before = len(sell.events)
        for account_id in rng_changed:  # usage grew and every seat is taken: some become opportunities
            sell.update_contact(
                account_id,
                custom_fields={"seats_purchased": "40", "seats_used": "40", "active_users": "40", "nps": "9"},
            )
        contact_events = sum(1 for e in sell.events[events_before:] if e.resource == "contact")
        one_pass("pass 2", now + timedelta(days=1), contact_events)

    print(
        f"\nZendesk Sell bench: N={args.n}, allowed rate {args.rate:g} req/s "
        f"(sandbox rolling 1 s window), client budget share {sell_settings.budget_share:g}, "
        f"{len(rng_changed)} accounts changed before pass 2\n"
    )
    header = (
        "pass",
        "mode",
        "accounts",
        "deals",
        "tasks",
        "calls",
        "lower bound",
        "calls/bound",
        "wall s",
        "calls/rate s",
        "wall/rate bound",
        "429s",
    )
    table = [
        (
            [*row[:6], row[6], f"{row[7]:.3f}", f"{row[8]:.1f}", f"{row[9]:.1f}", f"{row[10]:.3f}", row[11]],
            row[12],
        )
        for row in rows
    ]
    print_pass_table(header, table)


if __name__ == "__main__":
    main()
