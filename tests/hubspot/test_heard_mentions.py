"""What customers said is kept in the ledger (`ow_heard_mentions`), so an incremental pass reads only
new conversations and still hears the older ones: a churn email heard on the first pass keeps
blocking offers on the next, though the next pass does not read it again."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain import Conversation
from playbooks.intent_signals import HeardIntent, Listener
from playbooks.intents import build_detector
from playbooks.loader import load_catalog
from tests.hubspot.conftest import connector_for, install
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings
from worker.store.ledger import Ledger
from worker.store.mentions import StoredMention

DAY_MS = 86_400_000


def mention(
    account: str, conversation: str, intent: str, said: date, evidence: str = "we need more seats"
) -> StoredMention:
    return StoredMention(account, conversation, intent, evidence, "en", 0.9, said, "note", None)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_mentions_are_remembered_refreshed_recalled_by_account_and_forgotten(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'ledger.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = Ledger(url).mentions
    assert not store.any("hubspot")
    store.remember(
        "hubspot",
        [
            mention("a", "note:1", "more_seats", date(2026, 10, 1)),
            mention("a", "note:2", "churn_risk", date(2026, 5, 1), "looking at DeepL"),
            mention("b", "note:3", "more_seats", date(2026, 10, 2)),
        ],
    )
    store.remember(
        "hubspot", [mention("a", "note:1", "more_seats", date(2026, 10, 1), "edited: 20 more seats")]
    )
    store.remember("files", [mention("a", "note:9", "more_seats", date(2026, 10, 1))])
    recalled = store.recall("hubspot", ["a", "c"], since=date(2026, 6, 1))
    assert recalled == {
        "a": [mention("a", "note:1", "more_seats", date(2026, 10, 1), "edited: 20 more seats")]
    }
    assert store.any("hubspot") and store.forget_before("hubspot", date(2026, 6, 1)) == 1


def test_known_mentions_merge_with_new_conversations_and_a_reread_one_replaces_them() -> None:
    listener = Listener(build_detector(load_catalog(None)))
    today = date(2026, 11, 2)
    known = [
        HeardIntent("churn_risk", "we are testing DeepL", 0.9, date(2026, 10, 1), "email", "email:1", "en"),
        HeardIntent("more_seats", "old text", 0.9, date(2026, 10, 5), "note", "note:2", "en"),
        HeardIntent("more_seats", "too old", 0.9, date(2026, 1, 5), "note", "note:3", "en"),
    ]
    reread = Conversation("note:2", "a", datetime(2026, 10, 5, tzinfo=UTC), "note", "Lovely weather today.")
    heard = listener.hear([reread], today, known)
    assert [(m.conversation_id, m.intent) for m in heard.mentions] == [("email:1", "churn_risk")]


def test_a_churn_email_heard_once_keeps_blocking_on_incremental_passes_that_do_not_reread_it(
    sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    install(sandbox)
    two_days_ago = int(time.time() * 1000) - 2 * DAY_MS
    ids = seed_sample(sandbox, 40, modified_ms=two_days_ago)
    churn = ids[18]  # the sample's acc-0019: qualifies on numbers, protected by its words
    email = sandbox.add_record(
        "emails",
        {
            "hs_timestamp": "2026-10-28T03:00:00Z",
            "hs_email_subject": "Verlängerung",
            "hs_email_text": "Hallo, ehrlich gesagt sind wir mit den Ladezeiten unzufrieden "
            "und testen gerade DeepL als Alternative.",
        },
        modified_ms=two_days_ago,
    )
    sandbox.associate("emails", email, churn, 186)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out")
    now = sample_as_of()

    first = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=now)
    assert first.suppressed["churn_risk"] >= 1 and not [
        d for d in sandbox.records("deals") if d["properties"]["oppworker_key"].startswith(f"{churn}:")
    ]
    stored = Ledger(settings.ledger_url).mentions.recall("hubspot", [churn], since=date(2026, 5, 1))
    assert [(m.conversation_id, m.intent, m.language) for m in stored[churn]] == [
        (f"email:{email}", "churn_risk", "de")
    ]

    searches: list[dict] = []
    sandbox.server.before.insert(
        0, lambda r: searches.append(r.json()) if r.path.endswith("emails/search") else None
    )
    sandbox.touch("companies", churn, name="Renamed GmbH")  # changed, so the incremental pass scores it
    second = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=now + timedelta(hours=1))

    assert second.mode == "incremental" and second.accounts_read == 1
    since_ms = {
        int(f["value"])
        for body in searches
        for group in body["filterGroups"]
        for f in group["filters"]
        if f["propertyName"] != "hs_object_id"
    }
    assert since_ms and min(since_ms) > two_days_ago, "the second pass asks only for what is new"
    assert second.suppressed["churn_risk"] >= 1, "the stored mention still blocks"
    assert not [
        d for d in sandbox.records("deals") if d["properties"]["oppworker_key"].startswith(f"{churn}:")
    ]
