"""A write pass over the file outbox that a test can SIGKILL at any moment (tests/proof/test_outbox_kills.py
and bench/outbox_kill.py run it as a subprocess).

Usage: python -m tests.proof.outbox_driver OUTBOX_DIR ACCOUNTS [--die-between-appends BATCH]

Writes one deal and one task per account in batches of 100, as the worker's write-back does, and
after each batch returns appends its keys to `acked.txt` (fsynced): what the ledger would record as
written. `--die-between-appends N` kills the process itself right after batch N's JSONL append and
before its CSV append: the window that used to lose CSV rows for good.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from connectors.files import outbox_csv
from connectors.files.outbox import Outbox
from domain import Contribution, FollowUpTask, JourneyStage, Opportunity, OpportunityKind

BATCH = 100
# Names a spreadsheet would run as formulas, mixed in so the CSV view's neutralising is exercised
# under kills too; the JSONL must keep them exactly.
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab Ltd", "\rCR Ltd"]


def opportunity(number: int) -> tuple[Opportunity, FollowUpTask]:
    account = f"acc-{number:07d}"
    name = HOSTILE[number % len(HOSTILE)] if number % 10 == 0 else f"Account {number}"
    key = f"{account}:seat_expansion:seats"
    deal = Opportunity(
        key=key,
        account_id=account,
        account_name=name,
        kind=OpportunityKind.UPSELL,
        playbook="seat_expansion",
        title=f"{name}: more seats",
        offer="seats",
        estimated_amount=Decimal(number % 5000),
        score=50 + number % 50,
        explanation=(
            Contribution(
                signal="seat_utilisation",
                observed=0.9,
                operator=">=",
                threshold=0.85,
                points=40,
                reason="90% of seats used",
            ),
        ),
        journey_stage=JourneyStage.ADOPTING,
        close_date=date(2026, 12, 1),
        owner_id="70001",
    )
    task = FollowUpTask(
        opportunity_key=key,
        account_id=account,
        subject=f"Talk to {name}",
        body=f"Seats are nearly full.\n\noppworker-key: {key}",
        due_date=date(2026, 11, 9),
        priority="MEDIUM",
        owner_id="70001",
    )
    return deal, task


def main(argv: list[str]) -> None:
    folder, accounts = Path(argv[0]), int(argv[1])
    die_at = int(argv[3]) if len(argv) > 3 and argv[2] == "--die-between-appends" else None
    outbox = Outbox(folder)
    if die_at is not None:
        appended = outbox_csv.CsvView.append
        calls = {"n": 0}

        def dying_append(self, records, records_before):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] > die_at:
                os.kill(os.getpid(), signal.SIGKILL)
            appended(self, records, records_before)

        outbox_csv.CsvView.append = dying_append  # type: ignore[method-assign]
    with (folder / "acked.txt").open("a", encoding="utf-8") as acked:
        for start in range(0, accounts, BATCH):
            pairs = [opportunity(n) for n in range(start, min(start + BATCH, accounts))]
            deals = outbox.write_deals([d for d, _ in pairs])
            ids = {r.key: r.crm_id for r in deals if r.crm_id}
            outbox.write_tasks([t for _, t in pairs], ids)
            acked.write("".join(f"{r.key}\n" for r in deals))
            acked.flush()
            os.fsync(acked.fileno())
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
