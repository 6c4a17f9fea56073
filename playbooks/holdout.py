"""Control groups: which eligible accounts a playbook deliberately leaves alone.

A playbook with `holdout: 0.1` keeps about 10% of the accounts it would fire on as a control group:
no deal, no task, only a ledger record that it "would have fired". Comparing how often control
accounts expand on their own with how often treated accounts convert is the only honest measure of
what a playbook adds. The assignment is a pure function of (account, playbook), so an account stays
in the same group on every pass, on every machine, without storing anything; and different
playbooks draw independent groups, so one account is not a control for every playbook at once.
"""

from __future__ import annotations

import hashlib

HOLDOUT = "holdout"  # the assessment status of a control account (see playbooks.assess)

_SCALE = float(1 << 64)


def holdout_bucket(account_id: str, playbook_id: str) -> float:
    """A uniform number in [0, 1) fixed for this (account, playbook) pair.

    SHA-256, not Python's `hash()`: the built-in is salted per process, which would move accounts
    between groups from one pass to the next.
    """
    digest = hashlib.sha256(f"{playbook_id}\x1f{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_control_group(account_id: str, playbook_id: str, share: float) -> bool:
    """True when this account is in the playbook's control group for a holdout `share` (0 <= share < 1)."""
    return share > 0 and holdout_bucket(account_id, playbook_id) < share
