"""The validated shape of a playbook file.

Conditions are structured data (signal, operator, value), never strings passed to `eval`; the one
expression a playbook may hold, its estimated amount, goes through `simpleeval`, a well-kept safe
evaluator, with the limits and load-time checks of `playbooks.formula`. Lists are capped, so a
file cannot make the loader or every pass hold an unbounded number of conditions.
"""

from __future__ import annotations

import math
from enum import Enum
from string import Template

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from domain import JourneyStage, OpportunityKind
from playbooks.formula import check_formula
from playbooks.signals import SIGNALS

OPERATORS = (">=", ">", "<=", "<", "==", "!=", "in", "not_in")

TEMPLATE_VARIABLES = frozenset(
    {
        "account_name",
        "account_id",
        "offer",
        "offer_title",
        "playbook_title",
        "score",
        "stage",
        "reasons",
        "not_met",
        "talking_points",
        "amount",
        "currency",
        "suggested_seats",
        "win_chance",
    }
)
REASON_VARIABLES = frozenset({"observed", "threshold", "metric"})
MAX_SIGNALS = 50  # conditions per playbook: the built-in ones have four or five
MAX_TALKING_POINTS = 20
MAX_LIST_VALUE = 200  # entries in an `in` / `not_in` condition's list


class OfferType(str, Enum):
    SEATS = "seats"  # more seats on the current plan
    NEXT_PLAN = "next_plan"  # the plan one rank up
    PRODUCT = "product"  # a named product or add-on
    AFFINITY = "affinity"  # the product similar customers bought
    TERM = "term"  # a longer or larger contract


def _template_names(text: str) -> set[str]:
    names = set()
    for match in Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
        elif match.group("invalid") is not None:
            raise ValueError("contains a '$' that is not a placeholder (write '$$' for a dollar sign)")
    return names


def _check_template(text: str, allowed: frozenset[str]) -> str:
    unknown = _template_names(text) - allowed
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return text


class Condition(BaseModel):
    """One signal test: if `signal <op> value` holds, the playbook gains `points`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signal: str
    metric: str | None = None
    operator: str = ">="
    value: float | str | list[str]
    points: int = Field(ge=0, le=100)
    required: bool = False
    # Partial points: from 0 at `partial_from` growing linearly to `points` at `value` (where the
    # condition is met), so an account just short of a bar is not scored like one far from it.
    partial_from: float | None = None
    reason: str

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        if value not in SIGNALS:
            raise ValueError(f"unknown signal {value!r}; known: {sorted(SIGNALS)}")
        return value

    @field_validator("operator")
    @classmethod
    def _known_operator(cls, value: str) -> str:
        if value not in OPERATORS:
            raise ValueError(f"unknown operator {value!r}; use one of {list(OPERATORS)}")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _check_template(value, REASON_VARIABLES)

    @model_validator(mode="after")
    def _coherent(self) -> Condition:
        spec = SIGNALS[self.signal]
        if spec.per_metric and not self.metric:
            raise ValueError(f"signal {self.signal!r} needs a 'metric'")
        if not spec.per_metric and self.metric:
            raise ValueError(f"signal {self.signal!r} takes no 'metric'")
        if self.operator in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"operator {self.operator!r} needs a list value")
        if isinstance(self.value, list) and len(self.value) > MAX_LIST_VALUE:
            raise ValueError(f"the list has {len(self.value):,} entries; the limit is {MAX_LIST_VALUE}")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("the value must be a finite number")
        if self.operator not in ("in", "not_in", "==", "!=") and not isinstance(self.value, (int, float)):
            raise ValueError(f"operator {self.operator!r} needs a number value")
        if self.partial_from is not None:
            self._check_partial(self.partial_from)
        return self

    def _check_partial(self, floor: float) -> None:
        if self.required:
            raise ValueError(
                "'partial_from' on a required condition: it must be met for the playbook to fire"
            )
        if self.operator not in (">=", ">", "<=", "<") or not isinstance(self.value, (int, float)):
            raise ValueError("'partial_from' needs a number value and one of >=, >, <=, <")
        if not math.isfinite(floor):
            raise ValueError("'partial_from' must be a finite number")
        below = self.operator in (">=", ">")
        if (below and floor >= self.value) or (not below and floor <= self.value):
            side = "below" if below else "above"
            raise ValueError(f"'partial_from' ({floor:g}) must be {side} the value ({self.value:g})")

    @property
    def key(self) -> str:
        """The name under which the engine finds this signal's observed value."""
        return f"{self.signal}.{self.metric}" if self.metric else self.signal


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: OfferType
    code: str | None = None  # product code (product) or term code (term)
    title: str | None = None

    @model_validator(mode="after")
    def _code(self) -> Offer:
        if self.type in (OfferType.PRODUCT, OfferType.TERM) and not self.code:
            raise ValueError(f"offer type {self.type.value!r} needs a 'code'")
        return self


class TaskTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    body: str
    talking_points: list[str] = Field(default_factory=list, max_length=MAX_TALKING_POINTS)
    due_in_days: int = Field(default=3, ge=0, le=90)
    priority: str = Field(default="MEDIUM", pattern="^(LOW|MEDIUM|HIGH)$")

    @field_validator("subject", "body")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _check_template(value, TEMPLATE_VARIABLES)

    @field_validator("talking_points")
    @classmethod
    def _points(cls, value: list[str]) -> list[str]:
        for text in value:
            _check_template(text, TEMPLATE_VARIABLES)
        return value


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,48}$")
    title: str
    kind: OpportunityKind
    offer: Offer
    eligible_stages: list[JourneyStage] = Field(
        default_factory=lambda: [JourneyStage.VALUE_REALISED, JourneyStage.RENEWAL_WINDOW]
    )
    suppressed_stages: list[JourneyStage] = Field(default_factory=list)
    signals: list[Condition] = Field(min_length=1, max_length=MAX_SIGNALS)
    threshold: int = Field(ge=1, le=100)
    amount: str
    close_in_days: int = Field(default=30, ge=1, le=365)
    cooldown_days: int = Field(default=90, ge=0, le=730)
    # Share of eligible accounts kept as a control group (no deal, no task): see playbooks/holdout.py.
    holdout: float = Field(default=0.0, ge=0, lt=1)
    task: TaskTemplate
    description: str = ""

    @field_validator("amount")
    @classmethod
    def _amount_expression(cls, value: str) -> str:
        # Syntax, names, and a finite amount for a range of sample accounts: see playbooks/formula.py.
        return check_formula(value)

    @field_validator("suppressed_stages")
    @classmethod
    def _no_overlap(cls, value: list[JourneyStage], info: ValidationInfo) -> list[JourneyStage]:
        overlap = set(info.data.get("eligible_stages") or []) & set(value)
        if overlap:
            raise ValueError(f"stages {sorted(s.value for s in overlap)} are both eligible and suppressed")
        return value

    @field_validator("threshold")
    @classmethod
    def _reachable(cls, value: int, info: ValidationInfo) -> int:
        conditions = info.data.get("signals")
        if conditions is not None:
            total = sum(c.points for c in conditions)
            if total < value:
                raise ValueError(
                    f"{value} is above the {total} points its signals can give, so it could never fire"
                )
        return value
