"""The file outbox loses nothing to SIGKILL (#17): the JSONL is the record and the CSV views are
reconciled with it on open.

A subprocess writes a 20,000-account pass (tests/proof/outbox_driver.py) and is killed at random
points of its writing (a seeded random count of deals appended, plus up to 20 ms) several times, then runs to the end; every acknowledged key must be in the JSONL, and every
JSONL record in the CSV exactly once with the same values. One kill is placed exactly between the
JSONL append and the CSV append, the window that used to drop whole batches from the CSV for good.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.proof.outbox_check import compare_outbox

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 20_000


def driver(folder: Path, accounts: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.proof.outbox_driver", str(folder), str(accounts), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def acked(folder: Path) -> set[str]:
    path = folder / "acked.txt"
    return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()


class LineCounter:
    """Lines appended to a file so far, reading only what was added since the last look."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                added = handle.read()
            self.offset += len(added)
            self.lines += added.count(b"\n")
        return self.lines


def test_a_kill_between_the_jsonl_and_the_csv_append_is_repaired_on_open(tmp_path):
    process = driver(tmp_path, 1_000, "--die-between-appends", "7")
    assert process.wait(60) == -signal.SIGKILL
    behind = compare_outbox(tmp_path)
    assert behind.missing_in_csv == 100, "the kill should have left one batch out of the CSV"
    finished = driver(tmp_path, 1_000)
    assert finished.wait(60) == 0, finished.stderr.read() if finished.stderr else ""
    result = compare_outbox(tmp_path, acked(tmp_path))
    assert result.records == 2_000
    assert (result.lost, result.extra_in_csv, result.different) == (0, 0, 0), result


def test_random_kills_over_a_20000_account_pass_lose_nothing(tmp_path):
    chance = random.Random(int(os.environ.get("OUTBOX_KILL_SEED", "17")))
    # Eight kill points spread over the write phase, each at a seeded random count of deals appended.
    targets = sorted(chance.sample(range(1, int(ACCOUNTS * 0.95)), 8))
    written, kills = LineCounter(tmp_path / "deals.jsonl"), 0
    for target in targets:
        if written.count() >= target:
            continue
        process = driver(tmp_path, ACCOUNTS)
        deadline = time.monotonic() + 60
        while process.poll() is None and written.count() < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(chance.uniform(0, 0.02))  # anywhere in or between a batch's appends
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += process.wait(30) == -signal.SIGKILL
        else:
            process.wait()
    final = driver(tmp_path, ACCOUNTS)
    assert final.wait(120) == 0, final.stderr.read() if final.stderr else ""
    result = compare_outbox(tmp_path, acked(tmp_path))
    print(
        f"kills={kills} records_compared={result.records} lost={result.lost} "
        f"extra={result.extra_in_csv} different={result.different}"
    )
    assert kills >= 6, "the runs should have been killed mid-pass"
    assert result.records == 2 * ACCOUNTS
    assert (result.lost, result.extra_in_csv, result.different) == (0, 0, 0), result
