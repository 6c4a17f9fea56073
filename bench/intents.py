"""Intent detection quality and speed on the project's labelled notes.

    python -m bench.intents                 # precision/recall per language and intent, notes/s
    python -m bench.intents --repeat 50     # a longer timing run

Quality is counted over (note, intent) pairs: a detected intent the note's label lacks is a false
positive, a labelled one not detected a false negative. Product interest counts as found only
when it names the labelled product (when the label names one). Timing runs in one process, so
the rate is per core; the detector is built before the clock starts (lexicons load once per pass).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playbooks.intents import INTENTS, IntentDetector, build_detector
from playbooks.loader import load_catalog

DATA = Path(__file__).resolve().parent.parent / "tests" / "playbooks" / "data"
LABELLED = DATA / "intent_notes.jsonl"  # the lexicons were tuned on these
# Written after the tuning and kept apart: an estimate of quality on notes the lexicons never saw.
HOLDOUT = DATA / "intent_notes_holdout.jsonl"


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Evaluation:
    by_language: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_intent: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    language_correct: int = 0
    notes: int = 0
    mistakes: list[str] = field(default_factory=list)


def load_labelled(path: Path = LABELLED) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(detector: IntentDetector, notes: list[dict]) -> Evaluation:
    result = Evaluation()
    for note in notes:
        detection = detector.detect(note["text"])
        result.notes += 1
        result.language_correct += detection.language == note["language"]
        found = {hit.intent: hit for hit in detection.intents}
        found_products = {hit.product for hit in detection.intents if hit.intent == "product_interest"}
        wanted = set(note["intents"])
        for intent in INTENTS:
            hit = intent in found
            if intent == "product_interest" and hit and note.get("product"):
                hit = note["product"] in found_products
            expected = intent in wanted
            if hit == expected and not hit:
                continue
            outcome = "tp" if hit and expected else "fp" if hit else "fn"
            for tally in (result.by_language[note["language"]], result.by_intent[intent]):
                setattr(tally, outcome, getattr(tally, outcome) + 1)
            if outcome != "tp":
                result.mistakes.append(f"{outcome} {intent:<16} {note['id']}: {note['text']}")
        if detection.language != note["language"]:
            result.mistakes.append(f"language {detection.language} {note['id']}: {note['text']}")
    return result


def notes_per_second(detector: IntentDetector, texts: list[str], repeat: int) -> tuple[float, float]:
    """(per CPU second, per wall-clock second): on a shared machine the CPU-time rate is the one
    that says what a core can do; the wall-clock rate also counts time other processes took."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for text in texts:
            detector.detect(text)
    count = len(texts) * repeat
    return count / (time.process_time() - cpu), count / (time.perf_counter() - wall)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the labelled notes")
    parser.add_argument("--mistakes", action="store_true", help="list every wrong (note, intent)")
    parser.add_argument("--holdout", action="store_true", help="score the held-out notes instead")
    args = parser.parse_args(argv)
    detector = build_detector(load_catalog())
    path = HOLDOUT if args.holdout else LABELLED
    notes = load_labelled(path)
    result = evaluate(detector, notes)
    print(
        f"{path.name}: {result.notes} labelled notes, language identified correctly: {result.language_correct}/{result.notes}"
    )
    print(f"{'':<18}{'precision':>10}{'recall':>8}{'tp':>5}{'fp':>5}{'fn':>5}")
    for title, table in (("language", result.by_language), ("intent", result.by_intent)):
        for key in sorted(table):
            t = table[key]
            print(f"{title + ' ' + key:<18}{t.precision:>10.3f}{t.recall:>8.3f}{t.tp:>5}{t.fp:>5}{t.fn:>5}")
    total = Tally(*(sum(getattr(t, f) for t in result.by_language.values()) for f in ("tp", "fp", "fn")))
    print(f"{'all':<18}{total.precision:>10.3f}{total.recall:>8.3f}{total.tp:>5}{total.fp:>5}{total.fn:>5}")
    cpu_rate, wall_rate = notes_per_second(detector, [n["text"] for n in notes], args.repeat)
    print(
        f"speed: {cpu_rate:,.0f} notes per CPU second on one core, {wall_rate:,.0f} per wall-clock second "
        f"({len(notes) * args.repeat:,} detections)"
    )
    if args.mistakes:
        print("\n".join(result.mistakes))


if __name__ == "__main__":
    main()
