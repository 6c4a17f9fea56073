"""End-to-end benchmark: this project's full and incremental passes against a naive per-record flow,
both against the HubSpot sandbox at the Free-tier limit (100 requests per rolling 10 s, search 5/s).

    .venv/bin/python -m bench.e2e                       # N=20,000 companies (about 10 minutes), then
                                                        # 1,000,000 accounts through the workers (about 30)
    .venv/bin/python -m bench.e2e --n 2000 --naive-sample 200 --scale 0   # quick (about 2 minutes)

The scoring-throughput part (bench/scale.py) needs the real services: REDIS_URL and DATABASE_URL as
for the tests; without them it is skipped with a note.

The naive flow is how a workflow-tool integration does it: for every company, one GET of the company,
one search for its existing deals, then one POST per new deal and one per task (associated to the
deal and the company). It runs under the same client (`HubSpotClient`: the same burst and search
limiters, retries and timeouts) so it sees no 429s either; its decisions cost it nothing (it writes
exactly the deals and tasks this project's full pass wrote, read back from the sandbox), so the
comparison is about API calls and time only.

At the Free-tier rate the naive full pass over 20,000 companies takes over an hour, so it is run for
real on `--naive-sample` companies (every k-th company, so the sample has the data set's mix) in a
second sandbox seeded identically. Its call count at N is the flow's 2 + deals + tasks calls per
company counted over all N (scaled by the sample's measured / counted calls when retries added
some); its wall time at N is the sample's seconds per call
times those calls (`--naive-sample 0` runs it over all N). The naive incremental pass runs for real over
every changed company, against the project's sandbox after the project's incremental pass (where all
deals exist, as they would for the workflow tool).

Targets (issue 6): the project makes >= 50x fewer calls than the naive flow; its calls <= 1.05 x the
lower bound (one call per full page; see bench/hubspot.py) and its wall time <= 1.1 x the rate-limit
bound (calls / 10 per s, or searches / 5 per s if longer); zero 429s.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._hubspot_fixture import TOKEN, RemoteSandbox
from bench.hubspot import PassResult, one_pass
from connectors.hubspot import mapping
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.setup import run_setup
from tests.hubspot.seed import sample_as_of
from worker.pipeline.settings import Settings

SEARCH_RATE = 5.0


@dataclass
class Flow:
    """One row of the table: a pass of either flow."""

    name: str
    companies: int
    calls: int
    searches: int
    wall: float
    rate_limited: int
    bound: int | None = None  # lower bound on calls for the same work (project passes only)
    scaled_from: int | None = None  # the naive full pass: measured on this many companies

    def rate_bound(self, rate: float) -> float:
        return max(self.calls / rate, self.searches / SEARCH_RATE)


def naive_flow(
    hs: HubSpotSettings, company_ids: Sequence[str], writes: Mapping[str, list[dict[str, Any]]]
) -> tuple[int, int, float]:
    """Per company: GET it, search its deals, POST each deal it lacks and each of that deal's tasks.
    Returns (calls, searches, wall seconds)."""
    client = HubSpotClient(hs)
    properties = ",".join(hs.company_properties)
    started = time.perf_counter()
    try:
        for company_id in company_ids:
            client.api.request(
                "GET",
                f"/crm/v3/objects/companies/{company_id}",
                params={"properties": properties},
                endpoint="companies.get",
            )
            found = client.search_page(
                "deals",
                {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": "oppworker_account_id",
                                    "operator": "EQ",
                                    "value": company_id,
                                }
                            ]
                        }
                    ],
                    "properties": [mapping.KEY_PROPERTY],
                    "limit": 100,
                },
            )
            have = {(d.get("properties") or {}).get(mapping.KEY_PROPERTY) for d in found.get("results") or []}
            for item in writes.get(company_id, []):
                if item["deal"][mapping.KEY_PROPERTY] in have:
                    continue
                deal = client.api.request(
                    "POST",
                    "/crm/v3/objects/deals",
                    endpoint="deals.create_one",
                    json={
                        "properties": item["deal"],
                        "associations": [_association(company_id, mapping.DEAL_TO_COMPANY_PRIMARY)],
                    },
                )
                for task in item["tasks"]:
                    client.api.request(
                        "POST",
                        "/crm/v3/objects/tasks",
                        endpoint="tasks.create_one",
                        json={
                            "properties": task,
                            "associations": [
                                _association(str(deal["id"]), mapping.TASK_TO_DEAL),
                                _association(company_id, mapping.TASK_TO_COMPANY),
                            ],
                        },
                    )
        wall = time.perf_counter() - started
        searches = client.stats.by_endpoint.get("deals.search", 0)
        if client.stats.retries or client.stats.rate_limited:
            print(
                f"  naive flow: {client.stats.retries} retries, {client.stats.rate_limited} answered 429, "
                f"statuses {dict(client.stats.by_status)}",
                flush=True,
            )
        return client.stats.calls, searches, wall
    finally:
        client.close()


def _association(to_id: str, type_id: int) -> dict[str, Any]:
    return {
        "to": {"id": to_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def naive_calls(company_ids: Sequence[str], writes: Mapping[str, list[dict[str, Any]]]) -> int:
    """What the naive flow calls over these companies on an empty CRM: 2 + deals + tasks each."""
    return sum(2 + sum(1 + len(i["tasks"]) for i in writes.get(c, [])) for c in company_ids)


def project_row(result: PassResult, rate_limited: int, bound: int | None = None) -> Flow:
    return Flow(
        result.name,
        result.report.accounts_read,
        result.total,
        result.search_calls,
        result.wall,
        rate_limited,
        bound=bound or result.total_bound,
    )


def incremental_bound(result: PassResult, owners: int, changed_deals: int) -> int:
    """One call per full page for an incremental pass that reads only what changed: the changed
    companies (search, 200 a page), owners (100), the changed accounts' deals (search `IN`, 100
    account ids a page), their task states (100 a batch read), the writes (100 a batch). bench/hubspot's
    bound still assumes every deal and task state is re-read (the runner before the lead's change)."""
    read = result.report.accounts_read
    writes = result.report.deals_created + result.report.deals_existing
    return (
        max(1, math.ceil(read / 200))
        + max(1, math.ceil(owners / 100))
        + max(1, math.ceil(read / 100))
        + math.ceil(changed_deals / 100)
        + 2 * math.ceil(writes / 100)
    )


def print_table(rows: list[Flow], rate: float) -> None:
    head = (
        f"| {'flow':<18} | {'companies':>9} | {'calls':>7} | {'bound':>6} | {'calls/bound':>11} | "
        f"{'wall s':>8} | {'rate bound s':>12} | {'wall/rate':>9} | {'429s':>4} |"
    )
    print(head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        bound = f"{r.bound:>6}" if r.bound else f"{'-':>6}"
        ratio = f"{r.calls / r.bound:>11.2f}" if r.bound else f"{'-':>11}"
        wall = f"{r.wall:>8.1f}" + ("*" if r.scaled_from else " ")
        print(
            f"| {r.name:<18} | {r.companies:>9,} | {r.calls:>7,} | {bound} | {ratio} | {wall[:-1]:>8}{wall[-1]}"
            f"| {r.rate_bound(rate):>12.1f} | {r.wall / r.rate_bound(rate):>9.2f} | {r.rate_limited:>4} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="companies (default 20,000)")
    parser.add_argument(
        "--changed", type=float, default=1.0, help="percent changed before the incremental pass"
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=500,
        help="companies the naive full pass runs over for real (0: all N)",
    )
    parser.add_argument("--burst", type=int, default=100, help="requests per window (Free tier: 100)")
    parser.add_argument("--window", type=float, default=10.0, help="window seconds (HubSpot: 10)")
    parser.add_argument(
        "--scale",
        type=int,
        default=1_000_000,
        help="then this many generated accounts through the Celery task graph with 1 and 2 "
        "workers (bench/scale.py; needs REDIS_URL and DATABASE_URL; 0 skips)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rate = args.burst / args.window

    options = {"token": TOKEN, "burst_limit": args.burst, "burst_window": args.window, "search_limit": 5}
    box, naive_box = RemoteSandbox(**options), RemoteSandbox(**options)
    hs = HubSpotSettings(
        access_token=TOKEN, base_url=box.url, burst_limit=args.burst, burst_window_seconds=args.window
    )
    naive_hs = hs.model_copy(update={"base_url": naive_box.url})
    try:
        print(f"seeding {args.n:,} companies twice ...", flush=True)
        seeded_ms = int(time.time() * 1000) - 2 * 86_400_000
        ids = box.call("seed", args.n, seeded_ms)
        assert naive_box.call("seed", args.n, seeded_ms) == ids, "both sandboxes must hold the same companies"
        for settings in (hs, naive_hs):  # both CRMs get the custom properties (setup calls are not counted)
            setup = HubSpotClient(settings)
            run_setup(setup)
            setup.close()
        time.sleep(args.window)  # setup's calls leave the window: every pass starts with a full budget

        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}", output_dir=Path(tmp) / "out"
            )
            now = sample_as_of()
            print("project: full pass ...", flush=True)
            full = one_pass(box, settings, hs, "full", now=now)
            writes = box.call("dump")
            time.sleep(args.window)
            changed = ids[:: max(1, round(100 / args.changed))]
            box.call("touch", changed, int(time.time() * 1000) - 5)
            print("project: incremental pass ...", flush=True)
            incremental = one_pass(box, settings, hs, "incremental", now=now + timedelta(days=1))
        project_state = box.call("state")

        step = 1 if args.naive_sample <= 0 or args.naive_sample >= args.n else args.n // args.naive_sample
        sample = ids[::step]
        time.sleep(args.window)
        print(f"naive: full pass over {len(sample):,} companies ...", flush=True)
        before = naive_box.call("state")["rate_limited"]
        calls, searches, wall = naive_flow(naive_hs, sample, writes)
        naive_limited = naive_box.call("state")["rate_limited"] - before
        expected = naive_calls(sample, writes)
        if calls != expected:
            print(f"  naive flow made {calls} calls where the flow needs {expected} (retries count as calls)")
        naive_state = naive_box.call("state")
        total_calls = round(naive_calls(ids, writes) * calls / expected)
        naive_full = Flow(
            "naive full",
            args.n,
            total_calls,
            len(ids),
            wall * total_calls / calls,
            naive_limited,
            scaled_from=len(sample) if len(sample) < len(ids) else None,
        )

        time.sleep(args.window)
        print(f"naive: incremental pass over {len(changed):,} changed companies ...", flush=True)
        before = box.call("state")["rate_limited"]
        i_calls, i_searches, i_wall = naive_flow(hs, changed, writes)
        naive_incremental = Flow(
            "naive incremental",
            len(changed),
            i_calls,
            i_searches,
            i_wall,
            box.call("state")["rate_limited"] - before,
        )
    finally:
        box.stop()
        naive_box.stop()

    changed_deals = sum(len(writes.get(c, [])) for c in changed)
    rows = [
        project_row(full, full.rate_limited),
        naive_full,
        project_row(
            incremental,
            incremental.rate_limited,
            incremental_bound(incremental, project_state["owners"], changed_deals),
        ),
        naive_incremental,
    ]
    print(
        f"\nN={args.n:,} companies, {len(changed):,} changed before the incremental pass, "
        f"limit {args.burst}/{args.window:g} s, search {SEARCH_RATE:g}/s; project wrote "
        f"{project_state['deals']:,} deals and {project_state['tasks']:,} tasks "
        f"({project_state['duplicate_keys']} duplicate keys, {project_state['deals_without_one_task']} deals "
        f"without exactly one task); the naive sample wrote {naive_state['deals']:,} deals and "
        f"{naive_state['tasks']:,} tasks (429s by policy: {naive_state['rate_limited_by'] or 'none'})\n"
    )
    print_table(rows, rate)
    for result in (full, incremental):
        print(
            f"  {result.name} calls by kind: " + ", ".join(f"{k} {v}" for k, v in result.calls.items() if v)
        )
    if naive_full.scaled_from:
        print(
            f"* naive full: measured over {naive_full.scaled_from:,} companies ({calls:,} calls in {wall:.1f} s); "
            f"calls at N = 2 + deals + tasks per company over all N (x measured/counted on the sample), wall = measured s/call x calls"
        )
    print()
    print(f"| {'ratio':<44} | {'value':>8} | {'target':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|")
    checks = [
        ("naive full calls / project full calls", naive_full.calls / rows[0].calls, ">= 50"),
        ("naive incremental calls / project incremental", naive_incremental.calls / rows[2].calls, ">= 50"),
        ("naive full wall / project full wall", naive_full.wall / rows[0].wall, "-"),
        ("project full calls / bound", rows[0].calls / rows[0].bound, "<= 1.05"),
        ("project incremental calls / bound", rows[2].calls / rows[2].bound, "<= 1.05"),
        ("project full wall / rate bound", rows[0].wall / rows[0].rate_bound(rate), "<= 1.1"),
        ("project incremental wall / rate bound", rows[2].wall / rows[2].rate_bound(rate), "<= 1.1"),
        ("project incremental calls / full calls", rows[2].calls / rows[0].calls, "-"),
    ]
    for label, value, target in checks:
        print(f"| {label:<44} | {value:>8.2f} | {target:>8} |")

    if args.scale <= 0:
        return
    if not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")):
        print(
            "\nscoring throughput in the worker: skipped (set REDIS_URL and DATABASE_URL; see bench/README.md)"
        )
        return
    from bench import scale

    print(f"\nscoring throughput in the worker: {args.scale:,} generated accounts ...", flush=True)
    scale.print_table(args.scale, scale.run(args.scale, [1, 2], log=lambda m: print(m, flush=True)))


if __name__ == "__main__":
    main()
