"""Benchmark: what listening costs on HubSpot. N companies, E engagements (notes, emails, calls in
equal parts) logged over the 180-day window, on the HubSpot sandbox (in this process, loopback HTTP).

    .venv/bin/python -m bench.hubspot_listening                 # N=5,000 companies, E=10,000 engagements
    .venv/bin/python -m bench.hubspot_listening --n 500 --e 1000

Prints, for a full pass's read (the whole window) and an incremental pass's (1% of the engagements
logged since the watermark): API calls by route, the lower bound (one search page per 200
engagements per type, one association batch per 100), calls counted against the ten-secondly
budget (target 0: search and association batches are exempt), conversations read and seconds.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from connectors.hubspot.connector import HubSpotConnector
from tests.hubspot.conftest import TOKEN, settings_for
from tests.sandboxes.hubspot import HubSpotSandbox

TYPE_ID = {"notes": 190, "emails": 186, "calls": 182}
TEXT = {"notes": "hs_note_body", "emails": "hs_email_text", "calls": "hs_call_body"}


def seed(box: HubSpotSandbox, n: int, e: int, now: datetime) -> list[str]:
    companies = [box.add_record("companies", {"name": f"Company {i}"}) for i in range(n)]
    types = list(TYPE_ID)
    for i in range(e):
        kind = types[i % 3]
        said = now - timedelta(days=(i * 7) % 180, hours=1)
        logged_ms = int(said.timestamp() * 1000)
        engagement = box.add_record(
            kind,
            {
                "hs_timestamp": said.strftime("%Y-%m-%dT%H:%M:%SZ"),
                TEXT[kind]: f"<p>Note {i}: the team is growing, we need 5 more seats.</p>",
            },
            modified_ms=logged_ms,
        )
        box.associate(kind, engagement, companies[i % n], TYPE_ID[kind])
    return companies


def route_name(pattern: str) -> str:
    return (
        "search"
        if pattern.endswith("/search")
        else "association batch read"
        if "associations" in pattern
        else pattern
    )


def measure(
    box: HubSpotSandbox, label: str, companies: list[str], since: datetime, heard_since: datetime | None
) -> None:
    box.calls_by_route.clear()
    burst_before = box.burst_counted
    connector = HubSpotConnector(settings_for(box))
    started = time.perf_counter()
    heard = connector.accounts_heard_since(heard_since) if heard_since else companies
    read = sum(1 for _ in connector.read_conversations(companies, heard_since or since))
    seconds = time.perf_counter() - started
    calls = sum(box.calls_by_route.values())
    routes = ", ".join(f"{route_name(k)}={v}" for k, v in sorted(box.calls_by_route.items()))
    print(
        f"{label}: {read} conversations on {len(heard)} companies, {calls} calls ({routes}), "
        f"{box.burst_counted - burst_before} counted against the ten-secondly budget, {seconds:.2f} s"
    )
    connector.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--e", type=int, default=10000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000) as box:
        companies = seed(box, args.n, args.e, now)
        per_type = -(-args.e // 3)
        bound = 3 * (-(-per_type // 200) + -(-per_type // 100))
        print(
            f"N={args.n} companies, E={args.e} engagements; full-window lower bound {bound} calls "
            f"(per type: ceil({per_type}/200) searches + ceil({per_type}/100) association batches)"
        )
        measure(box, "full window (180 days)", companies, now - timedelta(days=180), None)
        recent = max(1, args.e // 100)
        for i in range(recent):  # 1% new since the watermark
            kind = list(TYPE_ID)[i % 3]
            engagement = box.add_record(
                kind,
                {"hs_timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), TEXT[kind]: "We are evaluating DeepL."},
            )
            box.associate(kind, engagement, companies[(i * 37) % args.n], TYPE_ID[kind])
        watermark = datetime.now(UTC) - timedelta(seconds=30)
        measure(
            box,
            f"incremental ({recent} new since the watermark)",
            companies,
            now - timedelta(days=180),
            watermark,
        )


if __name__ == "__main__":
    main()
