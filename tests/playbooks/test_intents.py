"""Intent detection: quality on the labelled notes per language, negation and deferral in every
language, and lexicon files that fail with their file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.intents import HOLDOUT, LABELLED, evaluate, load_labelled
from playbooks.intents import INTENTS, build_detector, load_lexicons
from playbooks.intents.lexicon import builtin_lexicon_dir
from playbooks.loader import PlaybookError, load_catalog

LANGUAGES = ("en", "it", "nl", "pl", "zh", "de", "fr", "es")


@pytest.fixture(scope="module")
def detector():
    return build_detector(load_catalog())


def test_the_labelled_set_is_large_varied_and_covers_every_language() -> None:
    notes = load_labelled(LABELLED)
    assert len(notes) >= 200
    for language in LANGUAGES:
        mine = [n for n in notes if n["language"] == language]
        assert len(mine) >= 25, language
        assert any(not n["intents"] for n in mine), f"{language}: no note without intent"
        assert {i for n in mine for i in n["intents"]} == set(INTENTS), language
    assert len({n["text"] for n in notes}) == len(notes), "duplicate notes"


@pytest.mark.parametrize("path", [LABELLED, HOLDOUT], ids=["tuned", "held_out"])
def test_precision_and_recall_per_language_do_not_regress(detector, path: Path) -> None:
    result = evaluate(detector, load_labelled(path))
    for language in LANGUAGES:
        tally = result.by_language[language]
        assert tally.tp > 0, language
        assert tally.precision >= 0.9, f"{language}: precision {tally.precision:.2f}\n" + "\n".join(
            result.mistakes
        )
        assert tally.recall >= 0.75, f"{language}: recall {tally.recall:.2f}\n" + "\n".join(result.mistakes)
    assert result.language_correct / result.notes >= 0.9


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("We do not need more licences this year.", "en"),
        ("Non ci servono altre licenze quest'anno.", "it"),
        ("We hebben dit jaar geen extra licenties nodig.", "nl"),
        ("W tym roku nie potrzebujemy więcej licencji.", "pl"),
        ("今年我们不需要更多的许可证。", "zh"),
        ("Wir brauchen dieses Jahr keine weiteren Lizenzen.", "de"),
        ("Nous n'avons pas besoin de licences supplémentaires cette année.", "fr"),
        ("No necesitamos más licencias este año.", "es"),
        ("More seats? Not now, maybe later.", "en"),
        ("They are not planning to cancel, all good.", "en"),
    ],
)
def test_negated_or_deferred_needs_do_not_fire(detector, text: str, language: str) -> None:
    detection = detector.detect(text)
    assert detection.language == language
    assert detection.intents == ()


@pytest.mark.parametrize(
    ("text", "intent", "product"),
    [
        ("Our team is doubling next quarter and we will need 20 more seats.", "more_seats", None),
        ("What does the Business plan include?", "plan_upgrade", None),
        ("Do you have SSO?", "product_interest", "security"),
        ("Czy macie integrację z WordPress?", "product_interest", "connectors"),
        ("他们对术语表很感兴趣。", "product_interest", "glossary"),
        ("Sie überlegen zu kündigen.", "churn_risk", None),
    ],
)
def test_an_intent_carries_its_sentence_product_and_a_confidence(detector, text, intent, product) -> None:
    hits = {h.intent: h for h in detector.detect(text).intents}
    assert set(hits) == {intent}
    hit = hits[intent]
    assert hit.product == product
    assert hit.evidence == text
    assert 0 < hit.confidence <= 1


def test_evidence_is_the_triggering_sentence_only(detector) -> None:
    text = "Thanks for the call yesterday. The weather was lovely. They will need 12 more licences in May."
    (hit,) = detector.detect(text).intents
    assert hit.intent == "more_seats"
    assert hit.evidence == "They will need 12 more licences in May."


def test_a_clause_after_but_is_not_negated_by_the_one_before(detector) -> None:
    hits = {
        h.intent for h in detector.detect("We don't use the glossary much, but we need more seats.").intents
    }
    assert hits == {"more_seats"}


def test_text_in_no_known_language_is_undetermined_and_hears_nothing(detector) -> None:
    detection = detector.detect("12345 ... ---")
    assert detection.language == "und"
    assert detection.intents == ()


def test_every_builtin_lexicon_loads() -> None:
    assert set(load_lexicons()) == set(LANGUAGES)
    assert len(list(builtin_lexicon_dir().glob("*.yaml"))) == len(LANGUAGES)


def _user_lexicon(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "lexicons"
    folder.mkdir()
    (folder / "en.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_user_lexicon_extends_a_language_without_code(tmp_path: Path) -> None:
    text = "Finance approved the Q3 headcount for localisation."
    assert build_detector(load_catalog()).detect(text).intents == ()
    folder = _user_lexicon(
        tmp_path,
        "language: en\nstopwords: [finance]\nintents:\n  more_seats:\n    - {pattern: 'headcount', confidence: 0.6}\n",
    )
    (hit,) = build_detector(load_catalog(), [folder]).detect(text).intents
    assert (hit.intent, hit.confidence) == ("more_seats", 0.6)


@pytest.mark.parametrize(
    ("text", "line", "field", "problem"),
    [
        (
            "language: en\nstopwords: [a]\nintents:\n  more_seats:\n    - 'seats (('\n",
            5,
            "intents.more_seats[0].pattern",
            "not a valid regular expression",
        ),
        (
            "language: en\nstopwords: [a]\nintents:\n  upsell_now:\n    - 'x'\n",
            3,
            "intents",
            "unknown intent",
        ),
        ("language: english\nstopwords: [a]\n", 1, "language", "String should match pattern"),
        ("language: en\nintents: {}\n", 1, "", "needs 'stopwords'"),
        (
            "language: en\nstopwords: [a]\nintents:\n  churn_risk:\n    - {pattern: 'a?', confidence: 0.5}\n",
            5,
            "intents.churn_risk[0].pattern",
            "empty string",
        ),
        (
            "language: en\nstopwords: [a]\nintents:\n  churn_risk:\n    - {pattern: 'quit', confidence: 2}\n",
            5,
            "intents.churn_risk[0].confidence",
            "less than or equal to 1",
        ),
    ],
)
def test_a_bad_lexicon_names_file_line_and_field(tmp_path: Path, text, line, field, problem) -> None:
    folder = _user_lexicon(tmp_path, text)
    with pytest.raises(PlaybookError) as caught:
        load_lexicons([folder])
    error = caught.value
    assert error.file == str(folder / "en.yaml")
    assert error.line == line
    assert error.field == field
    assert problem in error.problem
