"""Done-when of issue 14: HubSpot accounts (sandbox) with their usage in PostgreSQL give the same
opportunities as the same data held in the file connector, on the first pass (no snapshot warm-up).

The HubSpot companies carry the file connector's accounts field for field plus a
`product_account_id` property; the usage lives only in PostgreSQL, keyed by that property.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ReadReport
from connectors.files.connector import FileConnector, sample_data_dir
from tests.hubspot.conftest import TOKEN, install, settings_for
from tests.hubspot.seed import sample_as_of
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.sql.conftest import USAGE_QUERY, sample_rows
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

pytestmark = [pytest.mark.services, pytest.mark.slow]
NOW = sample_as_of()


def files_folder(tmp_path: Path) -> Path:
    """The sample without the deals it ships (the HubSpot sandbox has none either)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("accounts.csv", "usage.csv", "purchases.csv", "owners.csv", "manifest.json"):
        shutil.copy(sample_data_dir() / name, folder / name)
    return folder


def seed_companies(box: HubSpotSandbox, folder: Path, tmp_path: Path) -> dict[str, str]:
    """One company per account the file connector reads; returns company id -> product account id."""
    for owner in sample_rows("owners.csv"):
        first, _, last = owner["name"].partition(" ")
        box.add_owner(owner["id"], owner["email"], first, last)
    connector = FileConnector(folder, tmp_path / "seed-out")
    ids = {}
    for record in connector.read_accounts(None, ReadReport()):
        account = record.account.model_dump(mode="json", exclude_none=True)
        props: dict[str, Any] = {
            k: str(v) for k, v in account.items() if k not in {"id", "owner_id", "owner_email", "products"}
        }
        props.update(
            hubspot_owner_id=account.get("owner_id", ""),
            products=";".join(sorted(record.account.products)),
            product_account_id=record.account.id,
        )
        ids[box.add_record("companies", props)] = record.account.id
    return ids


def test_hubspot_accounts_with_postgres_usage_match_the_file_connector(
    pg_usage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = files_folder(tmp_path)
    monkeypatch.delenv("OPPWORKER_DATABASE_URL", raising=False)
    files_settings = Settings(
        **UNCAPPED,
        data_dir=folder,
        output_dir=tmp_path / "files-out",
        database_url=f"sqlite:///{tmp_path / 'files.db'}",
    )
    expected = run_pass(files_settings, crm="files", now=NOW)
    assert expected.new > 0

    with HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000) as box:
        install(box)
        company_to_account = seed_companies(box, folder, tmp_path)
        hubspot = settings_for(box).model_dump(
            mode="json",
            include={
                "base_url",
                "burst_limit",
                "burst_window_seconds",
                "burst_margin_seconds",
                "search_per_second",
                "search_margin_seconds",
                "backoff_base_seconds",
                "max_attempts",
                "timeout_seconds",
            },
        )
        settings = Settings(
            **UNCAPPED,
            output_dir=tmp_path / "hs-out",
            database_url=f"sqlite:///{tmp_path / 'hs.db'}",
            crm={
                "hubspot": {
                    **hubspot,
                    "access_token": TOKEN,
                    "usage": {
                        m: ""
                        for m in ("active_users", "words_translated", "api_calls", "premium_feature_attempts")
                    },
                }
            },
            usage_sources=[
                {
                    "name": "warehouse",
                    "url": pg_usage,
                    "account_key": "product_account_id",
                    "usage_query": USAGE_QUERY,
                }
            ],
        )
        got = run_pass(settings, crm="hubspot", now=NOW)  # the first pass: no stored snapshots
        deal_keys = sorted(d["properties"]["oppworker_key"] for d in box.records("deals"))

    def comparable(ranked: list[Any], ids: dict[str, str] | None) -> list[tuple[Any, ...]]:
        return sorted(
            (ids[r.account_id] if ids else r.account_id, r.playbook, r.kind, r.offer, r.score, r.amount)
            for r in ranked
        )

    assert got.accounts_read == expected.accounts_read == len(company_to_account)
    assert (got.new, got.deals_created, got.tasks_created) == (
        expected.new,
        expected.deals_created,
        expected.tasks_created,
    )
    assert comparable(got.ranked, company_to_account) == comparable(expected.ranked, None)
    # The deals written to HubSpot are the file pass's, key for key (account part translated).
    as_files = sorted(f"{company_to_account[k.split(':', 1)[0]]}:{k.split(':', 1)[1]}" for k in deal_keys)
    assert as_files == sorted(r.key for r in expected.ranked)
    # Every usage row joined a company through product_account_id: none counted as unknown.
    assert not [reason for reason in got.skipped if "unknown" in reason]
