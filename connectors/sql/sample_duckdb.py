"""Build `connectors/files/sample_data/usage.duckdb` from the bundled sample's usage.csv.

`python -m connectors.sql.sample_duckdb` rewrites it; the result is committed (small), so a newcomer
sees the SQL path work without a server:

    usage_sources: [{name: sample, url: "duckdb:///<sample_data>/usage.duckdb", usage_query: "SELECT * FROM usage WHERE period_start >= :since"}]

Deterministic: the rows go in sorted by account, metric and week (also the order the join's
per-chunk `IN (...)` filter reads best, since DuckDB skips row groups by key range).
"""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "files" / "sample_data"


def build(target: Path = SAMPLE / "usage.duckdb", usage_csv: Path = SAMPLE / "usage.csv") -> Path:
    import duckdb  # an optional extra: `pip install 'opportunity-worker[duckdb]'`

    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as db:
        db.execute(
            "CREATE TABLE usage AS SELECT account_id AS account_key, metric, "
            "CAST(period_start AS DATE) AS period_start, CAST(value AS DOUBLE) AS value "
            "FROM read_csv(?, header = true, all_varchar = true) ORDER BY 1, 2, 3",
            [str(usage_csv)],
        )
        db.execute("CHECKPOINT")
    return target


if __name__ == "__main__":
    path = build(*(Path(a) for a in sys.argv[1:]))
    print(f"{path}: {path.stat().st_size:,} bytes")
