"""Notes for the bundled sample: what customers told their CSMs, in the languages they speak.

Three showcases the tests and README rely on, written so that what the customer said decides:
- acc-0014 (Greenscript BV) asks, in Dutch, about the Business plan: the plan-upgrade playbook,
  a few points short on usage alone, fires because of it;
- acc-0058 (Quantumlingo Ltd) says, in Polish, the team is growing: seat expansion fires;
- acc-0019 (Solidleaf AB) writes, in German, that it is testing a competitor: every offer it would
  get is held back, and `oppworker explain` quotes the email;
- acc-0005 (Stark Technical Writing) asks about quality reports, the product similar customers
  bought: its complementary-product task quotes the question.
Every other note is the everyday rest of a CRM (small talk, support questions, needs declined or
deferred) in eight languages, so detection has to tell them apart. Same seed, same notes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

FIELDS = ["id", "account_id", "created_at", "source", "text"]

SHOWCASE_NOTES: list[tuple[str, int, str, str]] = [  # account, days before as_of, source, text
    (
        "acc-0014",
        12,
        "call",
        (
            "Gesprek met Sanne over de jaarplanning. Ze vroeg wat het Business-abonnement "
            "extra biedt, want ze willen meer talen en hogere limieten."
        ),
    ),
    (
        "acc-0058",
        8,
        "email",
        (
            "Dzień dobry, od stycznia nasz zespół rośnie o sześć osób i potrzebujemy "
            "dodatkowych licencji. Proszę o ofertę."
        ),
    ),
    (
        "acc-0019",
        5,
        "email",
        (
            "Hallo, ehrlich gesagt sind wir mit den Ladezeiten unzufrieden und testen "
            "gerade DeepL als Alternative. Bitte melden Sie sich vor der Verlängerung."
        ),
    ),
    ("acc-0019", 40, "note", "Quarterly check-in went fine, they like the editor."),
    (
        "acc-0005",
        6,
        "note",
        "They asked whether there are quality reports to compare their translation vendors.",
    ),
]

EVERYDAY = [
    ("note", "Quarterly check-in: all good, they like the new editor."),
    ("email", "Thanks for the webinar link, the team found it useful."),
    ("note", "We do not need more licences this year, the team is stable."),
    ("call", "Talked about their trip to the Dolomites, nothing business related."),
    ("email", "How do I export a project as XLIFF?"),
    ("note", "Grazie per la formazione di ieri, molto utile per tutti."),
    ("email", "Per ora nessun upgrade, il piano attuale va bene."),
    ("note", "Bedankt voor de snelle hulp met de factuur."),
    ("call", "Voorlopig geen extra gebruikers, eerst de reorganisatie afronden."),
    ("note", "Dziękuję za szybką odpowiedź w sprawie eksportu."),
    ("email", "W tym roku nie potrzebujemy więcej licencji."),
    ("note", "谢谢昨天的培训，大家都觉得很有用。"),
    ("email", "今年我们不需要更多的账号，团队很稳定。"),
    ("call", "Danke für die Schulung, das Team kommt gut zurecht."),
    ("email", "Vorerst kein Upgrade, der aktuelle Tarif reicht uns."),
    ("note", "Merci pour la démo de la nouvelle interface, très claire."),
    ("email", "Pas besoin de licences supplémentaires pour l'instant."),
    ("note", "Gracias por la ayuda con la factura de octubre."),
    ("call", "Por ahora no cambiamos de plan, el actual es suficiente."),
]


def sample_notes(accounts: list[dict[str, Any]], as_of: datetime, seed: int) -> Iterator[dict[str, Any]]:
    """The showcase notes, then everyday notes on about one account in ten (never a showcase)."""
    rng = random.Random(seed + 13)
    showcase = {account for account, *_ in SHOWCASE_NOTES}
    number = 0
    for account, days, source, text in SHOWCASE_NOTES:
        number += 1
        yield _row(number, account, as_of - timedelta(days=days, hours=3), source, text)
    for row in accounts:
        account_id = str(row.get("id") or "")
        if not account_id.startswith("acc-0") or account_id in showcase or rng.random() >= 0.1:
            continue
        source, text = rng.choice(EVERYDAY)
        number += 1
        yield _row(
            number,
            account_id,
            as_of - timedelta(days=rng.randint(1, 170), hours=rng.randint(0, 9)),
            source,
            text,
        )


def _row(number: int, account_id: str, when: datetime, source: str, text: str) -> dict[str, Any]:
    return {
        "id": f"note-{number:04d}",
        "account_id": account_id,
        "created_at": when.isoformat(),
        "source": source,
        "text": text,
    }
