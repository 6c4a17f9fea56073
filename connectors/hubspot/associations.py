"""The association type ids a deal and a task are created with. Apart from the mappings because
both deals and tasks use them and `bench/e2e.py` builds the same inputs.
"""

from __future__ import annotations

from typing import Any

# HUBSPOT_DEFINED association type ids (https://developers.hubspot.com/docs/api/crm/associations,
# "Association type ID values"); verified against GET /crm/v4/associations/{from}/{to}/labels.
DEAL_TO_COMPANY_PRIMARY = 5
TASK_TO_COMPANY = 192
TASK_TO_DEAL = 216


def association(to_id: str, type_id: int) -> dict[str, Any]:
    """One inline association of a batch create input (HUBSPOT_DEFINED category)."""
    return {
        "to": {"id": str(to_id)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
