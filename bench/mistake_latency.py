"""How long each user mistake takes to be reported (issue #16: "after at most a few seconds").

Runs the real `oppworker` entry point in a child process for each case and prints the wall time
and the first line of the message. Before the change, `run --enqueue` with Redis down took ~21 s
and an unreachable CRM host was retried as "transient".

    python bench/mistake_latency.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    port = closed_port()
    cases = {
        "baseline: oppworker --version": (["--version"], {}),
        "run --enqueue, Redis down": (
            ["run", "--enqueue"],
            {"OPPWORKER_REDIS_URL": f"redis://127.0.0.1:{port}/0"},
        ),
        "run --crm hubspot, refused host": (
            ["run", "--crm", "hubspot"],
            {"HUBSPOT_ACCESS_TOKEN": "x", "HUBSPOT_BASE_URL": f"http://127.0.0.1:{port}"},
        ),
        "run --crm hubspot, DNS failure": (
            ["run", "--crm", "hubspot"],
            {"HUBSPOT_ACCESS_TOKEN": "x", "HUBSPOT_BASE_URL": "http://no-such-host.invalid"},
        ),
        "runs, database port closed": (
            ["runs"],
            {"OPPWORKER_DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/x"},
        ),
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPPWORKER_", "HUBSPOT_", "REDIS_URL"))}
    with tempfile.TemporaryDirectory() as folder:
        for label, (args, env) in cases.items():
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "worker.cli.main", *args],
                cwd=folder,
                env={**clean, **env},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            seconds = time.perf_counter() - started
            lines = [
                line
                for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "RuntimeWarning" not in line
            ]
            print(f"{label:36} exit {result.returncode}  {seconds:5.2f} s  {lines[0][:110] if lines else ''}")


if __name__ == "__main__":
    main()
