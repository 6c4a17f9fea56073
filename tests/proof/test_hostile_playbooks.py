"""Issue #17: a playbook file must not exhaust the machine, and a formula that passes `check` must
not crash or hang `run`. Every refusal reads `file:line: field: problem`, never a traceback.

Each hostile file here used to be accepted, to expand without bound, or to end in a traceback."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbooks.loader import PlaybookError, builtin_playbook_dir, load_playbook_file, load_playbooks
from worker.cli import cli

SEED = (builtin_playbook_dir() / "seat_expansion.yaml").read_text()
AMOUNT_LINE = SEED.splitlines().index('amount: "price_per_seat * suggested_seats * 12"') + 1


def refusal(path: Path) -> PlaybookError:
    """Load `path` and return the refusal, checking it names the file and a line, within bounds."""
    started, memory_before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PlaybookError) as caught:
        load_playbook_file(path)
    assert time.process_time() - started < 5, "refusing a hostile file must be quick"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before < 200_000, (
        "and must not fill memory"
    )
    error = caught.value
    assert error.file == str(path) and error.line is not None
    assert str(error).startswith(f"{path}:{error.line}: ")
    return error


def write(tmp_path: Path, text: str | bytes, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_billion_laughs_is_refused_at_the_first_alias(tmp_path):
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = laughs[-1][0]
        laughs.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    path = write(tmp_path, "\n".join(laughs) + "\n")
    assert path.stat().st_size < 400
    error = refusal(path)
    assert error.line == 2 and "aliases" in error.problem


def test_a_recursive_alias_is_refused(tmp_path):
    error = refusal(write(tmp_path, "id: &loop [1, *loop]\n"))
    assert error.line == 1 and "aliases" in error.problem


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    error = refusal(write(tmp_path, "id: " + "[" * 100_000 + "]" * 100_000 + "\n"))
    assert "nested more than" in error.problem


def test_a_non_utf8_byte_names_its_line_and_column(tmp_path):
    error = refusal(write(tmp_path, SEED.encode().replace(b"Seat expansion", b"Seat \xff expansion", 1)))
    assert (
        error.line == 2
        and "not UTF-8" in error.problem
        and "0xff" in error.problem
        and "column 13" in error.problem
    )


def test_a_200_mb_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:  # sparse: 200 MB on paper, nothing on disk
        handle.write(SEED.encode())
        handle.seek(200 * 1024 * 1024)
        handle.write(b"\n")
    error = refusal(path)
    assert "larger than" in error.problem


def test_200000_signals_are_refused(tmp_path):
    condition = '  - {signal: nps, operator: ">=", value: 8, points: 1, reason: "NPS $observed"}\n'
    text = SEED.replace("signals:\n", "signals:\n" + condition * 200_000, 1)
    assert "larger than" in refusal(write(tmp_path, text)).problem  # the file cap comes first
    error = refusal(
        write(tmp_path, SEED.replace("signals:\n", "signals:\n" + condition * 60, 1), "many.yaml")
    )
    assert error.field == "signals" and "at most 50" in error.problem


def test_a_100000_term_formula_is_refused(tmp_path):
    error = refusal(
        write(tmp_path, SEED.replace("price_per_seat * suggested_seats * 12", "+".join(["1"] * 100_000)))
    )
    assert (error.line, error.field) == (AMOUNT_LINE, "amount") and "limit is 500" in error.problem


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("mrr / 0", "ZeroDivisionError"),
        ("1e400 - 1e400", "out of range"),
        ("mrr ** 400", "exponent 400"),
        ('max(\\"a\\", \\"b\\")', "not the str 'a'"),
        ("mrr > 1", "comparison"),
        ("1 << 10000", "'<<'"),
        ("[1, 2]", "not list"),
        ("4000000 ** 4000000", "exponent 4e+06"),
        ("mrr / seats_purchased", "seats_purchased=0"),
    ],
)
def test_formulas_that_cannot_give_an_amount_are_refused_by_check(tmp_path, formula, words):
    path = write(tmp_path, SEED.replace("price_per_seat * suggested_seats * 12", formula))
    error = refusal(path)
    assert (error.line, error.field) == (AMOUNT_LINE, "amount"), str(error)
    assert words in error.problem, error.problem
    assert str(error).startswith(f"{path}:{AMOUNT_LINE}: amount: ")


def test_check_lists_every_problem_of_a_file_each_with_its_line(tmp_path):
    broken = (
        SEED.replace('operator: ">="', 'operator: "=>"', 1)
        .replace("points: 40", "points: 400", 1)
        .replace("kind: upsell", "kind: upsale")
        .replace("price_per_seat * suggested_seats * 12", "mrr / 0")
    )
    path = write(tmp_path, broken)
    with pytest.raises(PlaybookError) as caught:
        load_playbook_file(path)
    lines = str(caught.value).splitlines()
    assert len(caught.value.problems) == 4 == len(lines)
    assert {line.split(": ")[1] for line in lines} == {
        "kind",
        "signals[0].operator",
        "signals[0].points",
        "amount",
    }
    assert all(line.startswith(f"{path}:") and line.split(":")[1].isdigit() for line in lines)
    assert "more problem" not in str(caught.value)

    result = CliRunner().invoke(cli, ["playbooks", "check", str(tmp_path)], obj={})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [
        line.removeprefix("invalid: ") for line in result.output.splitlines() if line.startswith("invalid: ")
    ] == lines


def test_check_lists_the_problems_of_every_file_in_a_folder(tmp_path):
    write(tmp_path, SEED.replace("kind: upsell", "kind: upsale"), "one.yaml")
    write(tmp_path, b"id: \xff\n", "two.yaml")
    write(tmp_path, SEED.replace("id: seat_expansion", "id: fine"), "three.yaml")
    result = CliRunner().invoke(cli, ["playbooks", "check", str(tmp_path)], obj={})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"invalid: {tmp_path / 'one.yaml'}:4: kind: " in result.output
    assert f"invalid: {tmp_path / 'two.yaml'}:1: (top level): not UTF-8 text" in result.output
    with pytest.raises(PlaybookError) as caught:  # a pass refuses them all at once, too
        load_playbooks([tmp_path])
    assert len(caught.value.problems) == 2


def test_check_of_an_empty_folder_is_an_error(tmp_path):
    result = CliRunner().invoke(cli, ["playbooks", "check", str(tmp_path)], obj={})
    assert result.exit_code == 1
    assert f"invalid: {tmp_path}: (top level): no playbook files" in result.output
