"""Turning a score's explanation into text a CSM reads on a task before a call.

Kept apart from the engine: the explanation is data everywhere else (ledger, JSON outbox, API
payloads), and this is the one place that decides how it reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from string import Template

from domain import Contribution
from domain.opportunity import TASK_MARKER, task_marker  # noqa: F401  (re-exported for callers)
from playbooks.engine import format_value


def render_explanation(contributions: Sequence[Contribution], include_misses: bool = True) -> str:
    """One line per signal, points first, strongest first; misses after, so a CSM sees what was
    checked and did not count."""
    # `points > 0` is `Contribution.matched`, spelt out: this runs for every task a pass writes.
    hits = sorted([c for c in contributions if c.points > 0], key=_strongest_first)
    lines = [f"+{c.points:>3}  {c.reason}" for c in hits]
    if include_misses:
        lines += [f"  0  (not met) {c.reason}" for c in contributions if c.points <= 0]
    return "\n".join(lines)


NEEDS = {
    ">=": "needs at least",
    ">": "needs more than",
    "<=": "needs at most",
    "<": "needs less than",
    "==": "needs",
    "!=": "needs other than",
    "in": "needs one of",
    "not_in": "needs none of",
}


def signal_label(signal: str) -> str:
    """`usage_30d.api_calls` reads `api calls (usage 30d)`; `seat_utilisation` `seat utilisation`."""
    name, _, metric = signal.partition(".")
    return f"{metric.replace('_', ' ')} ({name.replace('_', ' ')})" if metric else name.replace("_", " ")


def render_unmet(contributions: Sequence[Contribution]) -> str:
    """Signals that did not score, phrased as unmet (`api calls (usage 30d): 0, needs at least
    1,000`), never as the reason text: a reason is written as a fact about a customer who meets
    it ("production depends on it") and would be untrue on a task for one who does not."""
    lines = []
    for c in contributions:
        if c.points > 0:
            continue
        name = c.signal.partition(".")[0]
        observed = format_value(name, c.observed)
        needs = NEEDS.get(c.operator, f"needs {c.operator}")
        lines.append(f"- {signal_label(c.signal)}: {observed}, {needs} {format_value(name, c.threshold)}")
    return "\n".join(lines)


def _strongest_first(contribution: Contribution) -> int:
    return -contribution.points


def top_reasons(contributions: Sequence[Contribution], limit: int = 2) -> str:
    hits = sorted((c for c in contributions if c.matched), key=lambda c: -c.points)
    return "; ".join(c.reason for c in hits[:limit])


@lru_cache(maxsize=1024)
def _parts(text: str) -> tuple[tuple[str, str | None], ...]:
    """The template cut into (text, placeholder name or None) pieces, once per distinct text.

    Filling the pieces is a join of dictionary lookups, several times cheaper than
    `Template.safe_substitute`'s regex pass on every task of a pass; the result is the same:
    `$$` becomes `$`, a known placeholder its value, anything else stays as written."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in Template.pattern.finditer(text):
        if match.start() > position:
            parts.append((text[position : match.start()], None))
        name = match.group("named") or match.group("braced")
        if name is not None:
            parts.append((match.group(0), name))
        elif match.group("escaped") is not None:
            parts.append(("$", None))
        else:
            parts.append((match.group(0), None))
        position = match.end()
    if position < len(text):
        parts.append((text[position:], None))
    return tuple(parts)


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Fill `$placeholders`; unknown ones stay as written (the loader has already rejected them)."""
    get = values.get
    return "".join([piece if name is None else str(get(name, piece)) for piece, name in _parts(text)])
