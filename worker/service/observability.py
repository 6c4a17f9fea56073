"""JSON logs and Prometheus metrics for the service processes.

Logs: one JSON object per line with the run id, CRM and task name when known (set in a context
variable by the task wrapper, so every log line inside a task carries them without each call site
passing them). Messages never contain secrets: connectors build messages without tokens, and the
formatter additionally masks any value registered with `register_secret`.

Metrics: module-level collectors in the default registry. The webhook app serves them at
`/metrics`; the worker runs with a thread pool (one process) and serves them on `metrics_port`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from prometheus_client import Counter, Histogram

from connectors.capabilities import CallsHttpApi

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "oppworker_log_context", default=MappingProxyType({})
)
_secrets: set[str] = set()

PASSES = Counter("oppworker_passes_total", "Passes finished, by CRM and outcome", ["crm", "outcome"])
ACCOUNTS_SCORED = Counter("oppworker_accounts_scored_total", "Accounts scored", ["crm"])
OPPORTUNITIES_WRITTEN = Counter("oppworker_opportunities_written_total", "Deals created in the CRM", ["crm"])
OPPORTUNITIES_SUPPRESSED = Counter(
    "oppworker_opportunities_suppressed_total", "Opportunities suppressed by a guardrail", ["crm", "reason"]
)
CRM_CALLS = Counter("oppworker_crm_calls_total", "HTTP calls made to a CRM", ["crm"])
CRM_RATE_LIMITED = Counter("oppworker_crm_rate_limited_total", "HTTP 429 answers from a CRM", ["crm"])
LIMITER_WAIT = Counter(
    "oppworker_limiter_wait_seconds_total", "Seconds spent waiting for the rate limiters", ["crm"]
)
TASK_LATENCY = Histogram(
    "oppworker_task_seconds",
    "Task run time",
    ["task"],
    buckets=(0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
WEBHOOK_EVENTS = Counter(
    "oppworker_webhook_events_total", "Webhook events by source and result", ["source", "result"]
)


def register_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line (belt and braces)."""
    if value and len(value) >= 4:
        _secrets.add(value)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    merged = {**_context.get(), **{k: v for k, v in values.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def _mask(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context (run_id, crm, task)."""

    FIELDS = ("run_id", "crm", "task", "task_id", "mode")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _mask(record.getMessage()),
        }
        data.update(_context.get())
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = _mask(self.formatException(record.exc_info))
        return json.dumps(data, default=str)


def setup_logging(level: int = logging.INFO, json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def record_client_stats(crm: str, connector: object) -> None:
    """Copy a connector's HTTP client counters (calls, 429s, limiter wait) into the metrics."""
    if not isinstance(connector, CallsHttpApi):
        return
    stats = connector.http_stats()
    CRM_CALLS.labels(crm).inc(stats.calls)
    CRM_RATE_LIMITED.labels(crm).inc(stats.rate_limited)
    LIMITER_WAIT.labels(crm).inc(stats.limiter_wait_seconds)
