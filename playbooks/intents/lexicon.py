"""The per-language data intent detection runs on: YAML a user extends without touching code.

One file per language (`playbooks/lexicons/<lang>.yaml`, plus any folder the user adds) holds the
words that identify the language, the negation and "not now" cues, and for each intent the
patterns that express it. Files go through the same line-numbered validation as playbooks
(`playbooks.loader.validate`), so a bad regex reads `it.yaml:42: intents.more_seats[3]: ...`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from playbooks.loader import PlaybookError, validate

INTENTS = ("more_seats", "plan_upgrade", "product_interest", "churn_risk")
# Deferrals ("not this year") hold back an offer, not a warning: churn risk still counts.
DEFERRABLE = frozenset({"more_seats", "plan_upgrade", "product_interest"})


class Pattern(BaseModel):
    """A case-insensitive regular expression and how sure a match makes us (0..1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    confidence: float = Field(default=0.8, gt=0, le=1)
    # For generic questions ("do you have ...?"): fire only when a catalog product is named after
    # the cue in the same sentence, so "is there a bigger tier?" is not a product interest.
    needs_product: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if re.compile(value, re.IGNORECASE).search(""):
            raise ValueError("matches the empty string, so it would fire on every note")
        return value


def _as_pattern(item: object) -> object:
    return {"pattern": item} if isinstance(item, str) else item


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(pattern=r"^[a-z]{2}$")  # ISO 639-1
    # Frequent function words: the language identifier counts them (scripts like Han need none).
    stopwords: list[str] = Field(default_factory=list)
    script: str | None = Field(default=None, pattern=r"^(han)$")
    negations: list[str] = Field(default_factory=list)
    # How far before a match (in characters) a negation still applies; None: anywhere earlier in the
    # clause. Han text needs a window, as 不 also appears in words that negate nothing (不到 "before").
    negation_window: int | None = Field(default=None, ge=1, le=200)
    deferrals: list[str] = Field(default_factory=list)
    clause_breaks: list[str] = Field(default_factory=list)
    products: dict[str, list[str]] = Field(default_factory=dict)  # catalog code -> aliases
    intents: dict[str, list[Pattern]] = Field(default_factory=dict)

    @field_validator("intents", mode="before")
    @classmethod
    def _patterns(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [_as_pattern(i) for i in v] if isinstance(v, list) else v for k, v in value.items()}
        return value

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: dict[str, list[Pattern]]) -> dict[str, list[Pattern]]:
        unknown = set(value) - set(INTENTS)
        if unknown:
            raise ValueError(f"unknown intent(s) {sorted(unknown)}; known: {list(INTENTS)}")
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> Lexicon:
        if not self.stopwords and self.script is None:
            raise ValueError("needs 'stopwords' (or a 'script') so the language can be recognised")
        return self


def builtin_lexicon_dir() -> Path:
    return Path(str(resources.files("playbooks") / "lexicons"))


def load_lexicon_text(text: str, file: str = "<lexicon>") -> Lexicon:
    return validate(Lexicon, text, file)


def load_lexicons(dirs: Iterable[Path] = (), include_builtin: bool = True) -> dict[str, Lexicon]:
    """Built-in lexicons, then the user's folders; a user file for a language already loaded
    extends it (its patterns and words are added), so users add phrases without copying ours."""
    found: dict[str, Lexicon] = {}
    folders = ([builtin_lexicon_dir()] if include_builtin else []) + [Path(d) for d in dirs]
    for folder in folders:
        if not folder.is_dir():
            raise PlaybookError(str(folder), None, "", "lexicon folder not found")
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            lexicon = load_lexicon_text(path.read_text(encoding="utf-8"), str(path))
            found[lexicon.language] = (
                _merge(found[lexicon.language], lexicon) if lexicon.language in found else lexicon
            )
    return found


def _merge(base: Lexicon, extra: Lexicon) -> Lexicon:
    intents = {
        k: list(base.intents.get(k, [])) + list(extra.intents.get(k, []))
        for k in {*base.intents, *extra.intents}
    }
    products = {
        k: list(base.products.get(k, [])) + list(extra.products.get(k, []))
        for k in {*base.products, *extra.products}
    }
    return base.model_copy(
        update={
            "stopwords": base.stopwords + extra.stopwords,
            "negations": base.negations + extra.negations,
            "deferrals": base.deferrals + extra.deferrals,
            "clause_breaks": base.clause_breaks + extra.clause_breaks,
            "products": products,
            "intents": intents,
        }
    )
