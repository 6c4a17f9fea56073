"""The shared vocabulary of opportunity-worker.

This package imports nothing else of ours, so `connectors` and `playbooks` can both depend on it
without depending on each other. Everything that crosses a package boundary is one of these types.
"""

from domain.account import Account, Owner, Purchase, UsagePoint
from domain.conversation import Conversation, ConversationSource
from domain.errors import ConnectorError, FailureKind, RetryBudgetExhausted
from domain.explanation import Contribution
from domain.journey import JourneyStage
from domain.opportunity import (
    ExistingOpportunity,
    FollowUpTask,
    Opportunity,
    OpportunityKind,
    OpportunityStatus,
    WriteResult,
)
from domain.usage import Series

__all__ = [
    "Account",
    "ConnectorError",
    "Contribution",
    "Conversation",
    "ConversationSource",
    "ExistingOpportunity",
    "FailureKind",
    "FollowUpTask",
    "JourneyStage",
    "Opportunity",
    "OpportunityKind",
    "OpportunityStatus",
    "Owner",
    "Purchase",
    "RetryBudgetExhausted",
    "Series",
    "UsagePoint",
    "WriteResult",
]
