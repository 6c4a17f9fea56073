"""Active listening: the language and intents of what customers tell their CSM. Pure, no I/O
beyond reading the packaged lexicons once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from playbooks.catalog import Catalog
from playbooks.intents.detector import Detection, IntentDetector, IntentHit, shorten
from playbooks.intents.lexicon import INTENTS, Lexicon, load_lexicons


def build_detector(catalog: Catalog | None = None, lexicon_dirs: Iterable[Path] = ()) -> IntentDetector:
    """A detector over the built-in (and the user's) lexicons, knowing the catalog's plan and
    product names so that `{plans}` in a pattern and product mentions follow the user's price list."""
    plans: list[str] = []
    products: dict[str, list[str]] = {}
    if catalog is not None:
        plans = [p.name for p in catalog.plans]
        products = {p.code: [p.name, *p.aliases] for p in catalog.products}
    return IntentDetector(load_lexicons(lexicon_dirs), plans, products)


__all__ = [
    "INTENTS",
    "Detection",
    "IntentDetector",
    "IntentHit",
    "Lexicon",
    "build_detector",
    "load_lexicons",
    "shorten",
]
