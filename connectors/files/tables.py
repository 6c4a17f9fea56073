"""Reading the input folder's tables: `<name>.csv`, `<name>.json` (an array) or `<name>.jsonl`.

Rows come out as plain dicts of strings/values; validation into domain types happens in the
connector, where a bad row can be skipped with its reason counted.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXTENSIONS = (".csv", ".jsonl", ".json")


def find_table(folder: Path, name: str) -> Path | None:
    for ext in EXTENSIONS:
        path = folder / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or item number, row). A JSON row that is not an object is yielded as {} for the
    caller to skip with a reason."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, row
    elif path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError:
                        item = {}
                    yield number, item if isinstance(item, dict) else {}
    else:
        items = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a JSON array of records")
        for number, item in enumerate(items, start=1):
            yield number, item if isinstance(item, dict) else {}


def fingerprint(folder: Path, names: tuple[str, ...]) -> str:
    """A digest of the input tables: the file connector's sync cursor (unchanged input, no work)."""
    digest = hashlib.sha256()
    for name in names:
        path = find_table(folder, name)
        if path is not None:
            digest.update(name.encode())
            with path.open("rb") as handle:  # in blocks: a usage table can be larger than memory
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()
