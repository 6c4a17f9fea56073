"""Benchmark: a full and an incremental pass of N companies against the HubSpot sandbox at the
Free-tier burst limit (100 requests per rolling 10 s), through `worker.pipeline.run.run_pass`, twice in one
run: "before" spends the burst budget on search and association batch calls too
(`exempt_search_from_burst: false`), "after" leaves them out of it as HubSpot counts them (the spec
files' `x-hubspot-rate-limit-exemptions: ["ten-secondly"]`). Each mode gets a fresh sandbox seeded the
same way; the sandbox always counts as HubSpot does, so the difference is only what our client waits
for. Every request is on a 2026-03 path (the count of undated requests is printed).

    .venv/bin/python -m bench.hubspot            # N=20,000 (about a minute of API time)
    .venv/bin/python -m bench.hubspot --n 2000   # quick

Prints, per pass and per kind of record: API calls made, the lower bound for the same work (one call
per full page of records read or written: companies 100 per list page or 200 per search page, owners
100, existing opportunities 200 per search page, deals and tasks 100 per batch, and for the outcome
loop the states of earlier tasks 100 per batch read), their ratio, wall time against calls / allowed
rate, and the 429s seen; then before/after wall times. Targets: calls <= 1.05 x bound, wall <= 1.1 x rate
bound, zero 429s, incremental (1% changed) <= 3% of the full pass's calls.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench._hubspot_fixture import TOKEN, RemoteSandbox
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.setup import run_setup
from tests.hubspot.seed import sample_as_of
from worker.pipeline.report import RunReport
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

KINDS = (
    "companies",
    "owners",
    "existing opportunities",
    "deals",
    "tasks",
    "deal facts",
    "task states",
    "other",
)


def kind_of(endpoint: str) -> str:
    if "deals.facts" in endpoint:
        return "deal facts"
    if "tasks.states" in endpoint:
        return "task states"
    if "companies." in endpoint:
        return "companies"
    if "owners." in endpoint:
        return "owners"
    if "deals.search" in endpoint:
        return "existing opportunities"
    if "deals." in endpoint:
        return "deals"
    if "tasks." in endpoint:
        return "tasks"
    return "other"


@dataclass
class PassResult:
    name: str
    report: RunReport
    calls: Counter[str]
    bound: dict[str, int]
    wall: float
    rate_limited: int
    search_calls: int
    exempt_calls: int

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def total_bound(self) -> int:
        return sum(self.bound.values())


def one_pass(
    box: RemoteSandbox, settings: Settings, hs: HubSpotSettings, name: str, changed_deals: int = 0, **kwargs
) -> PassResult:
    connector = HubSpotConnector(hs)
    before = box.call("state")
    started = time.perf_counter()
    report = run_pass(settings, crm="hubspot", connector=connector, **kwargs)
    wall = time.perf_counter() - started
    calls: Counter[str] = Counter()
    for endpoint, count in connector.client.stats.by_endpoint.items():
        calls[kind_of(endpoint)] += count
    incremental = report.mode == "incremental"
    read_pages = 200 if incremental else 100
    # An incremental pass reads only the changed accounts' deals (search IN, 100 account ids per
    # query), and the outcome loop reads only those deals' task states.
    bound = {
        "companies": max(1, math.ceil(report.accounts_read / read_pages)),
        "owners": max(1, math.ceil(before["owners"] / 100)),
        "existing opportunities": (
            max(1, math.ceil(report.accounts_read / 100))
            if incremental
            else max(1, math.ceil(before["deals"] / 200))
        ),
        "deals": math.ceil((report.deals_created + report.deals_existing) / 100),
        "tasks": math.ceil((report.tasks_created + report.tasks_existing) / 100),
        # The outcome loop (worker/outcomes.py): deal facts ride on the deal listing (no call);
        # the state of every task written before this pass is read back, 100 per call.
        "deal facts": 0,
        "task states": math.ceil((changed_deals if incremental else before["tasks"]) / 100),
        "other": 0,
    }
    by_endpoint = connector.client.stats.by_endpoint
    search_calls = sum(n for e, n in by_endpoint.items() if e.endswith(".search"))
    exempt_calls = search_calls + sum(n for e, n in by_endpoint.items() if ".associations." in e)
    connector.close()
    after = box.call("state")
    return PassResult(
        name,
        report,
        calls,
        bound,
        wall,
        after["rate_limited"] - before["rate_limited"],
        search_calls,
        exempt_calls if hs.exempt_search_from_burst else 0,
    )


def print_table(results: list[PassResult], rate: float, search_rate: float) -> None:
    header = f"| {'pass':<11} | {'kind':<22} | {'records':>7} | {'calls':>5} | {'bound':>5} | {'ratio':>5} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in results:
        records = {
            "companies": r.report.accounts_read,
            "deals": r.report.deals_created + r.report.deals_existing,
            "tasks": r.report.tasks_created + r.report.tasks_existing,
        }
        for kind in KINDS:
            if not r.calls[kind] and not r.bound[kind]:
                continue
            ratio = f"{r.calls[kind] / r.bound[kind]:.2f}" if r.bound[kind] else "-"
            print(
                f"| {r.name:<11} | {kind:<22} | {records.get(kind, ''):>7} | {r.calls[kind]:>5} | "
                f"{r.bound[kind]:>5} | {ratio:>5} |"
            )
        print(
            f"| {r.name:<11} | {'TOTAL':<22} | {'':>7} | {r.total:>5} | {r.total_bound:>5} | "
            f"{r.total / r.total_bound:>5.2f} |"
        )
    print()
    # Rate bound: the calls the burst budget counts at the burst rate, or the searches at the search
    # rate, whichever is longer. With the exemption, searches and association batches are not counted.
    print(
        f"| {'pass':<11} | {'wall s':>7} | {'calls/rate s':>12} | {'ratio':>5} | {'429s':>4} | {'new opps':>8} |"
    )
    print(f"|{'-' * 13}|{'-' * 9}|{'-' * 14}|{'-' * 7}|{'-' * 6}|{'-' * 10}|")
    for r in results:
        rate_bound = max((r.total - r.exempt_calls) / rate, r.search_calls / search_rate)
        print(
            f"| {r.name:<11} | {r.wall:>7.1f} | {rate_bound:>12.1f} | {r.wall / rate_bound:>5.2f} | "
            f"{r.rate_limited:>4} | {r.report.new:>8} |"
        )
    if len(results) >= 2:
        print(
            f"\nincremental calls / full calls = {results[-1].total}/{results[0].total} = "
            f"{results[-1].total / results[0].total:.1%}"
        )


@dataclass
class ModeResult:
    full: PassResult
    rerun: PassResult
    incremental: PassResult
    state: dict
    changed: int
    changed_deals: int


def run_mode(args: argparse.Namespace, exempt: bool) -> ModeResult:
    """Seed a fresh sandbox, set up, run a full and an incremental pass with the exemption on or off."""
    box = RemoteSandbox(token=TOKEN, burst_limit=args.burst, burst_window=args.window, search_limit=5)
    hs = HubSpotSettings(
        access_token=TOKEN,
        base_url=box.url,
        burst_limit=args.burst,
        burst_window_seconds=args.window,
        exempt_search_from_burst=exempt,
    )
    label = "after" if exempt else "before"
    try:
        print(f"[{label}] seeding {args.n:,} companies ...", flush=True)
        ids = box.call("seed", args.n, int(time.time() * 1000) - 2 * 86_400_000)
        setup_client = HubSpotClient(hs)
        run_setup(setup_client)
        setup_client.close()
        time.sleep(args.window)  # let setup's calls leave the window: the passes start with a full budget

        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}", output_dir=Path(tmp) / "out"
            )
            now = sample_as_of()
            print(f"[{label}] full pass ...", flush=True)
            full = one_pass(box, settings, hs, f"{label} full", now=now)
            time.sleep(args.window)
            # A second full pass (a nightly re-read): it searches every deal of ours (200 per page),
            # the pass where the search exemption weighs most.
            print(f"[{label}] full rerun ...", flush=True)
            rerun = one_pass(box, settings, hs, f"{label} rerun", full=True, now=now)
            time.sleep(args.window)
            changed = ids[:: max(1, round(100 / args.changed))]
            box.call("touch", changed, int(time.time() * 1000) - 5)
            print(f"[{label}] incremental pass ...", flush=True)
            # The deals on the changed accounts: what the incremental pass must read at least.
            probe = HubSpotConnector(hs)
            changed_deals = sum(1 for _ in probe.read_opportunities_for(changed))
            probe.close()
            time.sleep(1.5)  # the probe's searches age out of the search window before the pass
            incremental = one_pass(
                box, settings, hs, f"{label} incr", changed_deals, now=now + timedelta(days=1)
            )
        state = box.call("state")
    finally:
        box.stop()
    return ModeResult(full, rerun, incremental, state, len(changed), changed_deals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="companies (default 20,000)")
    parser.add_argument(
        "--changed", type=float, default=1.0, help="percent changed before the incremental pass"
    )
    parser.add_argument("--burst", type=int, default=100, help="requests per window (Free tier: 100)")
    parser.add_argument("--window", type=float, default=10.0, help="window seconds (HubSpot: 10)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    modes = {"before": run_mode(args, exempt=False), "after": run_mode(args, exempt=True)}
    rate = args.burst / args.window
    for label, mode in modes.items():
        state = mode.state
        print(
            f"\n== {label}: search/association calls {'outside' if label == 'after' else 'inside'} the burst budget"
        )
        print(
            f"N={args.n:,} companies, {mode.changed:,} changed before the incremental pass, "
            f"limit {args.burst}/{args.window:g} s, search 5/s"
        )
        print(
            f"HubSpot afterwards: {state['deals']:,} deals, {state['tasks']:,} tasks, "
            f"{state['duplicate_keys']} duplicate keys, {state['deals_without_one_task']} deals without exactly one "
            f"task; 429s by policy: {state['rate_limited_by'] or 'none'}; requests not on 2026-03 paths: "
            f"{state['undated_requests']} of {state['requests']:,}\n"
        )
        print_table([mode.full, mode.rerun, mode.incremental], rate, 5.0)
        print(f"({mode.changed_deals:,} of our deals are on the changed accounts)")
    before, after = modes["before"], modes["after"]
    print("\n== the ten-secondly exemption, same run")
    print(
        f"| {'pass':<11} | {'wall before s':>13} | {'wall after s':>12} | {'after/before':>12} | "
        f"{'calls/bound after':>17} | {'429s after':>10} |"
    )
    print(f"|{'-' * 13}|{'-' * 15}|{'-' * 14}|{'-' * 14}|{'-' * 19}|{'-' * 12}|")
    for name in ("full", "rerun", "incremental"):
        b, a = getattr(before, name), getattr(after, name)
        print(
            f"| {name:<11} | {b.wall:>13.1f} | {a.wall:>12.1f} | {a.wall / b.wall:>12.2f} | "
            f"{a.total / a.total_bound:>17.2f} | {a.rate_limited:>10} |"
        )


if __name__ == "__main__":
    main()
