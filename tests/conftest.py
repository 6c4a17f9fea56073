"""Shared fixtures: real services when the environment names them, or when they run locally.

`DATABASE_URL` (a PostgreSQL URL) and `REDIS_URL` point tests at real services. When one is unset
and the service answers on its default local port (Redis on 127.0.0.1:6379, PostgreSQL on
127.0.0.1:5432 as user `postgres` without a password), it is used, so the README's plain `pytest`
runs the service tests too on a machine that has them (docs/getting-started.md says how to start
them). Otherwise tests that need them skip and say why; with `OPPWORKER_REQUIRE_SERVICES=1` (as
`.ci/run` sets) a missing service is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except Exception:
        return False


def _postgres_answers(url: str) -> bool:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        target = make_url(url)
        with psycopg.connect(
            host=target.host,
            port=target.port,
            user=target.username,
            dbname=target.database,
            connect_timeout=1,
        ):
            return True
    except Exception:
        return False


def _detect_local_services() -> None:
    """Fill REDIS_URL / DATABASE_URL from services on their default local ports, if they answer.
    Done at import, before any test module or fixture reads the environment."""
    if not os.environ.get("REDIS_URL") and _redis_answers(LOCAL_REDIS):
        os.environ["REDIS_URL"] = LOCAL_REDIS
    if not os.environ.get("DATABASE_URL") and _postgres_answers(LOCAL_POSTGRES):
        os.environ["DATABASE_URL"] = LOCAL_POSTGRES


_detect_local_services()


def _require(name: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    message = f"{name} is not set: this test needs the real service (docs/getting-started.md, 'Tests')"
    if os.environ.get("OPPWORKER_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database on the server DATABASE_URL names, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(_require("DATABASE_URL"))
    name = f"ow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    return _require("REDIS_URL")
