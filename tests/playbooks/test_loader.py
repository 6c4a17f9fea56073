"""A malformed playbook names its file, line and field; the built-in ones all load."""

from pathlib import Path

import pytest

from playbooks.loader import PlaybookError, builtin_playbook_dir, load_playbook_file, load_playbooks

VALID = """\
id: my_playbook
title: Mine
kind: upsell
offer: {type: seats}
signals:
  - signal: seat_utilisation
    operator: ">="
    value: 0.9
    points: 60
    reason: "$observed used"
threshold: 50
amount: "price_per_seat * suggested_seats * 12"
task:
  subject: "Seats for $account_name"
  body: "$reasons"
"""


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> PlaybookError:
    path = write(tmp_path, text)
    with pytest.raises(PlaybookError) as caught:
        load_playbook_file(path)
    assert caught.value.file == str(path)
    return caught.value


def test_valid_file_loads(tmp_path):
    playbook = load_playbook_file(write(tmp_path, VALID))
    assert playbook.id == "my_playbook" and playbook.signals[0].points == 60


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("signal: seat_utilisation", "signal: seat_utilization", 6, "signals[0].signal", "unknown signal"),
        ('operator: ">="', 'operator: "=>"', 7, "signals[0].operator", "unknown operator"),
        ("points: 60", "points: 160", 9, "signals[0].points", "less than or equal to 100"),
        ("threshold: 50", "threshold: 70", 11, "threshold", "could never fire"),
        ("kind: upsell", "kind: upsale", 3, "kind", "upsell"),
        (
            'amount: "price_per_seat * suggested_seats * 12"',
            "amount: \"__import__('os')\"",
            12,
            "amount",
            "unknown variable",
        ),
        (
            'amount: "price_per_seat * suggested_seats * 12"',
            'amount: "mrr.real"',
            12,
            "amount",
            "only arithmetic",
        ),
        (
            'subject: "Seats for $account_name"',
            'subject: "Seats for $acount_name"',
            14,
            "task.subject",
            "acount_name",
        ),
        (
            'reason: "$observed used"',
            'reason: "$observed used"\n    colour: red',
            11,
            "signals[0].colour",
            "Extra inputs",
        ),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, old, new, line, field, words):
    assert old in VALID
    error = error_for(tmp_path, VALID.replace(old, new))
    assert (error.line, error.field) == (line, field)
    assert words in error.problem
    assert str(error).startswith(f"{error.file}:{line}: {field}: ")


def test_missing_field_points_at_its_parent(tmp_path):
    error = error_for(tmp_path, VALID.replace("threshold: 50\n", ""))
    assert error.field == "threshold" and "Field required" in error.problem


def test_invalid_yaml_and_duplicate_keys(tmp_path):
    broken = error_for(tmp_path, VALID.replace("offer: {type: seats}", "offer: {type: seats"))
    assert broken.line is not None and "invalid YAML" in broken.problem
    duplicate = error_for(tmp_path, VALID + "threshold: 60\n")
    assert (duplicate.line, duplicate.field, duplicate.problem) == (16, "threshold", "duplicate key")
    empty = error_for(tmp_path, "")
    assert "empty" in empty.problem
    listing = error_for(tmp_path, "- a\n- b\n")
    assert "expected a mapping" in listing.problem


def test_folder_loading_replaces_builtins_and_rejects_duplicates(tmp_path):
    write(tmp_path, VALID.replace("id: my_playbook", "id: seat_expansion"))
    loaded = {p.id: p for p in load_playbooks([tmp_path])}
    assert loaded["seat_expansion"].title == "Mine"  # the user's file replaces the built-in
    write(tmp_path, VALID.replace("id: my_playbook", "id: seat_expansion"), "again.yml")
    with pytest.raises(PlaybookError, match="duplicate playbook id"):
        load_playbooks([tmp_path])
    with pytest.raises(PlaybookError, match="not found"):
        load_playbooks([tmp_path / "missing"])


def test_builtin_playbooks_cover_the_seeds():
    playbooks = load_playbooks([], include_builtin=True)
    ids = {p.id for p in playbooks}
    assert {
        "seat_expansion",
        "plan_upgrade",
        "renewal_expansion",
        "usage_milestone",
        "complementary_product",
        "premium_support",
    } <= ids
    assert len(list(builtin_playbook_dir().glob("*.yaml"))) == len(playbooks) >= 6
    assert {p.kind.value for p in playbooks} == {"upsell", "cross_sell"}
