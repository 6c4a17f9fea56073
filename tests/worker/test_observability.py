"""JSON log lines carry the run id, CRM and task name, and never a registered secret."""

from __future__ import annotations

import json
import logging

from prometheus_client import REGISTRY

from worker.service.observability import ACCOUNTS_SCORED, JsonFormatter, log_context, register_secret


def _line(logger: logging.Logger, handler_records: list[logging.LogRecord]) -> dict[str, object]:
    return json.loads(JsonFormatter().format(handler_records[-1]))


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_json_lines_carry_context_and_mask_secrets() -> None:
    logger = logging.getLogger("oppworker.test")
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    register_secret("pat-na1-very-secret")
    try:
        with log_context(run_id="run-1", crm="hubspot", task="oppworker.write_batch"):
            logger.info("calling with %s", "pat-na1-very-secret")
            line = _line(logger, keep.records)  # handlers format as the record is emitted
        assert (
            line["run_id"] == "run-1" and line["crm"] == "hubspot" and line["task"] == "oppworker.write_batch"
        )
        assert "pat-na1-very-secret" not in json.dumps(line)
        assert line["message"] == "calling with ***"
        logger.info("outside")
        assert "run_id" not in _line(logger, keep.records)  # the context ended with its block
    finally:
        logger.removeHandler(keep)


def test_metrics_are_registered() -> None:
    ACCOUNTS_SCORED.labels("files").inc(0)
    names = {metric.name for metric in REGISTRY.collect()}
    for name in (
        "oppworker_passes",
        "oppworker_accounts_scored",
        "oppworker_opportunities_written",
        "oppworker_opportunities_suppressed",
        "oppworker_crm_calls",
        "oppworker_crm_rate_limited",
        "oppworker_limiter_wait_seconds",
        "oppworker_task_seconds",
        "oppworker_webhook_events",
    ):
        assert name in names
