"""HubSpot notes, emails and calls on companies become conversations (issue #13): found by a search
on hs_timestamp per engagement type, tied to companies by association batch reads, HTML stripped;
and in a whole pass, what a company said makes an offer fire or blocks one."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.capabilities import ListsAccountsHeardSince, ReadsConversations
from connectors.hubspot.conversations import strip_html
from domain import Conversation
from tests.hubspot.conftest import connector_for, install
from tests.hubspot.seed import sample_as_of, seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from worker.pipeline.run import run_pass
from worker.pipeline.settings import Settings

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
COMPANY_TYPE_ID = {"notes": 190, "emails": 186, "calls": 182}  # engagement -> company, HUBSPOT_DEFINED


def log_engagement(
    box: HubSpotSandbox,
    object_type: str,
    company_ids: list[str],
    logged_ms: int | None = None,
    **properties: str,
) -> str:
    """An engagement on companies, logged (hs_lastmodifieddate) when it happened unless told."""
    if logged_ms is None:
        logged_ms = int(
            datetime.fromisoformat(properties["hs_timestamp"].replace("Z", "+00:00")).timestamp() * 1000
        )
    engagement_id = box.add_record(object_type, properties, modified_ms=logged_ms)
    for company_id in company_ids:
        box.associate(object_type, engagement_id, company_id, COMPANY_TYPE_ID[object_type])
    return engagement_id


def seed(box: HubSpotSandbox) -> dict[str, str]:
    acme = box.add_record("companies", {"name": "Acme GmbH"})
    other = box.add_record("companies", {"name": "Other BV"})
    ids = {"acme": acme, "other": other}
    ids["note"] = log_engagement(
        box,
        "notes",
        [acme],
        hs_timestamp="2026-10-20T09:00:00Z",
        hs_note_body="<div><p>Sie brauchen f&uuml;nf weitere <b>Lizenzen</b>.</p></div>",
    )
    ids["old_note"] = log_engagement(
        box,
        "notes",
        [acme],
        hs_timestamp="2026-06-01T09:00:00Z",
        hs_note_body="<p>Old note from the summer.</p>",
    )
    ids["email"] = log_engagement(
        box,
        "emails",
        [other],
        hs_timestamp="2026-10-25T09:00:00.000Z",
        hs_email_subject="Renewal",
        hs_email_html="<html><body><p>We are evaluating "
        "Lokalise.</p><style>p {color: red}</style></body></html>",
    )
    ids["call"] = log_engagement(
        box,
        "calls",
        [acme, other],
        hs_timestamp="2026-10-22T15:00:00Z",
        hs_call_title="QBR",
        hs_call_body="Asked what the Business plan includes.",
    )
    ids["orphan"] = log_engagement(
        box, "notes", [], hs_timestamp="2026-10-23T15:00:00Z", hs_note_body="A note on no company."
    )
    ids["empty"] = log_engagement(
        box, "notes", [acme], hs_timestamp="2026-10-24T15:00:00Z", hs_note_body="<p> </p>"
    )
    return ids


def test_the_connector_offers_conversations_and_who_was_heard(sandbox: HubSpotSandbox) -> None:
    connector = connector_for(sandbox)
    assert isinstance(connector, ReadsConversations) and isinstance(connector, ListsAccountsHeardSince)


def test_notes_emails_and_calls_on_the_companies_since_a_moment(sandbox: HubSpotSandbox) -> None:
    ids = seed(sandbox)
    found = list(connector_for(sandbox).read_conversations([ids["acme"], ids["other"]], SINCE))
    by_key = {(c.id, c.account_id): c for c in found}
    assert set(by_key) == {
        (f"note:{ids['note']}", ids["acme"]),
        (f"call:{ids['call']}", ids["acme"]),
        (f"call:{ids['call']}", ids["other"]),  # a call on two companies is heard on both
        (f"email:{ids['email']}", ids["other"]),
    }
    assert by_key[(f"note:{ids['note']}", ids["acme"])] == Conversation(
        id=f"note:{ids['note']}",
        account_id=ids["acme"],
        source="note",
        created_at=datetime(2026, 10, 20, 9, tzinfo=UTC),
        text="Sie brauchen fünf weitere Lizenzen.",
    )
    assert by_key[(f"email:{ids['email']}", ids["other"])].text == "Renewal\nWe are evaluating Lokalise."
    assert by_key[(f"call:{ids['call']}", ids["other"])].text == "QBR\nAsked what the Business plan includes."


def test_only_the_asked_accounts_and_everything_without_since(sandbox: HubSpotSandbox) -> None:
    ids = seed(sandbox)
    connector = connector_for(sandbox)
    texts = {c.text for c in connector.read_conversations([ids["acme"]], None)}
    assert texts == {
        "Sie brauchen fünf weitere Lizenzen.",
        "Old note from the summer.",
        "QBR\nAsked what the Business plan includes.",
    }
    assert connector.accounts_heard_since(SINCE) == sorted([ids["acme"], ids["other"]])
    assert connector.accounts_heard_since(datetime(2026, 10, 24, tzinfo=UTC)) == [ids["other"]]


def test_a_backdated_engagement_logged_since_the_moment_is_heard(sandbox: HubSpotSandbox) -> None:
    ids = seed(sandbox)
    now_ms = sandbox.clock_ms()
    backdated = log_engagement(
        sandbox,
        "calls",
        [ids["other"]],
        logged_ms=now_ms,
        hs_timestamp="2026-09-02T10:00:00Z",
        hs_call_title="Call last month",
        hs_call_body="They want twenty more seats.",
    )
    connector = connector_for(sandbox)
    just_now = datetime.fromtimestamp(now_ms / 1000 - 60, tz=UTC)
    # who was heard goes by when it was logged (hs_lastmodifieddate), not by hs_timestamp
    assert connector.accounts_heard_since(just_now) == [ids["other"]]
    found = list(connector.read_conversations([ids["other"]], just_now))
    assert [(c.id, c.created_at) for c in found] == [
        (f"call:{backdated}", datetime(2026, 9, 2, 10, tzinfo=UTC))
    ]


@pytest.mark.parametrize("api_version", ["2026-03", "v3"])
def test_one_scan_per_pass_on_search_and_association_batches_outside_the_burst_budget(
    sandbox: HubSpotSandbox, api_version: str
) -> None:
    ids = seed(sandbox)
    connector = connector_for(sandbox, api_version=api_version)
    counted_before = sandbox.burst_counted
    list(connector.read_conversations([ids["acme"]], SINCE))
    list(connector.read_conversations([ids["other"]], SINCE))  # a second chunk: no new call
    paths = [path for method, path in sandbox.server.requests if method == "POST"]
    objects = "/crm/objects/2026-03" if api_version == "2026-03" else "/crm/v3/objects"
    associations = "/crm/associations/2026-03" if api_version == "2026-03" else "/crm/v4/associations"
    assert paths == [
        f"{objects}/notes/search",
        f"{associations}/notes/companies/batch/read",
        f"{objects}/emails/search",
        f"{associations}/emails/companies/batch/read",
        f"{objects}/calls/search",
        f"{associations}/calls/companies/batch/read",
    ]
    assert sandbox.burst_counted == counted_before, "search and association batches are exempt"


def test_search_asks_for_hs_timestamp_since_and_the_text_properties(sandbox: HubSpotSandbox) -> None:
    seed(sandbox)
    bodies: list[dict] = []
    sandbox.server.before.insert(0, lambda r: bodies.append(r.json()) if r.path.endswith("/search") else None)
    list(connector_for(sandbox).read_conversations(["1"], SINCE))
    since_ms = str(int(SINCE.timestamp() * 1000))
    assert [b["filterGroups"] for b in bodies] == [
        [  # happened since, or logged since (backdated)
            {"filters": [{"propertyName": "hs_timestamp", "operator": "GTE", "value": since_ms}]},
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since_ms}]},
        ]
    ] * 3
    assert [b["properties"] for b in bodies] == [
        ["hs_timestamp", "hs_note_body"],
        ["hs_timestamp", "hs_email_subject", "hs_email_text", "hs_email_html"],
        ["hs_timestamp", "hs_call_title", "hs_call_body"],
    ]
    assert all(b["limit"] <= 200 for b in bodies)


def test_reading_engagements_needs_the_contacts_read_scope(sandbox: HubSpotSandbox) -> None:
    sandbox.scopes = sandbox.scopes - {"crm.objects.contacts.read"}
    seed(sandbox)
    from domain import ConnectorError

    with pytest.raises(ConnectorError) as failure:
        list(connector_for(sandbox).read_conversations(["1"], SINCE))
    assert "crm.objects.contacts.read" in str(failure.value)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            "<p>Hello&nbsp;team,</p><p>we need <i>10</i> more seats.</p>",
            "Hello\xa0team,\nwe need 10 more seats.",
        ),
        ("plain text stays", "plain text stays"),
        ("<script>alert(1)</script>Tom &amp; Jerry<br>next line", "Tom & Jerry\nnext line"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
    ],
)
def test_html_is_stripped_to_lines_of_text(html: str, text: str) -> None:
    assert strip_html(html) == text


def test_a_pass_offers_because_of_a_note_and_holds_back_because_of_a_churn_email(
    sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    install(sandbox)
    ids = seed_sample(sandbox, 60, modified_ms=int(time.time() * 1000) - 86_400_000)
    upgrade, churn = ids[13], ids[18]  # the sample's acc-0014 and acc-0019
    log_engagement(
        sandbox,
        "calls",
        [upgrade],
        hs_timestamp="2026-10-21T03:00:00Z",
        hs_call_title="Jaarplanning",
        hs_call_body="<p>Gesprek met Sanne over de jaarplanning. Ze vroeg wat het Business-abonnement "
        "extra biedt, want ze willen meer talen en hogere limieten.</p>",
    )
    log_engagement(
        sandbox,
        "emails",
        [churn],
        hs_timestamp="2026-10-28T03:00:00Z",
        hs_email_subject="Verlängerung",
        hs_email_text="Hallo, ehrlich gesagt sind wir mit den Ladezeiten unzufrieden und testen gerade "
        "DeepL als Alternative. Bitte melden Sie sich vor der Verlängerung.",
    )
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", output_dir=tmp_path / "out")

    report = run_pass(settings, crm="hubspot", connector=connector_for(sandbox), now=sample_as_of())

    deals = {d["properties"]["oppworker_key"]: d for d in sandbox.records("deals")}
    upgrade_keys = [k for k in deals if k.startswith(f"{upgrade}:") and "plan_upgrade" in k]
    assert upgrade_keys, "the question about the Business plan made the upgrade offer fire"
    assert not [k for k in deals if k.startswith(f"{churn}:")], "the churn email blocked every offer"
    assert report.suppressed["churn_risk"] >= 1
    bodies = [t["properties"].get("hs_task_body") or "" for t in sandbox.records("tasks")]
    assert any(
        "Ze vroeg wat het Business-abonnement extra biedt" in b and "2026-10-21, call" in b for b in bodies
    )
