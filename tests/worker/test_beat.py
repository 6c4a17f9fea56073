"""Two real `celery beat` processes: only the one holding the Redis lock fires schedules; when it
stops, the other takes over. Plus the schedule table built from settings."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab

from worker.service.beat import beat_schedule
from worker.service.settings import ServiceSettings

from .conftest import CELERY, ROOT, wait_for

SENT = "Sending due task"


def test_schedule_defaults_and_overrides() -> None:
    cfg = ServiceSettings(crms=["hubspot", "zendesk-sell"])
    table = beat_schedule(cfg)
    assert table["hubspot-incremental"]["schedule"] == timedelta(minutes=15)
    assert table["hubspot-incremental"]["args"] == ("hubspot", False, "incremental")
    assert isinstance(table["hubspot-full"]["schedule"], crontab)
    assert table["hubspot-full"]["args"] == ("hubspot", True, "full")
    assert "hubspot-poll" not in table  # HubSpot pushes (webhooks); Sell is polled
    assert table["zendesk-sell-poll"]["schedule"] == timedelta(minutes=3)

    custom = ServiceSettings(
        crms=["hubspot"], schedules={"hubspot": {"incremental_minutes": 5, "full_cron": None}}
    )
    assert set(beat_schedule(custom)) == {"hubspot-incremental"}
    with pytest.raises(ValueError, match="5 fields"):
        beat_schedule(ServiceSettings(crms=["files"], schedules={"files": {"full_cron": "0 2 * *"}}))


@pytest.mark.services
@pytest.mark.slow
def test_second_beat_waits_for_the_lock_and_takes_over(service_env: dict[str, str], tmp_path: Path) -> None:
    env = {
        **os.environ,
        **service_env,
        "PYTHONPATH": str(ROOT),
        "OPPWORKER_SCHEDULES": '{"files": {"incremental_minutes": 0.02, "full_cron": null}}',  # every 1.2 s
        "OPPWORKER_BEAT_LOCK_SECONDS": "5",
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]

    def start(log: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [CELERY, "-A", "worker.celery_app", "beat", "-l", "INFO", "--max-interval", "1"],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    def sent(log: Path) -> int:
        return log.read_text(errors="replace").count(SENT)

    def both() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs)

    try:
        first = start(logs[0])
        wait_for(lambda: sent(logs[0]) >= 1, 30, "the first beat to fire", both)
        start(logs[1])
        wait_for(
            lambda: "Acquiring lock" in logs[1].read_text() or "beat: Starting" in logs[1].read_text(),
            30,
            "the second beat to start",
            both,
        )
        fired = sent(logs[0])
        wait_for(lambda: sent(logs[0]) >= fired + 3, 30, "the first beat to keep firing", both)
        assert sent(logs[1]) == 0, "the second beat fired while the first held the lock"

        os.killpg(first.pid, signal.SIGTERM)  # a clean stop releases the lock
        first.wait(15)
        wait_for(lambda: sent(logs[1]) >= 1, 30, "the second beat to take over", both)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
