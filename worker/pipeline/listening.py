"""Feeding conversations to the assessor: which connector can read them, and from when.

A full pass reads, for each chunk of accounts, their conversations of the listening window (a
request for seats heard three weeks ago still counts today, and `intent.*` signals carry its age).
Every pass stores what it heard in the ledger (`heard_mentions`), so an incremental pass reads only
the conversations since the last pass started (`heard_since`, worker/pipeline/revisits.py) and
merges them with the stored mentions of the window. Until a CRM has stored mentions (its first
pass with listening), incremental passes read the whole window too. Connectors without the
capability are simply not listened to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from connectors.capabilities import ReadsConversations
from domain import Conversation
from playbooks.intent_signals import HeardIntent, Listener
from playbooks.intents import build_detector
from worker.store.mentions import StoredMention

ConversationReader = Callable[[list[str]], dict[str, list[Conversation]]]


def build_listener(catalog: Any) -> Listener:
    """One detector per pass, over the built-in lexicons and the catalog's plan/product names."""
    return Listener(build_detector(catalog))


def conversation_reader(
    connector: object, listener: Listener | None, now: datetime, heard_since: datetime | None = None
) -> ConversationReader | None:
    """account ids -> their conversations in the window (or since `heard_since` when later), or
    None when nothing can be heard."""
    if listener is None or not isinstance(connector, ReadsConversations):
        return None
    read = connector.read_conversations
    since = listener.since(now)
    if heard_since is not None and heard_since > since:
        since = heard_since

    def for_accounts(account_ids: list[str]) -> dict[str, list[Conversation]]:
        found: dict[str, list[Conversation]] = defaultdict(list)
        for conversation in read(account_ids, since):
            found[conversation.account_id].append(conversation)
        return found

    return for_accounts


def to_stash(by_account: dict[str, list[Conversation]]) -> list[dict[str, str]]:
    """A chunk's conversations as JSON for the Redis stash between the reader and the scorers."""
    return [
        {
            "id": c.id,
            "account_id": c.account_id,
            "created_at": c.created_at.isoformat(),
            "source": c.source,
            "text": c.text,
        }
        for conversations in by_account.values()
        for c in conversations
    ]


def from_stash(items: list[dict[str, str]]) -> ConversationReader:
    """The stashed conversations of one chunk, served as the reader a scorer's PassContext takes."""
    found: dict[str, list[Conversation]] = defaultdict(list)
    for item in items:
        found[item["account_id"]].append(
            Conversation(
                id=item["id"],
                account_id=item["account_id"],
                created_at=datetime.fromisoformat(item["created_at"]),
                source=item["source"],  # type: ignore[arg-type]  # written by to_stash from a Conversation
                text=item["text"],
            )
        )
    return lambda account_ids: found


def to_stored(account_id: str, mentions: Iterable[HeardIntent]) -> list[StoredMention]:
    return [
        StoredMention(
            account_id,
            m.conversation_id,
            m.intent,
            m.evidence,
            m.language,
            m.confidence,
            m.said_on,
            m.source,
            m.product,
        )
        for m in mentions
    ]


def from_stored(rows: Iterable[StoredMention]) -> list[HeardIntent]:
    return [
        HeardIntent(
            r.intent, r.evidence, r.confidence, r.said_at, r.source, r.conversation_id, r.language, r.product
        )
        for r in rows
    ]
