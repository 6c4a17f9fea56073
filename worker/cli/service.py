"""`oppworker worker`, `oppworker beat`, `oppworker webhooks`: the three service processes.

Each is a thin wrapper so that compose files, systemd units and the README use one command name;
the real engines are Celery (worker, beat) and uvicorn (webhooks). Configuration comes from the
environment (see worker/service/settings.py) and the pass settings file (`OPPWORKER_CONFIG` or
the global `--config`).
"""

from __future__ import annotations

import os

import click

CRM_QUEUE, SCORE_QUEUE = (
    "oppworker.crm",
    "oppworker.score",
)  # as in worker.service.app (not imported here: the CLI starts without Celery)


def _export_config(ctx: click.Context) -> None:
    config = (ctx.find_root().obj or {}).get("config")
    if config:
        os.environ["OPPWORKER_CONFIG"] = str(config)


@click.command("worker")
@click.option(
    "--queues",
    "-Q",
    default=f"{CRM_QUEUE},{SCORE_QUEUE}",
    show_default=True,
    help="Queues to consume; run separate workers per queue to scale CRM I/O and scoring apart.",
)
@click.option("--concurrency", "-c", default=4, show_default=True, help="Threads (tasks at once).")
@click.option(
    "--pool",
    type=click.Choice(["threads", "prefork", "solo"]),
    default="threads",
    show_default=True,
    help="threads: one process, so the Prometheus exporter sees every task (prefork needs a multiprocess registry).",
)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--hostname", "-n", default=None, help="Celery node name (default: celery@HOST).")
@click.pass_context
def worker_cmd(
    ctx: click.Context, queues: str, concurrency: int, pool: str, loglevel: str, hostname: str | None
) -> None:
    """Run a Celery worker: passes, scoring and write batches."""
    _export_config(ctx)
    from worker.service.app import get_app
    from worker.service.enqueue import require_redis

    app = get_app()
    require_redis()  # a clear one-line error when Redis is down, not Celery's logged traceback

    argv = [
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "-P",
        pool,
        "-l",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv += ["-n", hostname]
    app.worker_main(argv=argv)


@click.command("beat")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.pass_context
def beat_cmd(ctx: click.Context, loglevel: str) -> None:
    """Run the scheduler (celery beat with a Redis lock: a second beat waits instead of firing twice)."""
    _export_config(ctx)
    from worker.service.app import get_app
    from worker.service.enqueue import require_redis

    app = get_app()
    require_redis()  # a clear one-line error when Redis is down, not Celery's logged traceback

    app.start(argv=["beat", "-l", loglevel])


@click.command("webhooks")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.pass_context
def webhooks_cmd(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the webhook receiver (/webhooks/hubspot, /webhooks/events, /healthz, /metrics)."""
    _export_config(ctx)
    import uvicorn

    uvicorn.run(
        "worker.webhooks:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
    )


commands = [worker_cmd, beat_cmd, webhooks_cmd]
