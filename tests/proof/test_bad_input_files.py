"""One bad value or one bad file in the file connector's input, through the CLI as a user runs it (#17).

A value no store can hold (mrr=1e400, seats 1e30, usage 1e308, NaN, negatives) skips its record
with the reason counted and every other account's opportunities are still written, exit 0. A file
that cannot be read at all (a byte that is not UTF-8, malformed or 200,000-deep JSON, a manifest
`as_of` that is not a date) is one clear error naming the file and the position, exit 1, and no
traceback. A 200 kB CSV field skips its row.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.files.connector import sample_data_dir
from worker.cli import cli

BAD_ACCOUNT = "acc-0012"  # an account with two offers on the clean sample


def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(sample_data_dir(), folder)
    return folder


def edit_csv(path: Path, row_id: str, column: str, value: str, id_column: str = "id") -> None:
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    hits = [r for r in rows if r[id_column] == row_id]
    assert hits, f"{row_id} not in {path.name}"
    for row in hits:
        row[column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run(data: Path, out: Path):
    return CliRunner().invoke(
        cli, ["run", "--data-dir", str(data), "--output-dir", str(out), "--json"], obj={}
    )


def deal_keys(out: Path) -> set[str]:
    lines = (out / "outbox" / "deals.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["key"] for line in lines}


def assert_clean_failure(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not result.exc_info or isinstance(result.exception, SystemExit), result.exc_info
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture(scope="module")
def clean_keys(tmp_path_factory) -> set[str]:
    tmp = tmp_path_factory.mktemp("clean")
    result = run(sample_copy(tmp), tmp / "out")
    assert result.exit_code == 0, result.output
    return deal_keys(tmp / "out")


@pytest.mark.parametrize(
    ("table", "column", "value", "reason"),
    [
        ("accounts", "mrr", "1e400", "invalid_account"),
        ("accounts", "mrr", "NaN", "invalid_account"),
        ("accounts", "mrr", "-5", "invalid_account"),
        ("accounts", "seats_purchased", "1e30", "invalid_account"),
        ("accounts", "seats_used", "99999999999", "invalid_account"),
        ("usage", "value", "1e308", "invalid_usage_row"),
        ("usage", "value", "inf", "invalid_usage_row"),
        ("usage", "value", "-3", "invalid_usage_row"),
    ],
)
def test_one_unholdable_value_skips_its_record_and_the_pass_writes_the_rest(
    tmp_path, clean_keys, table, column, value, reason
):
    data = sample_copy(tmp_path)
    edit_csv(data / f"{table}.csv", BAD_ACCOUNT, column, value, "id" if table == "accounts" else "account_id")
    result = run(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["skipped"][reason] >= 1, summary
    written = deal_keys(tmp_path / "out")
    assert any(k.startswith(f"{BAD_ACCOUNT}:") for k in clean_keys)
    others = {k for k in clean_keys if not k.startswith(f"{BAD_ACCOUNT}:")}
    # Every other account's opportunities are written; the affinity table (all accounts' products)
    # may differ by the one skipped account, so compare the offers that do not depend on it.
    assert {k for k in others if "complementary_product" not in k} <= written
    if table == "accounts":
        assert not any(k.startswith(f"{BAD_ACCOUNT}:") for k in written)
    again = run(data, tmp_path / "out")  # a rerun is as calm: nothing new, exit 0
    assert again.exit_code == 0, again.output


def test_a_200_kb_csv_field_skips_its_row(tmp_path, clean_keys):
    data = sample_copy(tmp_path)
    edit_csv(data / "accounts.csv", BAD_ACCOUNT, "name", "x" * 200_000)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["skipped"]["invalid_account"] >= 1
    written = deal_keys(tmp_path / "out")
    assert not any(k.startswith(f"{BAD_ACCOUNT}:") for k in written)
    assert {
        k for k in clean_keys if not k.startswith(f"{BAD_ACCOUNT}:") and "complementary_product" not in k
    } <= written


@pytest.mark.parametrize("table", ["accounts", "usage"])
def test_a_byte_that_is_not_utf8_names_file_line_and_column(tmp_path, table):
    data = sample_copy(tmp_path)
    path = data / f"{table}.csv"
    lines = path.read_bytes().split(b"\n")
    lines[41] = lines[41][:4] + b"\xff" + lines[41][4:]
    path.write_bytes(b"\n".join(lines))
    result = run(data, tmp_path / "out")
    assert_clean_failure(result, f"{table}.csv line 42, column 5", "0xff", "UTF-8")
    assert not (tmp_path / "out" / "outbox" / "deals.jsonl").exists(), "nothing is written from a bad file"


def accounts_json(data: Path, text: str) -> None:
    (data / "accounts.csv").unlink()
    (data / "accounts.json").write_text(text, encoding="utf-8")


def test_malformed_accounts_json_names_line_and_column(tmp_path):
    data = sample_copy(tmp_path)
    accounts_json(data, '[\n  {"id": "a1", "name": "Acme"},\n  {"id": "a2" "name": "Beta"}\n]\n')
    assert_clean_failure(run(data, tmp_path / "out"), "accounts.json line 3, column 15", "not valid JSON")


def test_json_nested_200000_deep_is_refused_not_a_recursion_error(tmp_path):
    data = sample_copy(tmp_path)
    accounts_json(data, "[" * 200_000 + "]" * 200_000)
    assert_clean_failure(run(data, tmp_path / "out"), "accounts.json", "nested too deeply")


def test_a_json_object_where_an_array_belongs_is_named(tmp_path):
    data = sample_copy(tmp_path)
    accounts_json(data, '{"id": "a1"}')
    assert_clean_failure(run(data, tmp_path / "out"), "accounts.json", "expected a JSON array")


@pytest.mark.parametrize(
    ("manifest", "needle"),
    [
        ('{"as_of": "yesterday"}', "'yesterday' is not an ISO 8601 date-time"),
        ('{"as_of": 20261102}', "expected an ISO 8601 date-time text"),
        ('{"as_of": "2026-11-02", ', "manifest.json line 1, column 25"),
    ],
)
def test_a_bad_manifest_as_of_is_one_clear_error(tmp_path, manifest, needle):
    data = sample_copy(tmp_path)
    (data / "manifest.json").write_text(manifest, encoding="utf-8")
    assert_clean_failure(run(data, tmp_path / "out"), "manifest.json", needle)
