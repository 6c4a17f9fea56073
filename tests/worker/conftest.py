"""Fixtures for the service tests: a private Redis db + key prefix, a throwaway PostgreSQL ledger,
and real `celery worker` subprocesses (no eager mode) configured through the environment.

The test process and its workers share one configuration by environment variables, exactly as
compose runs them. Each test gets its own Redis database number (flushed before and after; the
shared server is never restarted) and its own PostgreSQL database (tests/conftest.py).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.own_services import wait

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

# Redis db numbers these tests use in turn; within one, each test's keys carry its own prefix (and are
# deleted afterwards), so concurrent runs on the shared server do not see each other.
_DBS = itertools.cycle(range(15, 7, -1))


def _with_db(url: str, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{db}"


@pytest.fixture
def service_env(
    redis_url: str, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment of one service deployment under test; applied to this process too."""
    db = next(_DBS)
    url = _with_db(redis_url, db)
    client = Redis.from_url(url)
    prefix = f"owtest-{uuid.uuid4().hex[:8]}"
    env = {
        "OPPWORKER_REDIS_URL": url,
        "OPPWORKER_BROKER_URL": url,
        "OPPWORKER_RESULT_BACKEND": url,
        "OPPWORKER_KEY_PREFIX": prefix,
        "OPPWORKER_DATABASE_URL": postgres_url,
        "OPPWORKER_OUTPUT_DIR": str(tmp_path / "out"),
        "OPPWORKER_METRICS_PORT": "0",
        "OPPWORKER_VISIBILITY_TIMEOUT": "6",
        "OPPWORKER_WRITE_LEASE_SECONDS": "3",  # a killed writer's keys are free again quickly
        "OPPWORKER_UNACKED_RESTORE_INTERVAL": "1",
        "OPPWORKER_LOG_JSON": "true",
        "OPPWORKER_CONNECTOR_PLUGINS": "stalling=tests.worker.stalling:from_options,flaky=tests.worker.stalling:flaky,"
        "bad-token=tests.worker.stalling:bad_token,always-limited=tests.worker.stalling:always_limited,"
        "relisting=tests.worker.stalling:relisting,refusing=tests.worker.stalling:refusing",
        "OPPWORKER_TEST_FLAKY_MARKER": str(tmp_path / "flaky"),
        "OPPWORKER_TEST_REFUSE_MARKER": str(tmp_path / "refuse"),
        "OPPWORKER_CRMS": '["files"]',
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _reset_process_state()
    yield env
    # Every key of this test, Celery's included, carries its prefix (worker/service/app.py).
    for key in client.scan_iter(f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()
    _reset_process_state()


def _reset_process_state() -> None:
    """Forget cached settings/clients so this process follows the new environment."""
    from worker.service import settings as ss

    ss.service_settings.cache_clear()
    from worker.service import app as celery_app
    from worker.service import resources

    cfg = ss.service_settings()
    celery_app._load_plugins()
    app = celery_app.get_app()
    app.conf.broker_url = cfg.broker
    app.conf.result_backend = cfg.backend
    app.conf.broker_transport_options = celery_app.broker_options(cfg)
    app.conf.result_backend_transport_options = celery_app.backend_options(cfg)
    # The result backend is cached (Celery 5.5+: `_backend_cache`, or per thread in `_local` when the
    # backend is not thread safe; older: a cached property): drop every copy so it is rebuilt from
    # the new result_backend. A stale one keeps reconnecting to a Redis an earlier test stopped.
    app.__dict__.pop("backend", None)
    if getattr(app, "_backend_cache", None) is not None:
        app._backend_cache = None
    if getattr(app, "_local", None) is not None and hasattr(app._local, "backend"):
        del app._local.backend
    # kombu keeps producer pools in a process-wide registry keyed by broker URL; a pool closed
    # here would be handed out again for the same URL, so reset the registry with the app's pool.
    import kombu.pools

    kombu.pools.reset()
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    resources.reset()


class WorkerProcs:
    """Start/stop real `celery -A worker.celery_app worker` processes, supervised as compose runs them.

    A worker that exits on its own is started again (compose: `restart: unless-stopped`). That is
    not cosmetic: with kombu 5.7 a worker whose Redis restarts while a task's ack is pending dies
    with "Unrecoverable error: AttributeError" (the ack runs on a connection already torn down), and
    production relies on the restart policy for it; the pass must still finish exactly once. A
    worker the test kills or stops is not restarted. `restarts` names every restart done."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.restarts: list[str] = []
        self._supervised: dict[str, tuple[subprocess.Popen[bytes], int, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
        self._watcher.start()

    def start(
        self, name: str | None = None, concurrency: int = 2, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        name = name or f"w{len(self.procs)}"
        with self._lock:
            proc = self._spawn(name, concurrency, extra_env or {})
            self._supervised[name] = (proc, concurrency, extra_env or {})
        return proc

    def _spawn(self, name: str, concurrency: int, extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.logdir / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0
        proc = subprocess.Popen(
            [
                CELERY,
                "-A",
                "worker.celery_app",
                "worker",
                "-P",
                "threads",
                "-c",
                str(concurrency),
                "-Q",
                "oppworker.crm,oppworker.score",
                "-n",
                f"{name}@%h",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**self.env, **extra_env},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if b"ready." in log.read_bytes()[offset:]:
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker {name} not ready: {log.read_text()[-2000:]}")

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                for name, (proc, concurrency, extra_env) in list(self._supervised.items()):
                    if proc.poll() is None or self._stopping.is_set():
                        continue
                    self.restarts.append(f"{name} (exit code {proc.returncode})")
                    try:
                        self._supervised[name] = (
                            self._spawn(name, concurrency, extra_env),
                            concurrency,
                            extra_env,
                        )
                    except RuntimeError:
                        pass  # tried again on the next round, as a restart policy would

    def _unsupervise(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            for name, (held, _, _) in list(self._supervised.items()):
                if held is proc:
                    del self._supervised[name]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        self._unsupervise(proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        self._stopping.set()
        with self._lock:
            self._supervised.clear()
        self._watcher.join(5)
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def logs(self) -> str:
        """The tail of every worker's log (for failure messages)."""
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logdir.glob("*.log")))

    def text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("*.log")))


@pytest.fixture
def workers(service_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcs]:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    procs = WorkerProcs(service_env, logdir)
    yield procs
    procs.stop_all()


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, logs: Callable[[], str] = lambda: ""
) -> object:
    """Poll until `predicate()` is truthy; fail naming `what` (a bound on waiting, not a speed check)."""
    try:
        return wait(predicate, timeout, what)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{logs()}")
