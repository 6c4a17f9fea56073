"""Seed a HubSpot sandbox with companies built from the bundled sample (realistic opportunity mix).

Each sample account becomes a company whose usage properties hold the last 30 days as of the
sample's date: counters summed, gauges (active users) averaged. Beyond the sample's size, accounts
are reused with new names, so any N has the same mix. Shared by the tests and `bench/hubspot.py`.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from connectors.account_fields import CANONICAL_FIELDS
from tests.sandboxes.hubspot import HubSpotSandbox

SAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "files" / "sample_data"
GAUGES = {"active_users"}
# the company properties the seed writes: every mapped account field but the two every record has
FIELDS = [f for f in CANONICAL_FIELDS if f not in ("name", "owner_id")]


def sample_as_of() -> datetime:
    return datetime.fromisoformat(json.loads((SAMPLE / "manifest.json").read_text())["as_of"])


def _rows(name: str) -> list[dict[str, str]]:
    with (SAMPLE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sample_companies() -> list[dict[str, str]]:
    """Company property dicts, one per sample account, usage as last-30-day values."""
    since = sample_as_of().date() - timedelta(days=30)
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in _rows("usage.csv"):
        if date.fromisoformat(row["period_start"]) >= since:
            sums[(row["account_id"], row["metric"])].append(float(row["value"]))
    companies = []
    for account in _rows("accounts.csv"):
        props = {"name": account["name"], "hubspot_owner_id": account["owner_id"]}
        props.update({f: account[f] for f in FIELDS if account.get(f)})
        for (account_id, metric), values in sums.items():
            if account_id == account["id"]:
                props[metric] = str(sum(values) / len(values) if metric in GAUGES else sum(values))
        companies.append(props)
    return companies


def seed_sample(box: HubSpotSandbox, n: int, modified_ms: int | None = None) -> list[str]:
    """Owners plus `n` companies (sample accounts reused round-robin); returns the company ids."""
    for owner in _rows("owners.csv"):
        first, _, last = owner["name"].partition(" ")
        box.add_owner(owner["id"], owner["email"], first, last)
    base = sample_companies()
    ids = []
    for i in range(n):
        props = dict(base[i % len(base)])
        if i >= len(base):
            props["name"] = f"{props['name']} #{i // len(base) + 1}"
        ids.append(box.add_record("companies", props, modified_ms=modified_ms))
    return ids
