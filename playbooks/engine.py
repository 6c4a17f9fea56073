"""Scoring one playbook against one account's signals: pure, deterministic, and cheap.

A playbook is compiled once into a tuple of checks; scoring is then a loop of dictionary lookups and
comparisons. The explanation (which signal gave how many points, and which did not) is kept as plain
indices and values, and turned into `Contribution`s with readable reasons only for the scores someone
will read: that is what lets a pass evaluate hundreds of thousands of (account, playbook) pairs a
second without dropping any of the explanation.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class CompiledPlaybook:
    playbook: Playbook
    checks: tuple[CompiledCheck, ...]
    # The checks as plain tuples for the scoring loop, which runs once per (account, playbook).
    plan: tuple[tuple[str, Callable[[Any, Any], bool], Any, int, bool], ...]


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
        )
        for c in playbook.signals
    )
    plan = tuple((c.key, c.test, c.value, c.points, c.required) for c in checks)
    return CompiledPlaybook(playbook, checks, plan)


@dataclass(frozen=True, slots=True)
class PlaybookScore:
    """A playbook's verdict on an account. `observed[i]` is what check i saw; `gained[i]` its points."""

    compiled: CompiledPlaybook
    score: int
    observed: tuple[Any, ...]
    gained: tuple[int, ...]
    missing_required: tuple[str, ...]

    @property
    def playbook(self) -> Playbook:
        return self.compiled.playbook

    @property
    def qualifies(self) -> bool:
        """Reached the threshold with every required signal met (guardrails come after)."""
        return not self.missing_required and self.score >= self.playbook.threshold

    def contributions(self) -> tuple[Contribution, ...]:
        return tuple(
            Contribution(
                signal=check.key,
                observed=observed,
                operator=check.condition.operator,
                threshold=check.condition.value if not isinstance(check.value, tuple) else ", ".join(check.value),
                points=points,
                reason=check.reason.replace("$observed", format_value(check.condition.signal, observed)),
            )
            for check, observed, points in zip(self.compiled.checks, self.observed, self.gained)
        )


def score_playbook(compiled: CompiledPlaybook, signals: Mapping[str, Any]) -> PlaybookScore:
    total = 0
    observed: list[Any] = []
    gained: list[int] = []
    missing: tuple[str, ...] = ()
    for key, test, threshold, points, required in compiled.plan:
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
        gained.append(0)
        if required:
            missing += (key,)
    return PlaybookScore(compiled, min(total, 100), tuple(observed), tuple(gained), missing)


def format_value(signal_name: str, value: Any) -> str:
    if value is None:
        return "no data"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    spec = SIGNALS.get(signal_name)
    if spec is not None and spec.unit == "ratio":
        return f"{value:.0%}"
    number = float(value)
    return f"{number:,.0f}" if number == int(number) or abs(number) >= 100 else f"{number:,.2f}"

