"""Shared fixtures: real services when the environment names them.

`DATABASE_URL` (a PostgreSQL URL) and `REDIS_URL` point tests at real services. Without them, tests
that need them skip and say why; with `OPPWORKER_REQUIRE_SERVICES=1` (as `.ci/run` sets) a missing
service is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def _require(name: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    message = f"{name} is not set: this test needs the real service (see README, 'Tests')"
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
