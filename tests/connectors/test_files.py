"""The file connector: bad rows are skipped and counted, writes are idempotent by key."""

import json
from datetime import date
from decimal import Decimal

from connectors.base import ReadReport
from connectors.files.connector import FileConnector
from domain import FollowUpTask, JourneyStage, Opportunity, OpportunityKind

ACCOUNTS = """id,name,owner_id,plan,plan_rank,products,seats_purchased,seats_used,mrr,customer_since,nps
a1,Good Co,70001,Team,1,translate;api,10,9,300,2025-01-01,9
a2,Bad Seats,70001,Team,1,translate,ten,9,300,2025-01-01,9
a3,Negative,70001,Team,1,translate,10,-1,300,2025-01-01,9
a1,Duplicate,70001,Team,1,translate,10,9,300,2025-01-01,9
a4,NaN Money,70001,Team,1,translate,10,9,nan,2025-01-01,9
a5,Unicode Ωmega 株式会社,70001,Team,1,,10,9,300,2025-01-01,
"""
USAGE = """account_id,metric,period_start,value
a1,active_users,2026-10-26,8
a1,active_users,not-a-date,8
a5,words_translated,2026-10-26,1200
"""


def folder(tmp_path, accounts=ACCOUNTS, usage=USAGE):
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text(accounts)
    (data / "usage.csv").write_text(usage)
    (data / "owners.csv").write_text("id,email,name\n70001,ana@example.com,Ana\n")
    (data / "purchases.csv").write_text(
        "account_id,product,purchased_at,amount\na1,glossary,2025-02-01,1800\n"
    )
    return data


def test_malformed_rows_are_skipped_with_reasons(tmp_path):
    connector = FileConnector(folder(tmp_path), tmp_path / "out")
    report = ReadReport()
    records = list(connector.read_accounts(None, report))
    assert [r.account.id for r in records] == ["a1", "a5"]
    assert report.skipped == {"invalid_account": 3, "duplicate_account_id": 1, "invalid_usage_row": 1}
    a1 = records[0]
    assert a1.account.products == {"translate", "api", "glossary"}  # purchases add what the row lacks
    assert [(p.metric, p.value) for p in a1.usage] == [("active_users", 8.0)]
    assert records[1].account.name == "Unicode Ωmega 株式会社" and records[1].account.nps is None


def test_json_tables_are_read_too(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.json").write_text(
        json.dumps([{"id": "j1", "name": "Json Co", "seats_purchased": 5}, "junk"])
    )
    report = ReadReport()
    records = list(FileConnector(data, tmp_path / "out").read_accounts(None, report))
    assert [r.account.id for r in records] == ["j1"]
    assert report.skipped == {"invalid_account": 1}


def test_cursor_skips_unchanged_input(tmp_path):
    data = folder(tmp_path)
    connector = FileConnector(data, tmp_path / "out")
    assert len(list(connector.read_accounts(None, ReadReport()))) == 2
    cursor = connector.next_cursor()
    assert list(connector.read_accounts(cursor, ReadReport())) == []
    (data / "usage.csv").write_text(USAGE + "a1,active_users,2026-10-19,7\n")
    assert len(list(connector.read_accounts(cursor, ReadReport()))) == 2


def opportunity(key="a1:p:x"):
    return Opportunity(
        key=key,
        account_id="a1",
        kind=OpportunityKind.UPSELL,
        playbook="p",
        title="t",
        offer="x",
        estimated_amount=Decimal("10"),
        score=80,
        explanation=(),
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 1),
    )


def task(key="a1:p:x"):
    return FollowUpTask(
        opportunity_key=key,
        account_id="a1",
        subject="s",
        body="b",
        due_date=date(2026, 11, 5),
        priority="LOW",
    )


def test_outbox_writes_are_idempotent_across_instances(tmp_path):
    data = folder(tmp_path)
    first = FileConnector(data, tmp_path / "out")
    (deal,) = first.write_deals([opportunity()])
    (written,) = first.write_tasks([task()], {deal.key: deal.crm_id})
    assert deal.created and written.created
    again = FileConnector(data, tmp_path / "out")  # a new process after a crash
    (deal2,) = again.write_deals([opportunity()])
    (written2,) = again.write_tasks([task()], {deal.key: deal.crm_id})
    assert (deal2.crm_id, deal2.created, written2.crm_id, written2.created) == (
        deal.crm_id,
        False,
        written.crm_id,
        False,
    )
    outbox = tmp_path / "out" / "outbox"
    assert len((outbox / "deals.jsonl").read_text().splitlines()) == 1
    assert len((outbox / "tasks.csv").read_text().splitlines()) == 2  # header + one task
    existing = list(again.read_opportunities())
    assert [(o.key, o.status.value) for o in existing] == [("a1:p:x", "open")]


def test_a_torn_last_line_is_ignored_and_rewritten(tmp_path):
    data = folder(tmp_path)
    outbox = tmp_path / "out" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "deals.jsonl").write_text('{"id": "deal-1", "key": "a1:p:x", "acc')
    (deal,) = FileConnector(data, tmp_path / "out").write_deals([opportunity()])
    assert deal.created


def test_status_rows_close_outbox_deals(tmp_path):
    data = folder(tmp_path)
    connector = FileConnector(data, tmp_path / "out")
    connector.write_deals([opportunity()])
    (data / "opportunities.csv").write_text(
        "key,account_id,playbook,offer,status,created_at,closed_at\na1:p:x,a1,p,x,lost,,2026-10-01T00:00:00+00:00\n"
    )
    (closed,) = list(FileConnector(data, tmp_path / "out").read_opportunities())
    assert closed.status.value == "lost" and closed.crm_id is not None and closed.closed_at is not None
