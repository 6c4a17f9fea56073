"""SIGKILL a real `oppworker run` over a generated folder at random moments, then let it finish, and
count what the file outbox lost (#17). Prints one table; `lost` must be 0.

    .venv/bin/python -m bench.outbox_kill [--n 20000] [--kills 10] [--seed 17] [--keep DIR]

Each kill lands at a random point of the write phase (a random count of deals appended, plus up
to 50 ms: inside or between a batch's JSONL and CSV appends). After the final run
the outbox's CSV views are compared with its JSONL record row by row, and every deal the ledger
recorded as written (state deal_written or done) is looked up in the JSONL. The write-path-only
version with many more kills per minute is tests/proof/test_outbox_kills.py.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from connectors.files.outbox import unique_records
from tests.proof.outbox_check import compare_outbox

ROOT = Path(__file__).resolve().parents[1]


def oppworker(data: Path, out: Path, lease: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPPWORKER_WRITE_LEASE_SECONDS": str(lease)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "run",
            "--data-dir",
            str(data),
            "--output-dir",
            str(out),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def ledger_states(out: Path) -> dict[str, set[str]]:
    """state -> keys in the in-process ledger (`ledger.sqlite3` in the output folder)."""
    states: dict[str, set[str]] = {}
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        for key, state in db.execute("select key, state from ow_opportunities"):
            states.setdefault(state, set()).add(key)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", type=Path)
    parser.add_argument(
        "--lease",
        type=float,
        default=2.0,
        help="write_lease_seconds for every run; the final run starts after it expired, so a "
        "batch leased by a killed run is not held back (issue #17's lease finding)",
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="outbox-kill-"))
    data, out = work / "data", work / "out"
    subprocess.run(
        [sys.executable, "-m", "connectors.files.sample", "--n", str(args.n), "--out", str(data)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    started = time.monotonic()
    clean = oppworker(data, work / "timing", args.lease)
    clean.wait()
    full_seconds = time.monotonic() - started
    clean_deals = len(unique_records(work / "timing" / "outbox" / "deals.jsonl", "key"))
    chance, kills, survived = random.Random(args.seed), 0, 0
    for _ in range(args.kills):
        done = count_lines(out / "outbox" / "deals.jsonl")
        if done >= clean_deals:
            break  # everything is written: a later run has nothing left to interrupt
        target = done + chance.randint(1, clean_deals - done)  # a random point of the write phase
        process = oppworker(data, out, args.lease)
        while process.poll() is None and count_lines(out / "outbox" / "deals.jsonl") < target:
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.05))  # anywhere in or between a batch's appends
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += process.wait() == -signal.SIGKILL
        else:
            survived += process.wait() == 0
    time.sleep(args.lease + 0.5)
    final = oppworker(data, out, args.lease)
    final_code = final.wait()
    outbox = out / "outbox"
    result = compare_outbox(outbox)
    jsonl_keys = {r["key"] for r in unique_records(outbox / "deals.jsonl", "key")}
    states = ledger_states(out)
    ledger_lost = len((states.get("deal_written", set()) | states.get("done", set())) - jsonl_keys)
    pending = sum(len(keys) for state, keys in states.items() if state != "done")
    print(f"{'accounts':<28}{args.n:>10,}")
    print(f"{'uninterrupted pass (s)':<28}{full_seconds:>10.1f}")
    print(f"{'kills':<28}{kills:>10}")
    print(f"{'runs that finished anyway':<28}{survived:>10}")
    print(f"{'final run exit code':<28}{final_code:>10}")
    print(f"{'deals (uninterrupted run)':<28}{clean_deals:>10,}")
    print(f"{'deals after kills':<28}{len(jsonl_keys):>10,}")
    print(f"{'records compared':<28}{result.records:>10,}")
    print(f"{'lost (CSV or ledger)':<28}{result.lost + ledger_lost:>10}")
    print(f"{'ledger keys not done':<28}{pending:>10}")
    print(f"{'extra / different CSV rows':<28}{result.extra_in_csv:>5} / {result.different}")
    print(f"work folder: {work}")
    if result.lost or ledger_lost or result.extra_in_csv or result.different or final_code or pending:
        sys.exit(1)


if __name__ == "__main__":
    main()
