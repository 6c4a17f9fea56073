"""A SHA-256 over everything assessing N generated accounts produces, first pass and steady state.

    python -m bench.score_checksum --n 3000

Run it before and after a change to the scoring internals (same N and seed): the digests must be
equal. Hashed per account: stage and its reason, every signal, the unusable signals, and per
playbook its status, detail, reason, score, observed values, points, explanation, and the full
opportunity and task when one is built. Prints the digest and counts; times nothing (see
bench/score.py for speed).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.files.sample import AS_OF, iter_accounts
from domain import Account, ExistingOpportunity, OpportunityStatus
from playbooks.affinity import AffinityModel
from playbooks.assess import NEW, Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import load_catalog, load_playbooks


def fingerprint(result: Any) -> str:
    """One account's assessment as text, every field a reader or a writer could see."""
    parts = [
        result.account.id,
        result.stage.value,
        result.stage_reason,
        repr(sorted(result.signals.items())),
        repr(sorted(result.unusable_signals.items())),
    ]
    for o in result.outcomes:
        s = o.score
        parts += [
            o.playbook.id,
            o.status,
            repr(o.detail),
            repr(o.reason),
            repr(o.note),
            repr(s.qualifies),
            repr(s.score),
            repr(s.observed),
            repr(s.gained),
            repr(s.missing_required),
            repr(s.contributions()),
        ]
        if o.opportunity is not None:
            parts.append(repr(o.opportunity))
        if o.task is not None:
            parts.append(repr(o.task))
    return "\x1f".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    playbooks = load_playbooks([])
    baskets = (
        frozenset(a["products"].split(";")) for _, a, _ in iter_accounts(5000, args.seed + 1, showcase=False)
    )
    assessor = Assessor(playbooks, load_catalog(), AffinityModel.from_baskets(baskets))
    digest = hashlib.sha256()
    accounts = built = 0
    for _, row, usage in iter_accounts(args.n, args.seed, showcase=False):
        account = Account.model_validate(row)
        first = assessor.assess(account, usage, AccountHistory(), AS_OF)
        digest.update(fingerprint(first).encode())
        offers = [o.opportunity for o in first.outcomes if o.status == NEW and o.opportunity is not None]
        history = AccountHistory(
            [
                ExistingOpportunity(
                    key=o.key,
                    account_id=o.account_id,
                    playbook=o.playbook,
                    offer=o.offer,
                    status=OpportunityStatus.OPEN,
                    created_at=AS_OF - timedelta(days=40),
                )
                for o in offers
            ]
        )
        steady = assessor.assess(account, usage, history, AS_OF, last_run_at=AS_OF - timedelta(days=7))
        digest.update(fingerprint(steady).encode())
        accounts += 1
        built += len(offers)
    print(f"{accounts:,} accounts, {built:,} offers built on the first pass; sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
