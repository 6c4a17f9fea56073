"""Hostile text in account names and playbook text (#16): the CSV views neutralise formula cells,
every text that reaches HTML is escaped, and the JSONL record keeps the true value.

A real pass over a copy of the sample with one account renamed, through the CLI; its tasks then go
through the HubSpot mapping (HubSpot shows task bodies as HTML). The outcome report is rendered
with hostile playbook, stage and CRM names.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from connectors.hubspot import mapping as hubspot
from domain import FollowUpTask
from playbooks.loader import builtin_playbook_dir
from tests.outcomes.test_report import deal
from tests.proof.test_bad_input_files import edit_csv, sample_copy
from worker.cli import cli
from worker.outcomes.html import render_html
from worker.outcomes.report import build_report
from worker.store.outcomes import OutcomeStore

ACCOUNT = "acc-0012"  # gets a security_addon and a seat_expansion offer on the sample
FORMULA = 'HYPERLINK("http://evil.example","x")'
SCRIPT = "<script>alert('pwned')</script>"


def run(data: Path, out: Path, env: dict[str, str] | None = None):
    result = CliRunner().invoke(
        cli, ["run", "--data-dir", str(data), "--output-dir", str(out), "--json"], obj={}, env=env
    )
    assert result.exit_code == 0, result.output
    return result


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_formula_account_name_is_inert_in_the_csv_and_true_in_the_jsonl(tmp_path, start):
    name = start + FORMULA
    data = sample_copy(tmp_path)
    edit_csv(data / "accounts.csv", ACCOUNT, "name", name)
    run(data, tmp_path / "out")
    outbox = tmp_path / "out" / "outbox"
    deals = [d for d in jsonl(outbox / "deals.jsonl") if d["account_id"] == ACCOUNT]
    # The account name is stripped by the domain (leading tab/CR are whitespace), so compare with
    # what the record holds: the JSONL keeps it unquoted, the CSV quotes exactly the cells that start a formula.
    assert deals and all(d["account_name"].lstrip("\t\r") == name.lstrip("\t\r") for d in deals)
    assert all(not d["account_name"].startswith("'") for d in deals)
    csv_deals = {r["key"]: r for r in rows(outbox / "deals.csv")}
    for record in deals:
        row = csv_deals[record["key"]]
        for field, value in record.items():
            if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert row[field] == "'" + value, (field, row[field])
    for path in (outbox / "deals.csv", outbox / "tasks.csv"):
        for row in rows(path):
            for field, cell in row.items():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (path.name, field, cell[:60])
    if start in "=+-@":
        assert any(r["account_name"] == "'" + name for r in csv_deals.values())
        tasks = [t for t in rows(outbox / "tasks.csv") if t["account_id"] == ACCOUNT]
        assert tasks and all(FORMULA in t["subject"] + t["body"] for t in tasks)


def hostile_playbooks(tmp_path: Path) -> Path:
    folder = tmp_path / "playbooks"
    shutil.copytree(builtin_playbook_dir(), folder)
    path = folder / "security_addon.yaml"
    text = path.read_text(encoding="utf-8")
    subject = 'subject: "Security add-on (SSO, SCIM, audit log) for $account_name"'
    title = "title: Security add-on for large teams on higher plans"
    assert subject in text and title in text  # the hostile text lands where the test says
    text = text.replace(subject, f'subject: "{SCRIPT} Security add-on for $account_name"')
    text = text.replace(title, f'title: "{SCRIPT} Security add-on"')
    path.write_text(text, encoding="utf-8")
    return folder


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


HOSTILE_NAME = f"{SCRIPT} & <img src=x onerror=alert(1)> Ltd"


def tasks_of_hostile_account(tmp_path: Path, **env: str) -> list[dict]:
    """A pass over the sample with ACCOUNT renamed to markup and the hostile security_addon
    playbook, per-owner caps lifted (both of the account's offers are written): its tasks."""
    data = sample_copy(tmp_path)
    edit_csv(data / "accounts.csv", ACCOUNT, "name", HOSTILE_NAME)
    env = {
        "OPPWORKER_PLAYBOOK_DIRS": str(hostile_playbooks(tmp_path)),
        "OPPWORKER_INCLUDE_BUILTIN_PLAYBOOKS": "false",
        "OPPWORKER_TASKS_PER_OWNER_PER_WEEK": "none",
        "OPPWORKER_OPEN_TASKS_PER_OWNER": "none",
        **env,
    }
    run(data, tmp_path / "out", env=env)
    return [t for t in jsonl(tmp_path / "out" / "outbox" / "tasks.jsonl") if t["account_id"] == ACCOUNT]


def test_hubspot_task_bodies_escape_account_names_and_playbook_text(tmp_path):
    # a task per offer, so each playbook's own subject and body are checked (the grouped task's
    # listing is checked in test_a_grouped_task_escapes_the_offers_it_lists)
    tasks = tasks_of_hostile_account(tmp_path, OPPWORKER_ONE_TASK_PER_ACCOUNT="false")
    name = HOSTILE_NAME
    assert {t["opportunity_key"].split(":")[1] for t in tasks} >= {"security_addon", "seat_expansion"}
    for record in tasks:
        task = FollowUpTask.model_validate(record)
        body = hubspot.task_properties(task, "TODO")["hs_task_body"]
        parsed = Tags()
        parsed.feed(body)
        assert set(parsed.tags) <= {"br"}, f"HTML tags from data reached the task body: {parsed.tags}"
        assert "<script" not in body and "<img" not in body
        assert name in "".join(parsed.text)  # the CSM still reads the true name
        assert hubspot.marker_key(body) == task.opportunity_key  # idempotency still finds the task
    hostile = next(t for t in tasks if ":security_addon:" in t["opportunity_key"])
    assert hostile["subject"].startswith(SCRIPT)  # the JSONL keeps the playbook's true text


def test_a_grouped_task_escapes_the_offers_it_lists(tmp_path):
    """One task per account (issue #15): the lead task lists the account's other offers, whose
    titles and reasons come from playbooks and data; they are escaped like the rest of the body."""
    (task,) = tasks_of_hostile_account(tmp_path)
    assert task["covers"], "the account's second offer is listed in its one task"
    body = hubspot.task_properties(FollowUpTask.model_validate(task), "TODO")["hs_task_body"]
    parsed = Tags()
    parsed.feed(body)
    assert set(parsed.tags) <= {"br"}, f"HTML tags from data reached the task body: {parsed.tags}"
    assert "<script" not in body and "<img" not in body
    assert all(key in "".join(parsed.text) for key in task["covers"])  # the listing names each deal


def report_html(tmp_path: Path, crm: str, playbook: str, stage: str) -> str:
    store = OutcomeStore(
        create_engine(f"sqlite:///{tmp_path / (str(len(list(tmp_path.iterdir()))) + '.db')}")
    )
    store.save(
        crm,
        [
            deal("k1", "a1", playbook, "upsell", 80, stage, "2026-09-01", "won", "2026-09-11", 100.0, True),
            deal(
                "k2", "a2", playbook, "cross_sell", 70, "value_realised", "2026-09-02", "lost", "2026-09-12"
            ),
        ],
        [],
        [],
    )
    return render_html(build_report(store, datetime(2026, 10, 1, tzinfo=UTC), crm=crm))


def test_the_outcome_report_escapes_every_name(tmp_path):
    hostile = report_html(tmp_path, f"<b>{SCRIPT}</b>", f"{SCRIPT}seat", f"<i>{SCRIPT}</i>")
    benign = report_html(tmp_path, "files", "seat", "adopting")
    parsed, expected = Tags(), Tags()
    parsed.feed(hostile)
    expected.feed(benign)
    assert parsed.tags == expected.tags, "a name added markup to the report"
    assert "<script" not in hostile
    assert any(SCRIPT in text for text in parsed.text)  # shown as text, not run
