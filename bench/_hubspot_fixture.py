"""The HubSpot sandbox in its own process, seeded from the bundled sample: shared by `bench/hubspot.py`
(this project's passes, call by call) and `bench/e2e.py` (those passes against a naive per-record flow).

The sandbox plays HubSpot's servers, whose CPU is not ours: in the benchmark's process it would compete
with the pass for the GIL and slow both. Commands go over a pipe.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from tests.hubspot.seed import seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox

TOKEN = "bench-token"


class RemoteSandbox:
    """A `HubSpotSandbox(**options)` served from a child process; `call(command, *args)` runs one of
    `_serve`'s commands there."""

    def __init__(self, **options: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, options), daemon=True)
        self._process.start()
        self.url: str = self._conn.recv()

    def call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self._process.join(5)


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    box = HubSpotSandbox(**options).start()
    conn.send(box.url)
    while True:
        command, args = conn.recv()
        if command == "seed":
            conn.send(seed_sample(box, *args))
        elif command == "touch":
            ids, at_ms = args
            for company_id in ids:
                box.touch("companies", company_id, at_ms=at_ms)
            conn.send(None)
        elif command == "state":
            conn.send(state(box))
        elif command == "dump":
            conn.send(dump(box))
        elif command == "stop":
            box.stop()
            conn.send(None)
            return


def state(box: HubSpotSandbox) -> dict[str, Any]:
    """Counts a benchmark checks after a pass: records, duplicates, deals without their task, 429s."""
    deals = box.records("deals")
    keys = Counter(d["properties"]["oppworker_key"] for d in deals)
    return {
        "deals": len(deals),
        "tasks": len(box.records("tasks")),
        "owners": len(box.owners),
        "duplicate_keys": sum(1 for c in keys.values() if c > 1),
        "deals_without_one_task": sum(
            1 for d in deals if len(box.associated("deals", d["id"], "tasks")) != 1
        ),
        "rate_limited": box.rate_limited,
        "rate_limited_by": dict(box.rate_limited_by),
        # Requests not on a 2026-03 path (the legacy token-info endpoint has no dated form).
        "undated_requests": sum(
            1 for _, path in box.server.requests if "/2026-03" not in path and not path.startswith("/oauth/")
        ),
        "requests": len(box.server.requests),
    }


def dump(box: HubSpotSandbox) -> dict[str, list[dict[str, Any]]]:
    """Per company id, the deals written to it: {company: [{"deal": props, "tasks": [props, ...]}]}.
    The naive flow in `bench/e2e.py` replays exactly these writes, one record per call."""
    out: dict[str, list[dict[str, Any]]] = {}
    tasks = {t["id"]: t["properties"] for t in box.records("tasks")}
    for deal in box.records("deals"):
        props = {
            k: v
            for k, v in deal["properties"].items()
            if k not in ("hs_object_id", "hs_lastmodifieddate", "createdate", "hs_createdate")
        }
        for company in box.associated("deals", deal["id"], "companies"):
            out.setdefault(company, []).append(
                {
                    "deal": props,
                    "tasks": [
                        {
                            k: v
                            for k, v in tasks[t].items()
                            if k not in ("hs_object_id", "hs_lastmodifieddate", "createdate", "hs_createdate")
                        }
                        for t in box.associated("deals", deal["id"], "tasks")
                        if t in tasks
                    ],
                }
            )
    return out
