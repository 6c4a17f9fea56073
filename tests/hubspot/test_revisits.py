"""An incremental pass re-reads, by id, companies whose record did not change but that said
something new (a note logged since the last pass) or whose deal moved (a deal-stage webhook)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.base import ReadReport
from connectors.capabilities import ReadsAccountsById, ResolvesDealAccounts
from tests.hubspot.conftest import connector_for, install, seed_companies
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.revisits import HEARD_OVERLAP, accounts_to_revisit, heard_watermark, read_with_revisits
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

DAY_MS = 86_400_000


def test_companies_are_read_by_id_unknown_ids_left_out(sandbox: HubSpotSandbox) -> None:
    install(sandbox)
    ids = seed_companies(sandbox, 3)
    connector = connector_for(sandbox)
    assert isinstance(connector, ReadsAccountsById)
    report = ReadReport()
    records = list(connector.read_accounts_by_id([ids[2], "999999", ids[0], ids[2]], report))
    assert [r.account.id for r in records] == [ids[2], ids[0]]
    assert records[0].account.plan == "Team" and records[0].account.seats_purchased == 10
    assert report.read == 2
    reads = [p for _, p in sandbox.server.requests if p.endswith("/companies/batch/read")]
    assert reads == ["/crm/objects/2026-03/companies/batch/read"]


def test_a_deal_resolves_to_its_company_through_the_association_batch(sandbox: HubSpotSandbox) -> None:
    company, other = seed_companies(sandbox, 2)
    deal = sandbox.add_record("deals", {"dealname": "Upsell", "dealstage": "appointmentscheduled"})
    lonely = sandbox.add_record("deals", {"dealname": "No company", "dealstage": "appointmentscheduled"})
    sandbox.associate("deals", deal, company, 5)
    connector = connector_for(sandbox)
    assert isinstance(connector, ResolvesDealAccounts)
    assert connector.accounts_of_deals([deal, lonely]) == [company]
    burst_before = sandbox.burst_counted
    assert accounts_to_revisit(connector, None, flagged_accounts=[other], flagged_deals=[deal]) == sorted(
        [company, other]
    )
    assert sandbox.burst_counted == burst_before  # association batch reads are exempt


def test_changed_and_revisited_accounts_are_listed_once_and_a_full_pass_revisits_nothing(
    sandbox: HubSpotSandbox,
) -> None:
    install(sandbox)
    old = int(time.time() * 1000) - 2 * DAY_MS
    ids = seed_companies(sandbox, 4, modified_ms=old)
    cursor = datetime.fromtimestamp((old + DAY_MS) / 1000, tz=UTC).isoformat()
    sandbox.touch("companies", ids[1], seats_used="12")
    listed = [
        r.account.id
        for r in read_with_revisits(connector_for(sandbox), cursor, ReadReport(), [ids[1], ids[3]])
    ]
    assert listed == [ids[1], ids[3]]
    full = [r.account.id for r in read_with_revisits(connector_for(sandbox), None, ReadReport(), [ids[3]])]
    assert sorted(full) == sorted(ids)


def test_the_watermark_is_the_last_pass_start_minus_an_overlap() -> None:
    started = datetime(2026, 11, 2, 6, tzinfo=UTC)
    assert heard_watermark(started) == started - HEARD_OVERLAP and heard_watermark(None) is None


def test_an_incremental_pass_rescores_a_company_that_only_said_something_new(
    sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    install(sandbox)
    ids = seed_sample(sandbox, 40, modified_ms=int(time.time() * 1000) - 2 * DAY_MS)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out")
    now = sample_as_of()
    first = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=now)
    assert first.mode == "full" and first.accounts_read == 40

    quiet = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=now + timedelta(hours=1))
    assert quiet.mode == "incremental" and quiet.accounts_read == 0  # nothing changed, nothing said

    heard = ids[13]  # the sample's acc-0014: an upgrade offer needs its words to fire
    # logged now (hs_lastmodifieddate), about a call the day before the pass's data date (hs_timestamp)
    note = sandbox.add_record(
        "notes",
        {
            "hs_timestamp": "2026-11-01T10:00:00Z",
            "hs_note_body": "<p>Ze vroeg wat het Business-abonnement extra biedt, want ze willen meer talen.</p>",
        },
    )
    sandbox.associate("notes", note, heard, 190)
    sandbox.touch("companies", ids[3], seats_used="500")
    deals_before = {d["properties"]["oppworker_key"] for d in sandbox.records("deals")}

    incremental = run_pass(
        settings, crm="hubspot", connector=connector_for(sandbox), now=now + timedelta(hours=2)
    )

    assert (
        incremental.mode == "incremental" and incremental.accounts_read == 2
    )  # the changed one and the one heard
    new_keys = {d["properties"]["oppworker_key"] for d in sandbox.records("deals")} - deals_before
    assert any(k.startswith(f"{heard}:") and "plan_upgrade" in k for k in new_keys)
    assert Ledger(settings.ledger_url).last_successful_start("hubspot") is not None
