"""The `harness` fixture: every contract test runs once per registered connector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.harnesses import HARNESSES, Harness


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    built = HARNESSES[request.param](tmp_path)
    built.start()
    try:
        yield built
    finally:
        built.stop()
