"""Settings that lift the per-owner caps of issue #15 (worker/pipeline/capacity.py).

Tests about what a pass finds and how it writes (named offers, exactly-once against a CRM
sandbox, holdouts, bad input) use them so every candidate is written, as before capacity
planning; capacity itself is tested with the default caps in tests/worker/test_capacity.py,
tests/e2e/test_sample_capacity.py and tests/worker/test_pass_graph.py.

The sample has accounts without a (known) owner; before #15 their tasks went out with
`owner_id: null`. Here they go to the fallback owner 70001, the sample's first owner (seeded into
every CRM sandbox from owners.csv), so these tests still see every candidate written.

They also keep a task per offer (`one_task_per_account: False`): their checks are "each deal has
its own task". One task per account (item 2) is tested with the default in
tests/worker/test_shared_task.py, tests/e2e/test_sample_conversation.py, the contract suite's
killed-pass test (every connector), tests/worker/test_pass_graph.py and test_crm_sandbox_pass.py."""

UNCAPPED = {
    "tasks_per_owner_per_week": None,
    "open_tasks_per_owner": None,
    "fallback_owner_id": "70001",
    "one_task_per_account": False,
}
