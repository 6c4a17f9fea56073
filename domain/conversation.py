"""A conversation with a customer (a CRM note, email or call), the raw material of text signals.

Only the shape is fixed here (issue #13 fills in readers and signals): connectors that can list
conversations implement `connectors.capabilities.ReadsConversations` and yield these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ConversationSource = Literal["note", "email", "call"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """One note, email or call logged against an account, as plain text."""

    id: str
    account_id: str
    created_at: datetime
    source: ConversationSource
    text: str
