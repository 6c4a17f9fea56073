"""The report the CRM pass benchmarks print (bench/pipedrive.py, bench/zendesk_sell.py): a
Markdown table, one row per pass, then each pass's calls by endpoint. Each bench picks its own
columns and formats its own cells; this only lays them out, the same way for every CRM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def print_pass_table(header: Sequence[str], rows: Sequence[tuple[Sequence[Any], Mapping[str, int]]]) -> None:
    """`rows`: (the row's cells, the first being the pass's label; its calls by endpoint)."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for cells, _ in rows:
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print()
    for cells, by_endpoint in rows:
        print(f"{cells[0]} calls by endpoint: {dict(by_endpoint)}")
