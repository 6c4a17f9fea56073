"""Settings that lift the per-owner caps of issue #15 (worker/pipeline/capacity.py).

Tests about what a pass finds and how it writes (named offers, exactly-once against a CRM
sandbox, holdouts, bad input) use them so every candidate is written, as before capacity
planning; capacity itself is tested with the default caps in tests/worker/test_capacity.py,
tests/e2e/test_sample_capacity.py and tests/worker/test_pass_graph.py."""

UNCAPPED = {"tasks_per_owner_per_week": None, "open_tasks_per_owner": None}
# The file sample has one account without an owner; before #15 its task went out with
# `owner_id: null`. Here it goes to a named queue, so these tests still see every candidate written.
UNCAPPED_QUEUED = {**UNCAPPED, "fallback_owner_id": "unassigned-queue"}
