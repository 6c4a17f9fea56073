"""What an account already has from us: the CRM's view of our deals, completed by the ledger's.

The CRM is the truth for status (a CSM closes deals there); the ledger adds keys the CRM listing
does not show yet (written this pass, or a search index lagging behind a write). Grouped by account,
because guardrails ask per account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain import ExistingOpportunity, OpportunityStatus
from playbooks.guardrails import AccountHistory


def build_history(
    from_crm: Iterable[ExistingOpportunity], from_ledger: Iterable[dict[str, Any]]
) -> dict[str, AccountHistory]:
    by_key: dict[str, ExistingOpportunity] = {o.key: o for o in from_crm}
    for row in from_ledger:
        known = by_key.get(row["key"])
        if known is not None and known.created_at is None:
            # The CRM listing may not carry creation times (the file outbox does not); the ledger does,
            # and the offer cap counts by them.
            by_key[row["key"]] = known.model_copy(update={"created_at": row["created_at"]})
        if known is None:
            by_key[row["key"]] = ExistingOpportunity(
                key=row["key"],
                account_id=row["account_id"],
                playbook=row["playbook"],
                offer=row["offer"],
                status=OpportunityStatus.OPEN,
                created_at=row["created_at"],
                crm_id=row["deal_id"],
            )
    histories: dict[str, AccountHistory] = {}
    for opportunity in by_key.values():
        histories.setdefault(opportunity.account_id, AccountHistory()).opportunities.append(opportunity)
    return histories
