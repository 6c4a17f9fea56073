"""The proof suites use the service fixtures of tests/worker (a private Redis db + key prefix, a
throwaway PostgreSQL database, real Celery worker processes)."""

from tests.worker.conftest import service_env, workers  # noqa: F401 - fixtures, re-exported for pytest
