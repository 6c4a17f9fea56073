"""The run report says where a number came from, as explain does: per SQL source the accounts it gave
values to and the fields it overrode (rows of unknown accounts are under `skipped`), and the ranked
opportunities' reasons name the source of a figure it supplied."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from domain import Contribution
from tests.sql.conftest import make_duckdb, sample_rows, source
from tests.uncapped import UNCAPPED
from worker.pipeline.provenance import count_sources, with_sources
from worker.pipeline.report import merge_parts
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings


def contribution(signal: str, reason: str) -> Contribution:
    return Contribution(signal, 1.0, ">=", 0.5, 10, reason)


def test_reasons_name_the_source_of_their_figure() -> None:
    provenance = {"active_users": "warehouse", "seats_purchased": "crm_db"}
    marked = with_sources(
        [
            contribution("usage_trend.active_users", "active users up 31%"),
            contribution("usage_trend.api_calls", "api calls up 12%"),
            contribution("seats_purchased", "50 seats"),
            contribution("nps", "NPS 9"),
        ],
        provenance,
    )
    assert [c.reason for c in marked] == [
        "active users up 31% (warehouse)",
        "api calls up 12%",
        "50 seats (crm_db)",
        "NPS 9",
    ]
    unmarked = [contribution("usage_trend.active_users", "up")]
    assert with_sources(unmarked, {}) is unmarked


def test_counts_per_source_and_the_celery_merge_adds_them() -> None:
    from domain import Account

    counts: Counter[str] = Counter()
    account = Account(id="a", name="a")
    count_sources(
        counts, account, {"active_users": "warehouse", "api_calls": "warehouse", "seats_used": "w2"}
    )
    count_sources(counts, account, {"seats_used": "w2"})
    assert counts == {"warehouse: accounts": 1, "w2: accounts": 2, "w2: seats_used": 2}
    merged = merge_parts([{"sources": dict(counts)}, {"sources": {"w2: accounts": 3}}], {})
    assert merged["sources"] == {"warehouse: accounts": 1, "w2: accounts": 5, "w2: seats_used": 2}


@pytest.mark.services
def test_a_pass_reports_what_each_source_gave(tmp_path: Path) -> None:
    ghost = [("ghost-1", "active_users", "2026-10-26", 1.0), ("ghost-2", "api_calls", "2026-10-19", 2.0)]
    usage = [
        (r["account_id"], r["metric"], r["period_start"], float(r["value"])) for r in sample_rows("usage.csv")
    ]
    url = make_duckdb(tmp_path / "u.duckdb", usage=usage + ghost)
    # The sample's own seat counts for two accounts: overridden (and counted) without changing a score.
    seats = {r["id"]: int(r["seats_used"]) for r in sample_rows("accounts.csv")}
    engine = create_engine(url)
    with engine.begin() as db:
        for account in ("acc-0002", "acc-0003"):
            db.execute(
                text("INSERT INTO product_accounts VALUES (:a, :s, NULL)"),
                {"a": account, "s": seats[account]},
            )
    engine.dispose()
    fields = "SELECT account_id AS account_key, seats_used FROM product_accounts"

    def run(name: str, *sources: dict[str, object]):
        settings = Settings(
            **UNCAPPED,
            output_dir=tmp_path / name,
            database_url=f"sqlite:///{tmp_path / name}.db",
            usage_sources=list(sources),
        )
        return run_pass(settings, crm="files", dry_run=True)

    plain = run("plain")
    report = run("sql", source(url, fields_query=fields, history_days=3650))
    with_usage = len({row[0] for row in usage})
    assert report.sources == {"warehouse: accounts": with_usage, "warehouse: seats_used": 2}
    assert report.skipped["usage_rows_of_unknown_accounts (warehouse)"] == 2
    assert report.summary()["sources"] == dict(report.sources)
    assert plain.sources == Counter()
    # Same opportunities; the SQL run's reasons say which figures came from the warehouse.
    assert [r.key for r in report.ranked] == [r.key for r in plain.ranked]
    marked = [r for r in report.ranked if "(warehouse)" in r.reasons]
    assert marked, "usage trends from the warehouse are among the top reasons"
    assert [r.reasons.replace(" (warehouse)", "") for r in report.ranked] == [r.reasons for r in plain.ranked]
    assert not any("(warehouse)" in r.reasons for r in plain.ranked)
