"""Which language a note is written in, from the lexicons' own stopwords: no model to download.

CSM notes are short and our set of languages is the set of lexicons, so counting frequent function
words (each weighted by how many languages share it) is enough and costs microseconds; a script
such as Han is recognised by its characters. A user who adds a lexicon adds a language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from playbooks.intents.lexicon import Lexicon

UNDETERMINED = "und"  # ISO 639-2 for "undetermined": no lexicon's words were found
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


class LanguageIdentifier:
    def __init__(self, lexicons: Mapping[str, Lexicon]) -> None:
        owners: dict[str, list[str]] = {}
        for code, lexicon in lexicons.items():
            for word in {w.lower() for w in lexicon.stopwords}:
                owners.setdefault(word, []).append(code)
        # word -> ((language, weight), ...): a word shared by three languages is a third as telling.
        self._weights = {w: tuple((c, 1.0 / len(cs)) for c in cs) for w, cs in owners.items()}
        self._han = next((c for c, lx in lexicons.items() if lx.script == "han"), None)

    def identify(self, text: str) -> str:
        if self._han is not None:
            han = len(_HAN.findall(text))
            if han >= 2 and han * 2 >= len(_WORDS.findall(text)):
                return self._han
        scores: dict[str, float] = {}
        weights = self._weights
        for word in _WORDS.findall(text.lower()):
            for code, weight in weights.get(word, ()):
                scores[code] = scores.get(code, 0.0) + weight
        if not scores:
            return UNDETERMINED
        return max(scores.items(), key=lambda item: item[1])[0]
