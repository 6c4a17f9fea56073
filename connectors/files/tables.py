"""Reading the input folder's tables: `<name>.csv`, `<name>.json` (an array) or `<name>.jsonl`.

Rows come out as plain dicts of strings/values; validation into domain types happens in the
connector, where a bad row can be skipped with its reason counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.files.reading import csv_rows, json_array_rows, jsonl_rows

EXTENSIONS = (".csv", ".jsonl", ".json")


def find_table(folder: Path, name: str) -> Path | None:
    for ext in EXTENSIONS:
        path = folder / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or item number, row). A row that cannot be read is yielded as {} for the caller to
    skip with a reason; a file that cannot be read raises `reading.InputFileError`."""
    if path.suffix == ".csv":
        return csv_rows(path)
    if path.suffix == ".jsonl":
        return jsonl_rows(path)
    return json_array_rows(path)


def fingerprint(folder: Path, names: tuple[str, ...]) -> str:
    """A digest of the input tables: the file connector's sync cursor (unchanged input, no work)."""
    digest = hashlib.sha256()
    for name in names:
        path = find_table(folder, name)
        if path is not None:
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
