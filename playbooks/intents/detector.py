"""Finding intents in one text: sentences, clauses, patterns, and the cues that cancel them.

A pattern fires in a sentence unless a negation of its own language stands before it in the same
clause ("we do *not* need more licences"), or, for the intents that lead to an offer, the sentence
defers it ("... *this year*", "*not now*"). Each intent is reported once per text (per product
for product interest) with the sentence that carried it, so a CSM can read the customer's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from playbooks.intents.language import UNDETERMINED, LanguageIdentifier
from playbooks.intents.lexicon import DEFERRABLE, Lexicon

EVIDENCE_MAX = 200
# A sentence ends at . ! ? ; (not after a digit: "am 15. erreicht") or at a line break.
_SENTENCES = re.compile(r"(?<=[^\d\s][.!?;])\s+|(?<=[?!])\s*|(?<=[。！？；])\s*|\n+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CLAUSE_PUNCT = r"[,:()\u2013\u2014\uff0c\uff1a\u3001]| - "


@dataclass(frozen=True, slots=True)
class IntentHit:
    intent: str
    evidence: str
    confidence: float
    product: str | None = None  # catalog code, for product_interest when a product is named

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "intent": self.intent,
            "evidence": self.evidence,
            "confidence": self.confidence,
        }
        if self.product is not None:
            data["product"] = self.product
        return data


@dataclass(frozen=True, slots=True)
class Detection:
    language: str
    intents: tuple[IntentHit, ...]


def _alternation(words: Iterable[str], bounded: bool, inflected: bool = False) -> re.Pattern[str] | None:
    """One regex for a word list. `inflected` lets a word take a short ending (Polish
    "glosariusz" -> "glosariuszem"), for product names customers decline."""
    parts = []
    for word in sorted({w.lower() for w in words if w}, key=len, reverse=True):
        body = re.escape(word)
        if bounded and not _HAN.search(word):  # Han words have no spaces around them to bound
            end = (r"\w{0,4}" if inflected else "") + r"(?!\w)"
            body = (r"(?<!\w)" if word[0].isalnum() else "") + body + (end if word[-1].isalnum() else "")
        parts.append(body)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True, slots=True)
class _CompiledLexicon:
    patterns: tuple[tuple[str, re.Pattern[str], float, bool], ...]
    negation: re.Pattern[str] | None
    negation_window: int | None
    deferral: re.Pattern[str] | None
    clause: re.Pattern[str]
    products: tuple[tuple[str, re.Pattern[str]], ...]
    # Where a needs_product cue looks for the product: after it, except in Han text, whose word
    # order puts the object first (请给我们 API 的报价).
    product_after_cue: bool


def _compile(
    lexicon: Lexicon, plans: Iterable[str], product_names: Mapping[str, list[str]]
) -> _CompiledLexicon:
    bounded = lexicon.script is None  # Han text has no spaces: cues match anywhere
    plan_alt = "|".join(re.escape(p) for p in sorted(plans, key=len, reverse=True)) or "(?!x)x"
    patterns = tuple(
        (
            intent,
            re.compile(p.pattern.replace("{plans}", f"(?:{plan_alt})"), re.IGNORECASE),
            p.confidence,
            p.needs_product,
        )
        for intent, items in lexicon.intents.items()
        for p in items
    )
    breaks = _alternation(lexicon.clause_breaks, bounded)
    clause = re.compile(_CLAUSE_PUNCT + (f"|{breaks.pattern}" if breaks else ""), re.IGNORECASE)
    aliases = {code: [*names, *lexicon.products.get(code, [])] for code, names in product_names.items()}
    for code, names in lexicon.products.items():
        aliases.setdefault(code, list(names))
    products = tuple(
        (code, rx)
        for code, names in aliases.items()
        if (rx := _alternation(names, True, inflected=True)) is not None
    )
    return _CompiledLexicon(
        patterns,
        _alternation(lexicon.negations, bounded),
        lexicon.negation_window,
        _alternation(lexicon.deferrals, bounded),
        clause,
        products,
        bounded,
    )


def shorten(text: str, limit: int = EVIDENCE_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class IntentDetector:
    """Built once from the lexicons and the catalog's names; `detect` is pure and thread-safe."""

    def __init__(
        self,
        lexicons: Mapping[str, Lexicon],
        plans: Iterable[str] = (),
        products: Mapping[str, list[str]] | None = None,
    ) -> None:
        plans = tuple(plans)
        self.identifier = LanguageIdentifier(lexicons)
        self._compiled = {code: _compile(lx, plans, products or {}) for code, lx in lexicons.items()}

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._compiled)

    def detect(self, text: str) -> Detection:
        language = self.identifier.identify(text)
        compiled = self._compiled.get(language)
        candidates = [compiled] if compiled is not None else list(self._compiled.values())
        best: dict[tuple[str, str | None], IntentHit] = {}
        for lexicon in candidates:
            for hit in self._hits(text, lexicon):
                key = (hit.intent, hit.product)
                seen = best.get(key)
                if seen is None:
                    best[key] = hit
                elif hit.confidence > seen.confidence:
                    best[key] = IntentHit(
                        hit.intent, hit.evidence, round(min(0.99, hit.confidence + 0.05), 2), hit.product
                    )
                else:  # a second sentence saying the same thing makes us surer
                    best[key] = IntentHit(
                        seen.intent, seen.evidence, round(min(0.99, seen.confidence + 0.05), 2), seen.product
                    )
        return Detection(
            language if language != UNDETERMINED or not best else UNDETERMINED, tuple(best.values())
        )

    def _hits(self, text: str, lexicon: _CompiledLexicon) -> Iterable[IntentHit]:
        sentences = [s.strip() for s in _SENTENCES.split(text) if s and not s.isspace()]
        for index, sentence in enumerate(sentences):
            deferred: bool | None = None
            for intent, rx, confidence, needs_product in lexicon.patterns:
                match = rx.search(sentence)
                if match is None:
                    continue
                if lexicon.negation is not None and self._negated(sentence, match.start(), lexicon):
                    continue
                if intent in DEFERRABLE:
                    if deferred is None:
                        deferred = self._deferred(sentences, index, lexicon)
                    if deferred:
                        continue
                product = None
                if intent == "product_interest":
                    after = match.end() if needs_product and lexicon.product_after_cue else 0
                    product = next(
                        (code for code, prx in lexicon.products if prx.search(sentence, after)), None
                    )
                    if product is None and needs_product:
                        continue
                yield IntentHit(intent, shorten(sentence), round(confidence, 2), product)

    @staticmethod
    def _deferred(sentences: list[str], index: int, lexicon: _CompiledLexicon) -> bool:
        """Deferred in the sentence itself, or by a reply that opens the next one ("More seats?
        Not now.")."""
        if lexicon.deferral is None:
            return False
        if lexicon.deferral.search(sentences[index]) is not None:
            return True
        return index + 1 < len(sentences) and lexicon.deferral.match(sentences[index + 1]) is not None

    @staticmethod
    def _negated(sentence: str, start: int, lexicon: _CompiledLexicon) -> bool:
        clause_start = 0
        for brk in lexicon.clause.finditer(sentence, 0, start):
            clause_start = brk.end()
        if lexicon.negation_window is not None:
            clause_start = max(clause_start, start - lexicon.negation_window)
        assert lexicon.negation is not None
        return lexicon.negation.search(sentence, clause_start, start) is not None
