"""Matching Sell records to their Pipedrive counterparts: carried id first, then exact name, and
every doubt listed instead of guessed."""

from __future__ import annotations

from worker.pipeline.crm_migration import SourceRecord, TargetRecord, match_records


def test_carried_id_wins_over_name_and_name_is_the_fallback() -> None:
    sources = [SourceRecord("s1", "Acme"), SourceRecord("s2", "Globex"), SourceRecord("s3", "Initech")]
    targets = [
        TargetRecord("p9", "Acme Corp (renamed)", carried_id="s1"),
        TargetRecord("p8", "Acme"),
        TargetRecord("p7", " Globex "),
        TargetRecord("p6", "initech"),
    ]
    result = match_records(sources, targets)
    assert result.mapped == {"s1": "p9", "s2": "p7"}
    assert result.how == {"s1": "carried_id", "s2": "name"}
    assert result.missing == ["s3"]  # "initech" differs in case: exact means exact
    assert result.counts() == {"by_carried_id": 1, "by_name": 1, "ambiguous": 0, "missing": 1}


def test_ambiguities_are_listed_never_guessed() -> None:
    sources = [
        SourceRecord("s1", "Acme"),
        SourceRecord("s2", "Twin"),
        SourceRecord("s3", "Twin"),
        SourceRecord("s4", "Dup"),
    ]
    targets = [
        TargetRecord("p1", "x", carried_id="s1"),
        TargetRecord("p2", "y", carried_id="s1"),
        TargetRecord("p3", "Twin"),
        TargetRecord("p4", "Dup"),
        TargetRecord("p5", "Dup"),
    ]
    result = match_records(sources, targets)
    assert result.mapped == {}
    reasons = {a.source_id: (a.candidates, a.reason) for a in result.ambiguous}
    assert reasons["s1"] == (("p1", "p2"), "several records carry this id")
    assert reasons["s2"] == (("p3",), "several source records have this exact name")
    assert reasons["s4"] == (("p4", "p5"), "several records have this exact name")


def test_a_record_carrying_another_id_is_never_matched_by_name() -> None:
    sources = [SourceRecord("s1", "Acme")]
    targets = [TargetRecord("p1", "Acme", carried_id="s99")]
    result = match_records(sources, targets)
    assert result.mapped == {} and result.missing == ["s1"]
