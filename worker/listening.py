"""Feeding conversations to the assessor: which connector can read them, and from when.

A pass reads, for each chunk of accounts, their conversations of the listening window (not only
those since the last pass: a request for seats heard three weeks ago still counts today, and
`intent.*` signals carry its age). Connectors without the capability are simply not listened to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import Conversation
from playbooks.intent_signals import Listener
from playbooks.intents import build_detector

ConversationReader = Callable[[list[str]], dict[str, list[Conversation]]]


def build_listener(catalog: Any) -> Listener:
    """One detector per pass, over the built-in lexicons and the catalog's plan/product names."""
    return Listener(build_detector(catalog))


def conversation_reader(connector: Any, listener: Listener | None, now: datetime) -> ConversationReader | None:
    """account ids -> their conversations in the window, or None when nothing can be heard."""
    read = getattr(connector, "read_conversations", None)
    if listener is None or not callable(read):
        return None
    since = listener.since(now)

    def for_accounts(account_ids: list[str]) -> dict[str, list[Conversation]]:
        found: dict[str, list[Conversation]] = defaultdict(list)
        for conversation in read(account_ids, since):
            found[conversation.account_id].append(conversation)
        return found

    return for_accounts
