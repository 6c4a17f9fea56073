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

from connectors.capabilities import ReadsConversations
from domain import Conversation
from playbooks.intent_signals import Listener
from playbooks.intents import build_detector

ConversationReader = Callable[[list[str]], dict[str, list[Conversation]]]


def build_listener(catalog: Any) -> Listener:
    """One detector per pass, over the built-in lexicons and the catalog's plan/product names."""
    return Listener(build_detector(catalog))


def conversation_reader(connector: object, listener: Listener | None, now: datetime) -> ConversationReader | None:
    """account ids -> their conversations in the window, or None when nothing can be heard."""
    if listener is None or not isinstance(connector, ReadsConversations):
        return None
    read = connector.read_conversations
    since = listener.since(now)

    def for_accounts(account_ids: list[str]) -> dict[str, list[Conversation]]:
        found: dict[str, list[Conversation]] = defaultdict(list)
        for conversation in read(account_ids, since):
            found[conversation.account_id].append(conversation)
        return found

    return for_accounts


def to_stash(by_account: dict[str, list[Conversation]]) -> list[dict[str, str]]:
    """A chunk's conversations as JSON for the Redis stash between the reader and the scorers."""
    return [
        {"id": c.id, "account_id": c.account_id, "created_at": c.created_at.isoformat(), "source": c.source, "text": c.text}
        for conversations in by_account.values()
        for c in conversations
    ]


def from_stash(items: list[dict[str, str]]) -> ConversationReader:
    """The stashed conversations of one chunk, served as the reader a scorer's PassContext takes."""
    found: dict[str, list[Conversation]] = defaultdict(list)
    for item in items:
        found[item["account_id"]].append(
            Conversation(id=item["id"], account_id=item["account_id"], created_at=datetime.fromisoformat(item["created_at"]),
                         source=item["source"], text=item["text"])  # type: ignore[arg-type]
        )
    return lambda account_ids: found
