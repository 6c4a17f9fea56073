"""The Celery application, configured from `ServiceSettings` and built on first use by
`get_app()`, never at import: importing a module of the service connects to nothing.
`celery -A worker.celery_app` (compose, tests) names a one-line module that calls it.

Choices and why:
- JSON only: a message is data, never code (no pickle from a shared broker).
- `acks_late` + `reject_on_worker_lost`: a task is acknowledged after it finished, so a worker
  killed mid-task hands its task to the next worker; every task is idempotent (the ledger and the
  connectors' idempotent writes make a repeated write batch find what exists).
- prefetch 1: a CRM I/O task can wait minutes on the shared limiter; it must not hold others back.
- two queues, `oppworker.crm` (CRM reads and writes) and `oppworker.score` (CPU: scoring, planning,
  finishing), so a long CRM backlog cannot starve scoring or the reverse; deploy workers per queue.
- the Redis transport's visibility timeout is longer than any countdown the code uses
  (`ServiceSettings.max_countdown`), or a delayed retry would run twice.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import import_module

from celery import Celery
from kombu import Exchange, Queue

from connectors.registry import REGISTRY
from worker.service.settings import ServiceSettings, service_settings

CRM_QUEUE = "oppworker.crm"
SCORE_QUEUE = "oppworker.score"


def _load_plugins() -> None:
    """`OPPWORKER_CONNECTOR_PLUGINS="name=module:function,..."` adds connectors the registry does not
    ship (a customer's own CRM adapter; tests use it for a connector that stalls on demand)."""
    for item in filter(
        None, (p.strip() for p in os.environ.get("OPPWORKER_CONNECTOR_PLUGINS", "").split(","))
    ):
        name, _, target = item.partition("=")
        import_module(target.partition(":")[0])  # fail at start, not in the middle of a pass
        REGISTRY[name.strip()] = target.strip()


def broker_options(cfg: ServiceSettings) -> dict[str, object]:
    options: dict[str, object] = {
        "visibility_timeout": cfg.visibility_timeout,
        # how often a worker looks for messages a dead worker held (Redis transport)
        "unacked_restore_interval": cfg.unacked_restore_interval,
        "unacked_restore_throttle": 1,
    }
    if cfg.broker.startswith(("redis://", "rediss://")):
        # every key Celery keeps in Redis (queues, unacked, bindings) under our prefix, so one
        # Redis can serve several deployments (and test runs) without them seeing each other
        options["global_keyprefix"] = cfg.key_prefix + ":"
    return options


def backend_options(cfg: ServiceSettings) -> dict[str, object]:
    return {"visibility_timeout": cfg.visibility_timeout, "global_keyprefix": cfg.key_prefix + ":"}


def make_app() -> Celery:
    cfg = service_settings()
    app = Celery("oppworker", broker=cfg.broker, backend=cfg.backend, include=["worker.service.tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=cfg.task_soft_time_limit,
        task_time_limit=cfg.task_time_limit,
        task_track_started=True,
        result_expires=24 * 3600,
        broker_transport_options=broker_options(cfg),
        result_backend_transport_options=backend_options(cfg),
        broker_connection_retry_on_startup=True,
        task_default_queue=SCORE_QUEUE,
        task_queues=tuple(
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (CRM_QUEUE, SCORE_QUEUE)
        ),
        task_routes={
            "oppworker.start_pass": {"queue": CRM_QUEUE},
            "oppworker.write_batch": {"queue": CRM_QUEUE},
            "oppworker.score_chunk": {"queue": SCORE_QUEUE},
            "oppworker.plan_writes": {"queue": SCORE_QUEUE},
            "oppworker.finish_pass": {"queue": SCORE_QUEUE},
            "oppworker.watch_pass": {"queue": SCORE_QUEUE},
            "oppworker.scheduled_pass": {"queue": SCORE_QUEUE},
        },
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
        # Beat: celery-redbeat keeps the schedule state in Redis and holds a Redis lock, so a second
        # beat started by mistake waits instead of firing every schedule twice.
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=cfg.redis_url,
        redbeat_key_prefix=cfg.key("redbeat") + ":",
        redbeat_lock_key=cfg.key("redbeat", "lock"),
        redbeat_lock_timeout=max(3, int(os.environ.get("OPPWORKER_BEAT_LOCK_SECONDS", "150"))),
    )
    from worker.service.beat import beat_schedule

    app.conf.beat_schedule = beat_schedule(cfg)
    return app


@cache
def get_app() -> Celery:
    """The process's app: plugins loaded, tasks registered, logging and metrics hooked, once."""
    _load_plugins()
    app = make_app()
    app.set_current()
    _hook_signals()
    import worker.service.tasks  # noqa: F401 - registers the shared tasks on this app

    return app


def _hook_signals() -> None:
    """JSON logs in every service process, and the worker's Prometheus exporter once it is ready."""
    from celery import signals

    from worker.service.observability import setup_logging

    @signals.setup_logging.connect(weak=False)
    def _logging(loglevel: object = None, **_: object) -> None:
        level = (
            loglevel
            if isinstance(loglevel, int)
            else getattr(__import__("logging"), str(loglevel or "INFO").upper(), 20)
        )
        setup_logging(level, service_settings().log_json)

    @signals.worker_ready.connect(weak=False)
    def _exporter(**_: object) -> None:
        port = service_settings().metrics_port
        if port:
            from prometheus_client import start_http_server

            start_http_server(port)
