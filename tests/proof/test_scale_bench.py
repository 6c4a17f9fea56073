"""bench/scale.py at a small size: the generated accounts go through the real task graph (two
worker processes, the shared Redis and PostgreSQL) and every account is scored once, every new
opportunity recorded and written once, with each worker's memory sampled. The 1,000,000-account
run and its numbers are in bench/README.md; this keeps the bench itself from rotting."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_generated_accounts_go_through_the_task_graph_with_two_workers(
    redis_url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import scale

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    (result,) = scale.run(3000, [2], redis_db=5, log=lambda _: None)
    assert result["accounts"] == 3000
    assert result["new"] > 1000 and result["deals"] == result["new"]
    assert 0 < result["scoring_s"] <= result["pass_s"]
    assert len(result["peaks"]) == 2 and all(mb > 0 for mb in result["peaks"])
    assert set(result["marks"]) == set(scale.MARKS)
