"""`oppworker run --enqueue` and webhook re-scores queue passes (real Redis broker, real ledger);
the workers that run them are exercised in test_pass_graph.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from redis import Redis

from worker.cli import cli

pytestmark = pytest.mark.services


def _queued(service_env: dict[str, str]) -> list[dict[str, object]]:
    """start_pass messages waiting in the CRM queue (no worker consumes them in this test)."""
    redis = Redis.from_url(service_env["OPPWORKER_BROKER_URL"])
    queue = f"{service_env['OPPWORKER_KEY_PREFIX']}:oppworker.crm"  # our global key prefix
    messages = [json.loads(m) for m in redis.lrange(queue, 0, -1)]
    return [m["headers"] for m in messages if m["headers"]["task"] == "oppworker.start_pass"]


def test_run_enqueue_prints_the_run_id_and_runs_lists_it_as_queued(service_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--crm", "files", "--enqueue", "--full"], obj={})
    assert result.exit_code == 0, result.output
    run_id = result.output.strip()
    assert len(run_id) == 32
    (headers,) = _queued(service_env)
    assert run_id in headers["argsrepr"] and "True" in headers["argsrepr"]  # (run_id, crm, full)

    listed = runner.invoke(cli, ["runs", "--json"], obj={})
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["id"], r["status"], r["mode"]) for r in rows] == [(run_id, "queued", "full")]

    refused = runner.invoke(cli, ["run", "--enqueue", "--dry-run"], obj={})
    assert refused.exit_code == 2 and "cannot be combined" in refused.output


def test_a_burst_of_rescore_requests_queues_one_pass(service_env: dict[str, str]) -> None:
    from worker.service.rescore import request_rescore
    from worker.service.resources import redis_client
    from worker.service.settings import service_settings

    assert request_rescore("hubspot", ["1", "2"], "webhook") == 2
    assert request_rescore("hubspot", ["2", "3"], "webhook") == 2
    assert request_rescore("hubspot", [], "webhook") == 0
    assert len(_queued(service_env)) == 1  # debounced: one pass picks all of them up
    assert redis_client().smembers(service_settings().key("rescore", "hubspot")) == {b"1", b"2", b"3"}


def test_accounts_flagged_during_a_pass_get_a_follow_up_pass(service_env: dict[str, str]) -> None:
    from worker.service.lock import acquire_pass_lock, release_pass_lock
    from worker.service.rescore import follow_up_rescore
    from worker.service.resources import redis_client
    from worker.service.settings import service_settings
    from worker.service.tasks import scheduled_pass

    assert follow_up_rescore("hubspot") is None  # nothing flagged: nothing queued
    assert acquire_pass_lock("hubspot", "running-pass") is None
    assert scheduled_pass.run("hubspot", False, "incremental") == ""  # beat does not queue while it runs
    assert _queued(service_env) == []
    redis_client().sadd(service_settings().key("rescore", "hubspot"), "42")  # a webhook during the pass
    release_pass_lock("hubspot", "running-pass")
    run_id = follow_up_rescore("hubspot")
    assert run_id and [run_id in h["argsrepr"] for h in _queued(service_env)] == [True]
