"""Heard mentions in the ledger: the intents detected in an account's conversations, kept so an
incremental pass reads only conversations logged since the last pass and merges them with what it
heard before (worker/pipeline/listening.py). Rows are plain values; converting them to and from
`playbooks.intent_signals.HeardIntent` is the pipeline's job."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from worker.store.probes import select_each
from worker.store.schema import heard_mentions, replace_rows

QUERY_IDS = 500  # account ids per query (SQLite's IN list)


@dataclass(frozen=True, slots=True)
class StoredMention:
    account_id: str
    conversation_id: str
    intent: str
    evidence: str
    language: str
    confidence: float
    said_at: date
    source: str
    product: str | None = None


class MentionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def remember(self, crm: str, mentions: Iterable[StoredMention]) -> None:
        """Insert or refresh (same account, conversation and intent: the latest detection wins,
        so an edited note or a changed lexicon updates the evidence)."""
        rows = {(m.account_id, m.conversation_id, m.intent): {"crm": crm, **asdict(m)} for m in mentions}
        replace_rows(self.engine, heard_mentions, list(rows.values()))

    def recall(self, crm: str, account_ids: Sequence[str], since: date) -> dict[str, list[StoredMention]]:
        """These accounts' mentions said on or after `since`, by account."""
        found: dict[str, list[StoredMention]] = defaultdict(list)
        ids = list(dict.fromkeys(account_ids))
        t = heard_mentions.c
        with self.engine.connect() as db:
            for start in range(0, len(ids), QUERY_IDS):
                rows = db.execute(  # by index probes, whatever the statistics: worker/store/probes.py
                    select_each(
                        self.engine.dialect,
                        t.account_id,
                        ids[start : start + QUERY_IDS],
                        heard_mentions.columns,
                        t.crm == crm,
                        t.said_at >= since,
                    )
                )
                for row in rows:
                    values = row._asdict()
                    values.pop("crm")
                    found[row.account_id].append(StoredMention(**values))
        return dict(found)

    def any(self, crm: str) -> bool:
        """Whether a pass of this CRM has ever stored what it heard (if not, an incremental pass
        reads the whole listening window once, as a full pass does)."""
        with self.engine.connect() as db:
            return (
                db.execute(select(heard_mentions.c.crm).where(heard_mentions.c.crm == crm).limit(1)).first()
                is not None
            )

    def forget_before(self, crm: str, before: date) -> int:
        """Drop mentions older than the listening window: they no longer count."""
        with self.engine.begin() as db:
            return db.execute(
                delete(heard_mentions).where(heard_mentions.c.crm == crm, heard_mentions.c.said_at < before)
            ).rowcount
