"""A seeded generator of realistic customer data: the bundled sample, tests and benchmarks.

`python -m connectors.files.sample` rewrites `connectors/files/sample_data/` (600 accounts, 26 weeks of
weekly usage, purchases, owners, earlier deals with their outcomes, and `account_history`: the seat
and plan changes of accounts that really expanded during those weeks, so `oppworker report` and
`oppworker backtest` have something true to measure). Accounts are drawn from archetypes that exist in
any SaaS book of business (teams out of seats, users hammering premium features, happy renewals,
big accounts, brand-new and unhappy customers), mixed so that every built-in playbook fires on some
accounts and every guardrail blocks some. The first accounts are named showcases the tests and the
README refer to. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.files.sample_notes import FIELDS as NOTE_FIELDS
from connectors.files.sample_notes import sample_notes
from domain import Series

AS_OF = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # a Monday morning
WEEKS = 26
PLANS = ["Starter", "Team", "Business", "Enterprise"]
SEAT_PRICE = [15, 30, 55, 90]
WORD_LIMIT = [50_000, 250_000, 1_000_000, 5_000_000]
OWNERS = [
    ("70001", "ana.ruiz@example.com", "Ana Ruiz"),
    ("70002", "ben.okafor@example.com", "Ben Okafor"),
    ("70003", "chloe.martin@example.com", "Chloé Martin"),
    ("70004", "dev.patel@example.com", "Dev Patel"),
    ("70005", "eva.lindqvist@example.com", "Eva Lindqvist"),
    ("70006", "felix.wagner@example.com", "Felix Wagner"),
    ("70007", "grace.kim@example.com", "Grace Kim"),
    ("70008", "hugo.silva@example.com", "Hugo Silva"),
]
UNKNOWN_OWNER = "79999"  # left the company: tasks go unassigned, counted in the run report
ARCHETYPES = {
    "seat_crunch": 0.11,
    "premium_seeker": 0.10,
    "renewal_promoter": 0.08,
    "milestone": 0.08,
    "affinity_target": 0.09,
    "at_scale": 0.07,
    "hot": 0.03,
    "onboarding": 0.07,
    "at_risk": 0.07,
    "escalation": 0.05,
    "adopting": 0.08,
    "steady": 0.17,
}
SHOWCASE = [
    ("acc-0001", "Northwind Traders", "seat_crunch"),
    ("acc-0002", "Globex Localization", "premium_seeker"),
    ("acc-0003", "Initech Manuals", "renewal_promoter"),
    ("acc-0004", "Umbrella Docs", "milestone"),
    ("acc-0005", "Stark Technical Writing", "affinity_target"),
    ("acc-0006", "Wayne Publishing Group", "at_scale"),
    ("acc-0007", "Hooli Onboarding Co", "onboarding"),
    ("acc-0008", "Soylent Media", "at_risk"),
    ("acc-0009", "Vandelay Imports", "escalation"),
    ("acc-0010", "Acme Cooldown Ltd", "seat_crunch"),
    ("acc-0011", "Pied Piper Subtitles", "seat_crunch"),
    ("acc-0012", "Cyberdyne Docs", "hot"),
    ("acc-0013", "Tyrell Translations", "adopting"),
]
SHOWCASE_PINS: dict[str, dict[str, Any]] = {
    "acc-0002": {"rank": 0},
    "acc-0004": {"rank": 1, "nps": 8},
    "acc-0005": {"products": {"translate", "glossary"}},
    "acc-0006": {"rank": 2, "products": {"translate", "api", "connectors"}},
    "acc-0013": {"rank": 1, "premium": 30.0, "words_share": 0.9, "nps": 9},
}
COOLDOWN_SHOWCASE, OPEN_SHOWCASE = "acc-0010", "acc-0011"
FIRST = [
    "North",
    "Blue",
    "Silver",
    "Bright",
    "Red",
    "Global",
    "Swift",
    "Clear",
    "Green",
    "Iron",
    "Lunar",
    "Prime",
    "Quantum",
    "Rapid",
    "Solid",
    "True",
    "Vivid",
    "Polar",
    "Cedar",
    "Harbor",
    "Alpine",
    "Nimbus",
]
SECOND = [
    "Wave",
    "Peak",
    "Bridge",
    "Forge",
    "Leaf",
    "Stone",
    "Path",
    "Signal",
    "Field",
    "Point",
    "Works",
    "Labs",
    "Line",
    "Media",
    "Docs",
    "Lingo",
    "Script",
    "Press",
    "Games",
    "Health",
    "Retail",
    "Travel",
]
SUFFIX = ["Inc", "GmbH", "Ltd", "SAS", "AB", "BV", "Co", "Oy", "S.L.", "KK", "Pty"]


@dataclass
class Dataset:
    as_of: datetime
    accounts: list[dict[str, Any]] = field(default_factory=list)
    usage: list[tuple[str, str, date, float]] = field(default_factory=list)
    purchases: list[tuple[str, str, date, float]] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    account_history: list[dict[str, Any]] = field(default_factory=list)
    archetype: dict[str, str] = field(default_factory=dict)


def _products(rng: random.Random, rank: int) -> set[str]:
    owned = {"translate"}
    if rng.random() < 0.55:
        owned.add("api")
        if rng.random() < 0.6:
            owned.add("connectors")
    if rng.random() < 0.45:
        owned.add("glossary")
        if rng.random() < 0.55:
            owned.add("analytics")
    if rank >= 2 and rng.random() < 0.15:
        owned.add("custom_mt")
    return owned


def _series(rng: random.Random, monthly: float, growth: float, noise: float = 0.08) -> list[float]:
    """Weekly values from a monthly level six months ago, growing `growth` per month."""
    values = []
    for week in range(WEEKS):
        months = week / 4.345
        level = monthly / 4.345 * (1 + growth) ** months
        values.append(max(level * rng.uniform(1 - noise, 1 + noise), 0.0))
    return values


def _account(
    rng: random.Random, account_id: str, name: str, kind: str, today: date
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    u = rng.uniform
    rank = rng.choice([0, 1, 1, 2])
    seats = rng.randint(8, 60)
    seat_util = u(0.55, 0.85)
    activation = u(0.55, 0.8)
    nps: float | None = rng.choice([6, 7, 7, 8, 8, 9, None])
    csat = round(u(3.6, 4.8), 1)
    tenure = rng.randint(150, 1100)
    renewal = rng.randint(100, 330)
    escalations = 0
    declining = False
    user_growth = u(-0.05, 0.06)
    words_share, word_growth = u(0.2, 0.6), u(-0.05, 0.1)
    premium = u(0, 4)
    api_monthly = u(0, 20_000)
    products = _products(rng, rank)
    if kind == "seat_crunch":
        seat_util, activation, user_growth, nps = (
            u(0.93, 1.08),
            u(0.82, 0.95),
            u(0.16, 0.3),
            rng.choice([8, 9, 10]),
        )
    elif kind == "premium_seeker":
        rank = rng.choice([0, 0, 1, 1, 2])
        premium, words_share, word_growth, nps = u(12, 60), u(0.8, 1.05), u(0.16, 0.35), rng.choice([7, 8, 9])
        activation = u(0.72, 0.9)
    elif kind == "renewal_promoter":
        renewal, nps, seat_util, user_growth, tenure = (
            rng.randint(15, 85),
            rng.choice([9, 10]),
            u(0.8, 0.92),
            u(0.0, 0.08),
            rng.randint(380, 1400),
        )
    elif kind == "milestone":
        word_growth, nps, activation = u(0.14, 0.3), rng.choice([7, 8, 9]), u(0.65, 0.85)
    elif kind == "affinity_target":
        products = {"translate", "api"} if rng.random() < 0.6 else {"translate", "glossary"}
        activation, nps, tenure = u(0.8, 0.86), rng.choice([8, 9, 10]), rng.randint(200, 900)
    elif kind in ("at_scale", "hot"):
        rank, seats = rng.choice([2, 2, 3]), rng.randint(120, 420)
        api_monthly, nps, tenure, user_growth = (
            u(60_000, 300_000),
            rng.choice([7, 8, 9]),
            rng.randint(400, 1500),
            u(0.06, 0.15),
        )
        if kind == "hot":
            rank, seat_util, activation, user_growth, premium = (
                2,
                u(0.94, 1.04),
                u(0.85, 0.95),
                u(0.12, 0.25),
                u(15, 40),
            )
            words_share, word_growth, nps = u(0.85, 1.0), u(0.2, 0.3), 9
        elif rng.random() < 0.3:
            products |= {"premium_support"}
    elif kind == "onboarding":
        tenure, seat_util, activation, user_growth, nps = (
            rng.randint(10, 55),
            u(0.92, 1.0),
            u(0.82, 0.95),
            u(0.2, 0.5),
            None,
        )
    elif kind == "at_risk":
        seat_util, activation = u(0.9, 1.0), u(0.8, 0.9)
        if rng.random() < 0.5:
            nps, csat = rng.choice([2, 3, 4, 5]), round(u(2.2, 3.4), 1)
        else:
            declining = True
    elif kind == "escalation":
        seat_util, activation, user_growth, nps, escalations = (
            u(0.93, 1.05),
            u(0.82, 0.95),
            u(0.16, 0.3),
            8,
            1,
        )
    elif kind == "adopting":
        activation, tenure, premium, nps = u(0.35, 0.55), rng.randint(130, 320), u(15, 40), 8
        words_share = u(0.8, 1.0)
    pins = SHOWCASE_PINS.get(account_id, {})  # showcases stay what the README says they are
    rank = pins.get("rank", rank)
    products = set(pins.get("products", products))
    premium, words_share, nps = (
        pins.get("premium", premium),
        pins.get("words_share", words_share),
        pins.get("nps", nps),
    )
    seat_util = max(seat_util, activation + 0.03)  # active users never exceed the seats in use
    seats_used = max(1, round(seats * seat_util))
    mrr = seats * SEAT_PRICE[rank] + sum(
        {
            "api": 400,
            "glossary": 150,
            "connectors": 300,
            "analytics": 250,
            "custom_mt": 900,
            "premium_support": 1200,
            "security": 600,
        }.get(p, 0)
        for p in products
    )
    limit = WORD_LIMIT[rank]
    # Work back from the level wanted in the last month to the level six months ago.
    words_now = limit * words_share
    words_start = words_now / (1 + word_growth) ** (WEEKS / 4.345)
    usage: dict[str, list[float]] = {
        "active_users": [
            v * 4.345
            for v in _series(
                rng, seats * activation / (1 + user_growth) ** (WEEKS / 4.345), user_growth, 0.03
            )
        ],
        "words_translated": _series(rng, words_start, word_growth),
        "api_calls": _series(rng, api_monthly / (1 + word_growth) ** (WEEKS / 4.345), word_growth)
        if "api" in products or api_monthly > 50_000
        else [0.0] * WEEKS,
        "premium_feature_attempts": [round(v) for v in _series(rng, premium, 0.0, 0.3)],
    }
    if kind == "milestone":
        _shape_milestone(rng, usage)
    if declining:  # steady for months, then use falls away: the churn signal a CSM must not miss
        for metric in ("active_users", "words_translated", "api_calls"):
            values = usage[metric]
            values[-8:-4] = [v * 0.9 for v in values[-8:-4]]
            values[-4:] = [v * 0.45 for v in values[-4:]]
    # Calibrate active users so the last 30 days average exactly the intended activation (scaling
    # keeps the trend's shape), and never exceed the seats in use.
    recent = sum(usage["active_users"][-4:]) / 4 or 1.0
    usage["active_users"] = [v * seats * activation / recent for v in usage["active_users"]]
    seats_used = max(seats_used, math.ceil(max(usage["active_users"][-4:])))
    usage["active_users"] = [round(v) for v in usage["active_users"]]
    usage["words_translated"] = [round(v) for v in usage["words_translated"]]
    usage["api_calls"] = [round(v) for v in usage["api_calls"]]
    customer_since = today - timedelta(days=tenure)
    account = {
        "id": account_id,
        "name": name,
        "owner_id": rng.choice(OWNERS)[0],
        "plan": PLANS[rank],
        "plan_rank": rank,
        "products": ";".join(sorted(products)),
        "seats_purchased": seats,
        "seats_used": seats_used,
        "mrr": mrr,
        "currency": rng.choice(["USD", "USD", "USD", "EUR", "GBP"]),
        "customer_since": customer_since.isoformat(),
        "contract_end_date": (today + timedelta(days=renewal)).isoformat(),
        "journey_stage": "",
        "nps": "" if nps is None else nps,
        "csat": csat,
        "open_escalations": escalations,
    }
    return account, usage


def _shape_milestone(rng: random.Random, usage: dict[str, list[float]]) -> None:
    """Scale words so their running total passes a round milestone in the last 30 days."""
    words = usage["words_translated"]
    milestone = rng.choice([500_000, 1_000_000])
    before = sum(words[:-4])
    scale = milestone * rng.uniform(0.93, 0.985) / before
    words[:] = [w * scale for w in words]
    if sum(words) < milestone:  # growth too flat to cross: lift the last month
        words[-4:] = [w * 1.3 for w in words[-4:]]


def iter_accounts(
    n: int, seed: int = 20261102, as_of: datetime = AS_OF, showcase: bool = True
) -> Iterator[tuple[str, dict[str, Any], dict[str, Series]]]:
    """(archetype, account row, metric -> weekly series), one account at a time: benchmarks stream
    millions of accounts through this without holding them."""
    rng = random.Random(seed)
    today = as_of.date()
    kinds, weights = zip(*ARCHETYPES.items())
    # One tuple for every metric of every account: summarising finds its windows once (domain/usage.py).
    weeks = tuple(today - timedelta(weeks=WEEKS - week) for week in range(WEEKS))
    for index in range(n):
        if showcase and index < len(SHOWCASE):
            account_id, name, kind = SHOWCASE[index]
        else:
            account_id = f"acc-{index + 1:04d}" if n < 10_000 else f"acc-{index + 1:07d}"
            name = f"{rng.choice(FIRST)}{rng.choice(SECOND).lower()} {rng.choice(SUFFIX)}"
            kind = rng.choices(kinds, weights)[0]
        account, usage = _account(rng, account_id, name, kind, today)
        yield kind, account, {metric: Series(weeks, tuple(values)) for metric, values in usage.items()}


def generate(n: int = 600, seed: int = 20261102, as_of: datetime = AS_OF, showcase: bool = True) -> Dataset:
    rng = random.Random(seed + 1)
    today = as_of.date()
    data = Dataset(as_of)
    for kind, account, usage in iter_accounts(n, seed, as_of, showcase):
        account_id = account["id"]
        data.accounts.append(account)
        data.archetype[account_id] = kind
        for metric, series in usage.items():
            for day, value in zip(series.days, series.values, strict=True):
                data.usage.append((account_id, metric, day, value))
        since = date.fromisoformat(account["customer_since"])
        for product in account["products"].split(";"):
            bought = (
                since
                if product == "translate"
                else since + timedelta(days=rng.randint(0, max((today - since).days, 1)))
            )
            data.purchases.append(
                (account_id, product, min(bought, today), 0.0 if product == "translate" else 12.0 * 300)
            )
    _history(rng, data)
    _expansions(random.Random(seed + 2), data)  # its own stream: the rows above stay byte-identical
    _flaws(data)
    return data


def _history(rng: random.Random, data: Dataset) -> None:
    """Earlier deals: a lost offer inside its cooldown, and one still open."""
    now = data.as_of
    seat_accounts = [a["id"] for a in data.accounts if data.archetype[a["id"]] == "seat_crunch"]
    lost = [COOLDOWN_SHOWCASE] + [
        a for a in seat_accounts if a not in (COOLDOWN_SHOWCASE, OPEN_SHOWCASE, "acc-0001")
    ][:8]
    opened = [OPEN_SHOWCASE] + [
        a for a in seat_accounts if a not in lost and a not in (OPEN_SHOWCASE, "acc-0001")
    ][:6]
    for account_id in lost:
        created = now - timedelta(days=rng.randint(50, 70))
        data.opportunities.append(
            {
                "key": f"{account_id}:seat_expansion:seats",
                "account_id": account_id,
                "playbook": "seat_expansion",
                "offer": "seats",
                "status": "lost",
                "created_at": created.isoformat(),
                "closed_at": (now - timedelta(days=rng.randint(5, 25))).isoformat(),
            }
        )
    for account_id in opened:
        data.opportunities.append(
            {
                "key": f"{account_id}:seat_expansion:seats",
                "account_id": account_id,
                "playbook": "seat_expansion",
                "offer": "seats",
                "status": "open",
                "created_at": (now - timedelta(days=rng.randint(35, 60))).isoformat(),
                "closed_at": "",
            }
        )


LOST_REASONS = [
    "no budget this quarter",
    "timing: revisit at renewal",
    "chose a competitor",
    "not a priority",
]
SEAT_GROWERS = ("steady", "adopting", "renewal_promoter", "affinity_target", "milestone", "at_scale")
PLAN_GROWERS = ("premium_seeker", "milestone", "renewal_promoter", "affinity_target")


def _state(account: dict[str, Any], day: date, rank: int, seats: int, mrr: float) -> dict[str, Any]:
    return {
        "account_id": account["id"],
        "valid_from": day.isoformat(),
        "plan": PLANS[rank],
        "plan_rank": rank,
        "seats_purchased": seats,
        "seats_used": account["seats_used"],
        "mrr": round(mrr),
    }


def _expansions(rng: random.Random, data: Dataset) -> None:
    """Accounts that really expanded in the last weeks, and our deals' outcomes around them.

    Most expansions follow the signal (the team ran out of seats, or hit its plan's limits, before
    buying); some are quiet (bought with room to spare), so a backtest has misses to show. About half
    of the signalled ones closed through a deal of ours (won, with amount, task done); a dozen other
    offers were lost. Showcase accounts and accounts that already carry a deal are left alone.
    """
    today = data.as_of.date()
    start = today - timedelta(weeks=WEEKS)
    taken = {a for a, _, _ in SHOWCASE} | {o["account_id"] for o in data.opportunities}
    pool = [
        a for a in data.accounts if a["id"] not in taken and date.fromisoformat(a["customer_since"]) < start
    ]

    def deal(
        account: dict[str, Any],
        playbook: str,
        kind: str,
        offer: str,
        created: date,
        closed: date,
        status: str,
        amount: float | None,
    ) -> None:
        data.opportunities.append(
            {
                "key": f"{account['id']}:{playbook}:{offer}",
                "account_id": account["id"],
                "playbook": playbook,
                "offer": offer,
                "status": status,
                "created_at": f"{created.isoformat()}T09:00:00+00:00",
                "closed_at": f"{closed.isoformat()}T16:00:00+00:00",
                "amount": "" if amount is None else f"{amount:.2f}",
                "lost_reason": rng.choice(LOST_REASONS) if status == "lost" else "",
                "task_completed": "true" if status == "won" or rng.random() < 0.5 else "false",
                "kind": kind,
                "score": rng.randint(66, 92),
                "journey_stage": "value_realised",
            }
        )
        taken.add(account["id"])

    seat_pool = [a for a in pool if data.archetype[a["id"]] in SEAT_GROWERS]
    for account in rng.sample(seat_pool, min(48, len(seat_pool))):
        rank, seats, used = (
            int(account["plan_rank"]),
            int(account["seats_purchased"]),
            int(account["seats_used"]),
        )
        quiet = rng.random() < 0.3
        before = seats - rng.randint(2, 6) if quiet else int(used / rng.uniform(0.92, 1.03))
        if not 0 < before < seats:
            continue
        grew_on = today - timedelta(days=rng.randint(14, 120))
        mrr = float(account["mrr"])
        data.account_history.append(
            _state(account, start, rank, before, mrr - (seats - before) * SEAT_PRICE[rank])
        )
        data.account_history.append(_state(account, grew_on, rank, seats, mrr))
        if not quiet and rng.random() < 0.55:
            deal(
                account,
                "seat_expansion",
                "upsell",
                "seats",
                grew_on - timedelta(days=rng.randint(7, 35)),
                grew_on,
                "won",
                (seats - before) * SEAT_PRICE[rank] * 12.0,
            )
        taken.add(account["id"])
    plan_pool = [
        a
        for a in pool
        if a["id"] not in taken and data.archetype[a["id"]] in PLAN_GROWERS and int(a["plan_rank"]) >= 1
    ]
    for account in rng.sample(plan_pool, min(20, len(plan_pool))):
        rank, seats = int(account["plan_rank"]), int(account["seats_purchased"])
        grew_on = today - timedelta(days=rng.randint(14, 120))
        mrr = float(account["mrr"])
        data.account_history.append(
            _state(account, start, rank - 1, seats, mrr - seats * (SEAT_PRICE[rank] - SEAT_PRICE[rank - 1]))
        )
        data.account_history.append(_state(account, grew_on, rank, seats, mrr))
        if rng.random() < 0.5:
            deal(
                account,
                "plan_upgrade",
                "upsell",
                f"plan:{PLANS[rank]}",
                grew_on - timedelta(days=rng.randint(7, 35)),
                grew_on,
                "won",
                seats * (SEAT_PRICE[rank] - SEAT_PRICE[rank - 1]) * 12.0,
            )
        taken.add(account["id"])
    losers = [
        a
        for a in pool
        if a["id"] not in taken and data.archetype[a["id"]] in ("seat_crunch", "premium_seeker")
    ]
    for account in rng.sample(losers, min(12, len(losers))):
        created = today - timedelta(
            days=rng.randint(100, 170)
        )  # closed long enough ago to be out of cooldown
        closed = created + timedelta(days=rng.randint(10, 40))
        if data.archetype[account["id"]] == "seat_crunch":
            deal(account, "seat_expansion", "upsell", "seats", created, closed, "lost", None)
        else:
            rank = int(account["plan_rank"])
            deal(
                account,
                "plan_upgrade",
                "upsell",
                f"plan:{PLANS[min(rank + 1, 3)]}",
                created,
                closed,
                "lost",
                None,
            )
    data.opportunities.sort(key=lambda o: (o["created_at"], o["key"]))


def _flaws(data: Dataset) -> None:
    """What real exports contain: an owner who left, and rows a connector must skip, not crash on."""
    for account in data.accounts[40:44]:
        account["owner_id"] = UNKNOWN_OWNER
    if len(data.accounts) < 100:
        return
    bad = dict(data.accounts[50])
    data.accounts.append(
        {**bad, "id": "acc-bad-seats", "name": "Broken Seats Inc", "seats_purchased": "lots"}
    )
    data.accounts.append({**bad, "id": "acc-bad-neg", "name": "Negative Seats AB", "seats_used": -4})
    data.accounts.append({**bad, "name": "Duplicate of an existing id"})
    data.accounts.append({**bad, "id": "", "name": "No id at all"})


def write(data: Dataset, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "as_of": data.as_of.isoformat(),
                "accounts": len(data.accounts),
                "weeks": WEEKS,
                "generated_by": "python -m connectors.files.sample",
            },
            indent=2,
        )
        + "\n"
    )
    _csv(folder / "accounts.csv", list(data.accounts[0]), data.accounts)
    _csv(
        folder / "owners.csv",
        ["id", "email", "name"],
        [dict(zip(["id", "email", "name"], o)) for o in OWNERS],
    )
    _csv(
        folder / "usage.csv",
        ["account_id", "metric", "period_start", "value"],
        (
            {"account_id": a, "metric": m, "period_start": d.isoformat(), "value": v}
            for a, m, d, v in data.usage
        ),
    )
    _csv(
        folder / "purchases.csv",
        ["account_id", "product", "purchased_at", "amount"],
        (
            {"account_id": a, "product": p, "purchased_at": d.isoformat(), "amount": f"{v:.2f}"}
            for a, p, d, v in data.purchases
        ),
    )
    _csv(
        folder / "opportunities.csv",
        [
            "key",
            "account_id",
            "playbook",
            "offer",
            "status",
            "created_at",
            "closed_at",
            "amount",
            "lost_reason",
            "task_completed",
            "kind",
            "score",
            "journey_stage",
        ],
        data.opportunities,
    )
    _csv(
        folder / "account_history.csv",
        ["account_id", "valid_from", "plan", "plan_rank", "seats_purchased", "seats_used", "mrr"],
        sorted(data.account_history, key=lambda r: (r["account_id"], r["valid_from"])),
    )
    _csv(folder / "notes.csv", NOTE_FIELDS, sample_notes(data.accounts, data.as_of, seed=20261102))


def _csv(path: Path, fields: list[str], rows: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20261102)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "sample_data")
    args = parser.parse_args(argv)
    write(generate(args.n, args.seed), args.out)
    print(f"wrote {args.n} accounts to {args.out}")


if __name__ == "__main__":
    main()
