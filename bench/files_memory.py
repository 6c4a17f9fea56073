"""Peak memory of the file connector on a generated folder: does it stream the usage table?

    .venv/bin/python -m bench.files_memory [--n 50000] [--mode read,pass] [--code DIR]

Generates N accounts with the sample generator (`python -m connectors.files.sample`, 26 weekly
points of 4 metrics per account: 5.2 million usage rows at 50,000) into a cached folder, then in a
fresh child process per mode reads it and prints the child's peak RSS:

- `read`: every account record the connector streams (`read_accounts`), nothing else;
- `pass`: a whole in-process pass (`run_pass`, SQLite ledger, outbox in a temporary folder).

`--code DIR` imports the project from another checkout (say `/work/main`) to compare before and
after. Numbers depend on the machine; the target (issue #16) is a peak under 500 MB at 50,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, folder, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
started = time.perf_counter()
if mode == "read":
    from connectors.base import ReadReport
    from connectors.files.connector import FileConnector
    report, points = ReadReport(), 0
    for record in FileConnector(folder, out).read_accounts(None, report):
        points += len(record.usage)
    result = {"accounts": report.read, "usage_points": points, "skipped": sum(report.skipped.values())}
else:
    from worker.pipeline.run import run_pass
    from worker.pipeline.settings import Settings
    done = run_pass(Settings(data_dir=folder, output_dir=out))
    result = {"accounts": done.accounts_read, "deals_created": done.deals_created}
result["seconds"] = round(time.perf_counter() - started, 1)
result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(result))
"""


def generated(n: int) -> Path:
    folder = Path(tempfile.gettempdir()) / f"oppworker-bench-files-{n}"
    if not (folder / "manifest.json").is_file():
        print(f"generating {n} accounts into {folder} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "connectors.files.sample", "--n", str(n), "--out", str(folder)],
            cwd=ROOT,
            check=True,
        )
    return folder


def measure(mode: str, folder: Path, code: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory(prefix="oppworker-bench-out-") as out:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(folder), out],
            cwd=out,
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--mode", default="read,pass", help="comma-separated: read, pass")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to import the project from")
    args = parser.parse_args(argv)
    folder = generated(args.n)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"folder {folder} ({size:.0f} MB), code {args.code.resolve()}")
    print(f"{'mode':<6} {'peak RSS MB':>12} {'seconds':>8}  details")
    for mode in args.mode.split(","):
        result = measure(mode, folder, args.code.resolve())
        peak, seconds = result.pop("peak_rss_mb", "-"), result.pop("seconds", "-")
        print(f"{mode:<6} {peak!s:>12} {seconds!s:>8}  {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
