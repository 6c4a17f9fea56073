"""The contract-suite harness drives a real pass: seed, fail, change, and read back what the CRM holds."""

from __future__ import annotations

from pathlib import Path

from connectors.base import ReadReport
from tests.pipedrive.harness import PipedriveContract
from tests.uncapped import UNCAPPED
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings


def test_harness_seeds_reads_writes_and_counts(tmp_path: Path) -> None:
    harness = PipedriveContract(tmp_path)
    harness.start()
    try:
        ids = harness.seed_accounts(3)
        harness.plant_bad_record()
        report = ReadReport()
        connector = harness.build()
        assert [r.account.id for r in connector.read_accounts(None, report)] == ids
        assert report.skipped == {"missing_id": 1}
        harness.change_account(ids[1])
        assert [
            r.account.id for r in harness.build().read_accounts(connector.next_cursor(), ReadReport())
        ] == [ids[1]]

        harness.seed_for_pass(60)
        harness.fail_next("create_deals", 503, 1, after=True)
        settings = Settings(**UNCAPPED, database_url=f"sqlite:///{tmp_path}/l.db", output_dir=tmp_path)
        result = run_pass(settings, crm="pipedrive", connector=harness.build(), now=harness.now)
        assert result.deals_created > 0
        assert sorted(harness.deal_keys()) == sorted(set(harness.deal_keys())) == sorted(harness.task_keys())
    finally:
        harness.stop()
