"""Reading an input file without ever letting a bad byte, a bad row or a hostile shape escape as a
traceback.

Two kinds of problem, two answers (issue #17):
- file-level (a byte that is not UTF-8, JSON that does not parse or nests too deeply, a file that is
  not the array of records it should be): `InputFileError`, one message naming the file and the
  position, raised before the pass builds anything on the file. A configuration problem: the user
  fixes the file, no retry helps.
- row-level (a CSV row with a field over the csv module's limit, a JSONL line that does not parse,
  an item that is not an object): the row comes out as `BAD_ROW` for the caller to skip and count,
  and the rest of the file is read.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from domain import ConnectorError, FailureKind

log = logging.getLogger(__name__)

# What a row the reader could not turn into a record comes out as: an empty row, which every table's
# validation refuses (no id, no key), so the caller skips and counts it like any invalid row.
BAD_ROW: dict[str, Any] = {}


class InputFileError(ConnectorError):
    """A whole input file cannot be read; the message names the file and where it goes wrong."""

    def __init__(self, path: Path, position: str, problem: str) -> None:
        where = f"{path.name} {position}".strip()
        super().__init__(f"{where}: {problem}", FailureKind.CONFIG)
        self.path = path


def decoded_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (line endings kept, for the csv module), refusing the file at the
    first byte that is not UTF-8 with its line and column rather than a UnicodeDecodeError."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    path,
                    f"line {number}, column {exc.start + 1}",
                    f"byte 0x{raw[exc.start]:02x} is not UTF-8 text; save the file as UTF-8",
                ) from None
            yield text[1:] if number == 1 and text.startswith("\ufeff") else text


def csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each CSV record; a record the csv module refuses is BAD_ROW."""
    reader = csv.DictReader(decoded_lines(path))
    try:
        reader.fieldnames  # noqa: B018 - reads the header now, so a bad header is a file-level error
    except csv.Error as exc:
        raise InputFileError(path, "line 1", f"the header row cannot be read ({exc})") from None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            log.warning("%s line %d: row skipped: %s", path.name, reader.line_num, exc)
            yield reader.line_num, dict(BAD_ROW)
            continue
        yield reader.line_num, row


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line; a line that is not a JSON object is BAD_ROW."""
    for number, line in enumerate(decoded_lines(path), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as exc:
            log.warning("%s line %d: row skipped: %s", path.name, number, _short(exc))
            item = None
        yield number, item if isinstance(item, dict) else dict(BAD_ROW)


def json_document(path: Path) -> Any:
    """The decoded JSON value of a whole file; InputFileError with line and column when the bytes
    are not UTF-8, the JSON does not parse, or it nests deeper than the parser goes."""
    text = "".join(decoded_lines(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            path, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputFileError(path, "", "JSON nested too deeply to read (thousands of levels)") from None


def json_array_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(item number, object) for a file holding one JSON array of records."""
    items = json_document(path)
    if not isinstance(items, list):
        raise InputFileError(path, "", f"expected a JSON array of records, found {type(items).__name__}")
    for number, item in enumerate(items, start=1):
        yield number, item if isinstance(item, dict) else dict(BAD_ROW)


def _short(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]


def check_utf8(path: Path) -> None:
    """Refuse the file now (InputFileError) if any byte is not UTF-8, so that a bad byte on the
    last line stops the pass before its first write instead of half-way through it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        for _ in decoded_lines(path):  # the slow path, only to name the line and column
            pass
        raise InputFileError(
            path, "", "a byte sequence is cut short at the end of the file; save it as UTF-8"
        ) from None


def manifest_as_of(path: Path) -> str | None:
    """The manifest's `as_of` text (None when absent), refusing a manifest that is not a JSON
    object with a clear InputFileError."""
    manifest = json_document(path)
    if not isinstance(manifest, dict):
        raise InputFileError(path, "", f"expected a JSON object, found {type(manifest).__name__}")
    value = manifest.get("as_of")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputFileError(path, "as_of", f"expected an ISO 8601 date-time text, found {value!r}"[:200])
    return value
