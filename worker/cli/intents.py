"""`oppworker intents detect [FILE]`: run intent detection on the user's own notes.

Reads JSON lines `{"id": ..., "text": ...}` from FILE (standard input when absent) and writes one
JSON line per input: `{"id", "language", "intents": [{"intent", "evidence", "confidence"}]}`, so a
user can see what their lexicon hears before a pass acts on it. A line that is not such an object
gets an `{"id", "line", "error"}` line in its place (nothing is skipped silently) and the command
exits 1 after the last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from playbooks.intents import IntentDetector, build_detector
from playbooks.loader import PlaybookError, load_catalog
from worker.pipeline.settings import load_settings


@click.group()
def group() -> None:
    """Hear intents (more seats, plan upgrade, product interest, churn risk) in text."""


group.name = "intents"


def _detector(ctx: click.Context, lexicons: tuple[Path, ...], catalog: Path | None) -> IntentDetector:
    try:
        if catalog is None:
            catalog = load_settings((ctx.obj or {}).get("config")).catalog
        return build_detector(load_catalog(catalog), lexicons)
    except PlaybookError as exc:
        raise click.ClickException(f"lexicon: {exc}") from None
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def detect_line(detector: IntentDetector, raw: str, number: int) -> tuple[dict[str, Any], bool]:
    """One output object for one input line, and whether it was valid."""
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {"id": None, "line": number, "error": f"not JSON: {exc.msg} at column {exc.colno}"}, False
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        found = type(item.get("text")).__name__ if isinstance(item, dict) else type(item).__name__
        ident = item.get("id") if isinstance(item, dict) else None
        return {
            "id": ident,
            "line": number,
            "error": f'expected an object with a string "text", found {found}',
        }, False
    detection = detector.detect(item["text"])
    return {
        "id": item.get("id"),
        "language": detection.language,
        "intents": [hit.as_dict() for hit in detection.intents],
    }, True


def run_detect(detector: IntentDetector, source: IO[str], out: IO[str]) -> int:
    """Writes one line per non-blank input line; returns how many lines were invalid."""
    bad = 0
    for number, raw in enumerate(source, 1):
        if not raw.strip():
            continue
        result, ok = detect_line(detector, raw, number)
        bad += not ok
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return bad


@group.command("detect")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--lexicons",
    "lexicons",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of <lang>.yaml lexicons that extend the built-in ones (repeatable).",
)
@click.option(
    "--catalog",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The catalog whose plan and product names to recognise (default: configured or bundled).",
)
@click.pass_context
def detect(ctx: click.Context, file: Path | None, lexicons: tuple[Path, ...], catalog: Path | None) -> None:
    """Read JSON lines {"id", "text"} from FILE or standard input; write one JSON line per input."""
    detector = _detector(ctx, lexicons, catalog)
    if file is None:
        bad = run_detect(detector, sys.stdin, sys.stdout)
    else:
        with file.open(encoding="utf-8") as source:
            bad = run_detect(detector, source, sys.stdout)
    if bad:
        click.echo(
            f'{bad} input line(s) were not {{"id", "text"}} objects; see their "error" lines', err=True
        )
        ctx.exit(1)
