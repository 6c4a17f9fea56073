"""Holdout groups: a stable, playbook-specific control group of the declared share, for which no
deal and no task is ever written and the ledger records "would have fired"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playbooks.holdout import holdout_bucket, in_control_group
from playbooks.loader import PlaybookError, load_playbook_text, load_playbooks
from tests.uncapped import UNCAPPED
from worker.outcomes.sync import store_for
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger

from .conftest import playbooks_with_holdout

ACCOUNTS = [f"acc-{i:05d}" for i in range(10_000)]


def test_assignment_is_stable_across_calls_and_processes():
    here = [in_control_group(a, "seat_expansion", 0.1) for a in ACCOUNTS[:500]]
    assert here == [in_control_group(a, "seat_expansion", 0.1) for a in ACCOUNTS[:500]]
    # Another interpreter with a different hash seed: Python's hash() would move accounts, ours must not.
    code = (
        "import json; from playbooks.holdout import in_control_group; "
        "print(json.dumps([in_control_group(f'acc-{i:05d}', 'seat_expansion', 0.1) for i in range(500)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(out.stdout) == here


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5])
def test_declared_share_within_tolerance_on_10000_accounts(share):
    held = sum(in_control_group(a, "plan_upgrade", share) for a in ACCOUNTS)
    # Binomial(10000, share): 4 standard deviations is a tolerance a correct hash passes for sure.
    sd = (10_000 * share * (1 - share)) ** 0.5
    assert abs(held - 10_000 * share) <= 4 * sd


def test_groups_are_nested_and_independent_per_playbook():
    small = {a for a in ACCOUNTS if in_control_group(a, "seat_expansion", 0.1)}
    large = {a for a in ACCOUNTS if in_control_group(a, "seat_expansion", 0.2)}
    assert small <= large  # raising the share only adds accounts to the control group
    other = {a for a in ACCOUNTS if in_control_group(a, "plan_upgrade", 0.1)}
    assert 40 <= len(small & other) <= 170  # ~1% of accounts by chance, not the same 10%
    assert not any(in_control_group(a, "seat_expansion", 0.0) for a in ACCOUNTS)
    assert all(0 <= holdout_bucket(a, "x") < 1 for a in ACCOUNTS[:100])


def test_playbook_holdout_is_validated():
    base = (Path(__file__).parents[2] / "playbooks" / "definitions" / "seat_expansion.yaml").read_text()
    assert load_playbook_text(base).holdout == 0
    assert load_playbook_text(base + "\nholdout: 0.1\n").holdout == 0.1
    for bad in ("1", "-0.1", "1.5"):
        with pytest.raises(PlaybookError):
            load_playbook_text(base + f"\nholdout: {bad}\n")


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_no_deal_or_task_is_ever_written_for_a_control_account(tmp_path):
    dirs = playbooks_with_holdout(
        tmp_path / "playbooks", {"seat_expansion": 0.5, "complementary_product": 0.5}
    )
    settings = Settings(
        **UNCAPPED, output_dir=tmp_path / "out", playbook_dirs=[dirs], include_builtin_playbooks=False
    )
    first = run_pass(settings)
    assert first.holdout > 0 and set(first.holdout_by_playbook) == {"seat_expansion", "complementary_product"}
    store = store_for(Ledger(settings.ledger_url))
    held = store.holdouts("files")
    assert len(held) == first.holdout
    for row in held:  # the ledger says why: the key it would have written, its score and amount
        assert in_control_group(row["account_id"], row["playbook"], 0.5)
        assert row["key"].startswith(f"{row['account_id']}:{row['playbook']}:") and row["score"] > 0
    held_pairs = {(r["account_id"], r["playbook"]) for r in held}
    deals = lines(settings.output_dir / "outbox" / "deals.jsonl")
    tasks = lines(settings.output_dir / "outbox" / "tasks.jsonl")
    assert not held_pairs & {(d["account_id"], d["playbook"]) for d in deals}
    assert not {r["key"] for r in held} & {t["opportunity_key"] for t in tasks}
    assert first.new == len(deals) == len(tasks)
    # Treated accounts of the same playbooks do get deals: the holdout is a share, not a switch.
    assert first.new_by_playbook["seat_expansion"] > 0
    # A rerun keeps them in the control group and writes nothing for them; first sighting is kept.
    again = run_pass(settings, full=True)
    assert again.holdout == first.holdout and again.deals_created == 0
    assert {(r["account_id"], r["playbook"], r["first_seen_at"]) for r in store.holdouts("files")} == {
        (r["account_id"], r["playbook"], r["first_seen_at"]) for r in held
    }
    # Dry runs never record holdouts either way and never preview a control account's deal.
    dry = run_pass(settings, dry_run=True, full=True)
    previewed = {p["record"].get("key") for p in dry.dry_run_payloads}
    assert not previewed & {r["key"] for r in held}


def test_builtin_playbooks_declare_no_holdout():
    # The sample's showcases (README, e2e tests) depend on every built-in playbook treating everyone.
    assert all(p.holdout == 0 for p in load_playbooks([]))
