"""Scoring one playbook against one account's signals: pure, deterministic, and cheap.

A playbook is compiled once into a tuple of checks; scoring is then a loop of dictionary lookups and
comparisons. The explanation (which signal gave how many points, and which did not) is kept as plain
indices and values, and turned into `Contribution`s with readable reasons only for the scores someone
will read: that is what lets a pass evaluate hundreds of thousands of (account, playbook) pairs a
second without dropping any of the explanation.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from domain import Contribution
from playbooks.model import Condition, Playbook
from playbooks.signals import SIGNALS


def _in(a: Any, b: Any) -> bool:
    return a in b


def _not_in(a: Any, b: Any) -> bool:
    return a not in b


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    "in": _in,
    "not_in": _not_in,
}


@dataclass(frozen=True, slots=True)
class CompiledCheck:
    key: str
    test: Callable[[Any, Any], bool]
    value: Any
    points: int
    required: bool
    condition: Condition
    reason: str  # the reason with $threshold and $metric already filled in; $observed left
    floor: float | None = None  # partial points from here to the threshold (Condition.partial_from)


@dataclass(frozen=True, slots=True)
class CompiledPlaybook:
    playbook: Playbook
    checks: tuple[CompiledCheck, ...]
    # The checks as plain tuples for the scoring loop, which runs once per (account, playbook):
    # key, test, threshold, points, required, and for graded checks (floor, threshold - floor).
    plan: tuple[tuple[str, Callable[[Any, Any], bool], Any, int, bool, tuple[float, float] | None], ...]
    # The required checks alone, tested first: most accounts miss one, and then nothing else about
    # the playbook needs working out until someone asks why it did not fire.
    required: tuple[tuple[str, Callable[[Any, Any], bool], Any], ...] = ()
    # What each check's line of the explanation says apart from the account's own value: key,
    # operator, threshold as shown, reason, and the signal's name when the reason quotes the value
    # ($observed) or None. Worked out here because an explanation is built for every new offer.
    wording: tuple[tuple[str, str, Any, str, str | None], ...] = ()


def compile_playbook(playbook: Playbook) -> CompiledPlaybook:
    checks = tuple(
        CompiledCheck(
            c.key,
            _OPS[c.operator],
            tuple(c.value) if isinstance(c.value, list) else c.value,
            c.points,
            c.required,
            c,
            Template(c.reason).safe_substitute(
                threshold=format_value(c.signal, c.value), metric=(c.metric or "").replace("_", " ")
            ),
            c.partial_from,
        )
        for c in playbook.signals
    )
    plan = tuple(
        (
            c.key,
            c.test,
            c.value,
            c.points,
            c.required,
            None if c.floor is None else (c.floor, float(c.value) - c.floor),
        )
        for c in checks
    )
    required = tuple((c.key, c.test, c.value) for c in checks if c.required)
    wording = tuple(
        (
            c.key,
            c.condition.operator,
            _threshold_text(c.condition.value),
            c.reason,
            c.condition.signal if "$observed" in c.reason else None,
        )
        for c in checks
    )
    return CompiledPlaybook(playbook, checks, plan, required, wording)


class PlaybookScore:
    """A playbook's verdict on an account. `observed[i]` is what check i saw; `gained[i]` its points.

    When a required signal is not met the verdict is known at once, and the rest (score, observed
    values, missed requirements) is worked out only if read: a pass reads it for the few playbooks
    that qualify, `explain` and the ledger's report for the others. The signals mapping handed in
    must therefore not change afterwards (the assessor builds a fresh one per account).
    """

    __slots__ = ("_detail", "_signals", "compiled", "qualifies")

    compiled: CompiledPlaybook
    # Reached the threshold with every required signal met (guardrails come after).
    qualifies: bool

    def __init__(
        self,
        compiled: CompiledPlaybook,
        signals: Mapping[str, Any],
        qualifies: bool,
        detail: tuple[int, tuple[Any, ...], tuple[int, ...], tuple[str, ...]] | None = None,
    ) -> None:
        self.compiled = compiled
        self.qualifies = qualifies
        self._signals = signals
        self._detail = detail

    def _details(self) -> tuple[int, tuple[Any, ...], tuple[int, ...], tuple[str, ...]]:
        if self._detail is None:
            self._detail = _score_in_full(self.compiled, self._signals)
        return self._detail

    @property
    def score(self) -> int:
        return self._details()[0]

    @property
    def observed(self) -> tuple[Any, ...]:
        return self._details()[1]

    @property
    def gained(self) -> tuple[int, ...]:
        return self._details()[2]

    @property
    def missing_required(self) -> tuple[str, ...]:
        return self._details()[3]

    @property
    def playbook(self) -> Playbook:
        return self.compiled.playbook

    def contributions(self) -> tuple[Contribution, ...]:
        return tuple(
            Contribution(
                key,
                observed,
                operator,
                threshold,
                points,
                reason if quoted is None else reason.replace("$observed", format_value(quoted, observed)),
            )
            for (key, operator, threshold, reason, quoted), observed, points in zip(
                self.compiled.wording, self.observed, self.gained
            )
        )

    def __repr__(self) -> str:
        return f"PlaybookScore({self.playbook.id!r}, score={self.score}, qualifies={self.qualifies})"


def _score_in_full(
    compiled: CompiledPlaybook, signals: Mapping[str, Any]
) -> tuple[int, tuple[Any, ...], tuple[int, ...], tuple[str, ...]]:
    """Every check's observed value and points, the capped total and the required checks missed.

    A graded check that is not met earns `points x (value - floor) / (threshold - floor)`, rounded
    down, when the value lies between its floor and its threshold: one subtraction and one division,
    only for the checks that missed."""
    total = 0
    observed: list[Any] = []
    gained: list[int] = []
    missing: tuple[str, ...] = ()
    for key, test, threshold, points, required, graded in compiled.plan:
        value = signals.get(key)
        observed.append(value)
        if value is not None:
            try:
                ok = test(value, threshold)
            except TypeError:  # a text signal against a number threshold: not met
                ok = False
            if ok:
                total += points
                gained.append(points)
                continue
            if graded is not None and not isinstance(value, str):
                share = (value - graded[0]) / graded[1]
                if 0 < share < 1:
                    partial = int(points * share)
                    total += partial
                    gained.append(partial)
                    continue
        gained.append(0)
        if required:
            missing += (key,)
    return min(total, 100), tuple(observed), tuple(gained), missing


def score_playbook(compiled: CompiledPlaybook, signals: Mapping[str, Any]) -> PlaybookScore:
    get = signals.get
    for key, test, threshold in compiled.required:  # inlined, not a helper per check: 7 per account
        value = get(key)
        try:
            if value is None or not test(value, threshold):
                return PlaybookScore(compiled, signals, False)
        except TypeError:  # a text signal against a number threshold: not met
            return PlaybookScore(compiled, signals, False)
    detail = _score_in_full(compiled, signals)
    return PlaybookScore(compiled, signals, detail[0] >= compiled.playbook.threshold, detail)


def format_value(signal_name: str, value: Any) -> str:
    if value is None:
        return "no data"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):  # an integer beyond float range, or not a number
        return str(value)
    if not math.isfinite(number):  # never raise while explaining: int(inf) is an OverflowError
        return str(number)
    spec = SIGNALS.get(signal_name)
    if spec is not None and spec.unit == "ratio":
        return f"{value:.0%}"
    return f"{number:,.0f}" if number == int(number) or abs(number) >= 100 else f"{number:,.2f}"


def _threshold_text(value: float | str | list[str]) -> float | str:
    """A condition's bar as the explanation shows it: a list of accepted values reads as one text."""
    return ", ".join(value) if isinstance(value, list) else value
