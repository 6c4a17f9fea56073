"""`oppworker intents detect`: JSON lines in, one JSON line out per input, from a file or stdin."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from worker.cli import cli


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj={}, input=input, catch_exceptions=False)


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_reads_a_file_and_writes_one_line_per_note(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"id": "n1", "text": "Wir brauchen fünf weitere Lizenzen für das neue Team."}\n'
        "\n"
        '{"id": 2, "text": "Thanks for the lovely lunch!"}\n'
        '{"id": "n3", "text": "我们正在评估竞争对手的产品，可能会取消合同。"}\n',
        encoding="utf-8",
    )
    result = invoke("intents", "detect", str(notes))
    assert result.exit_code == 0, result.output
    first, second, third = lines(result.output)
    assert first == {
        "id": "n1",
        "language": "de",
        "intents": [
            {
                "intent": "more_seats",
                "evidence": "Wir brauchen fünf weitere Lizenzen für das neue Team.",
                "confidence": 0.9,
            }
        ],
    }
    assert second == {"id": 2, "language": "en", "intents": []}
    assert third["language"] == "zh" and [i["intent"] for i in third["intents"]] == ["churn_risk"]


def test_reads_standard_input_and_names_the_product() -> None:
    result = invoke("intents", "detect", input='{"id": "x", "text": "¿Tienen conector para WordPress?"}\n')
    assert result.exit_code == 0, result.output
    (only,) = lines(result.output)
    assert only["language"] == "es"
    assert (
        only["intents"][0]["intent"] == "product_interest" and only["intents"][0]["product"] == "connectors"
    )


def test_bad_lines_get_an_error_line_in_place_and_exit_1(tmp_path: Path) -> None:
    result = invoke(
        "intents",
        "detect",
        input='not json\n{"id": 7, "text": 5}\n{"id": 8, "text": "We need more seats."}\n',
    )
    assert result.exit_code == 1
    bad_json, bad_text, good = lines(result.output)
    assert bad_json["line"] == 1 and "not JSON" in bad_json["error"]
    assert bad_text == {"id": 7, "line": 2, "error": 'expected an object with a string "text", found int'}
    assert good["intents"][0]["intent"] == "more_seats"
    assert "2 input line(s)" in result.output


def test_a_user_lexicon_folder_extends_detection_and_a_broken_one_names_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    folder.mkdir()
    (folder / "en.yaml").write_text(
        "language: en\nstopwords: [the]\nintents:\n  more_seats:\n    - 'headcount'\n"
    )
    ok = invoke(
        "intents",
        "detect",
        "--lexicons",
        str(folder),
        input='{"id": 1, "text": "The headcount plan got approved."}\n',
    )
    assert [i["intent"] for i in lines(ok.output)[0]["intents"]] == ["more_seats"]
    (folder / "en.yaml").write_text(
        "language: en\nstopwords: [the]\nintents:\n  more_seats:\n    - 'head(count'\n"
    )
    broken = invoke("intents", "detect", "--lexicons", str(folder), input='{"id": 1, "text": "x"}\n')
    assert broken.exit_code == 1
    assert (
        f"{folder / 'en.yaml'}:5: intents.more_seats[0].pattern: not a valid regular expression"
        in broken.output
    )
