"""One harness per registered connector: build it against its sandbox, seed, plant bad records,
inject faults, and look at what the CRM holds. The contract suite (test_contract.py) runs every
test against every harness, so adding a CRM means adding one `Harness` subclass and one entry in
`HARNESSES` (modelled on singer-sdk's `testing/tap_tests.py`, where a tap gets the standard tests
by declaring its config).

A harness is test code: it may reach into the connector it built (to record sleeps instead of
sleeping). What it seeds and fails goes through the sandbox, which answers as the CRM's docs say.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.base import Connector
from domain import Contribution, FollowUpTask, JourneyStage, Opportunity, OpportunityKind
from domain.opportunity import TASK_MARKER
from tests.pipedrive.harness import PipedriveContract

MAX_ATTEMPTS = 4  # every harness builds its connector with this HTTP retry budget
DAY_MS = 86_400_000
SAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "files" / "sample_data"


def opportunity(account_id: str, offer: str = "analytics") -> Opportunity:
    return Opportunity(
        key=f"{account_id}:cross_sell:{offer}",
        account_id=account_id,
        account_name=f"Account {account_id}",
        kind=OpportunityKind.CROSS_SELL,
        playbook="cross_sell",
        title=f"Cross-sell {offer} to account {account_id}",
        offer=offer,
        estimated_amount=Decimal("3000"),
        score=72,
        explanation=(Contribution("nps", 9.0, ">=", 8.0, 30, "NPS 9 is at least 8"),),
        owner_id=None,
        journey_stage=JourneyStage.VALUE_REALISED,
        close_date=date(2026, 12, 31),
    )


def task_for(o: Opportunity) -> FollowUpTask:
    return FollowUpTask(
        opportunity_key=o.key,
        account_id=o.account_id,
        subject=f"Talk to {o.account_name} about {o.offer}",
        body=f"Why: NPS 9.\n\n{TASK_MARKER} {o.key}",
        due_date=date(2026, 12, 1),
        priority="HIGH",
        owner_id=None,
    )


def marker(text: str | None) -> str | None:
    """The opportunity key on a plain-text task body's last line, if it is our marker."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if lines and lines[-1].startswith(TASK_MARKER):
        return lines[-1][len(TASK_MARKER) :].strip()
    return None


@dataclass
class Harness:
    """What the contract suite needs from a connector's test setup."""

    name: ClassVar[str]  # the registry name
    speaks_http: ClassVar[bool] = True
    incremental_reads_only_changes: ClassVar[bool] = True  # False: a changed source is read whole
    bad_record_counted_as: ClassVar[str] = "skipped"  # or "defaulted": the record is read, a field dropped
    sends_retry_after: ClassVar[bool] = True  # the CRM's 429 carries Retry-After (docs)
    facts_of_written_deals: ClassVar[bool] = True  # False: facts come from elsewhere (the files' input)
    unlisted_write_tells_found: ClassVar[bool] = True  # False: an upsert cannot say found from created
    refuses_unknown_accounts: ClassVar[bool] = True  # a deal on an account the CRM lacks is refused
    now: ClassVar[datetime | None] = None  # the pass clock run_pass gets (None: its default)

    tmp: Path

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def build(self, **overrides: Any) -> Connector:
        raise NotImplementedError

    def sleeps(self, connector: Connector) -> list[float]:
        """Make the connector's HTTP client record its backoff waits instead of sleeping."""
        raise NotImplementedError

    def seed_accounts(self, n: int) -> list[str]:
        """`n` well-formed accounts, last changed a while ago; returns their ids in read order."""
        raise NotImplementedError

    def seed_for_pass(self, n: int) -> None:
        """`n` accounts from which the bundled playbooks find opportunities (a realistic mix)."""
        raise NotImplementedError

    def plant_bad_record(self) -> None:
        """One record the connector cannot take as it is."""
        raise NotImplementedError

    def change_account(self, account_id: str) -> None:
        """An edit in the CRM, after the last read."""
        raise NotImplementedError

    def deals(self) -> list[tuple[str, str]]:
        """(CRM id, opportunity key) of every deal of ours the CRM holds (duplicates are the bug)."""
        raise NotImplementedError

    def deal_keys(self) -> list[str]:
        return [key for _, key in self.deals()]

    def task_keys(self) -> list[str]:
        """Opportunity keys on every follow-up task of ours the CRM holds."""
        raise NotImplementedError

    def fail_next(
        self, operation: str, status: int, times: int, *, retry_after: str | None = None, after: bool = False
    ) -> None:
        """Answer the next `times` calls of `operation` ("read_accounts" or "create_deals") with
        `status`; with `after`, the call takes effect and only its answer is lost."""
        raise NotImplementedError


# ------------------------------------------------------------------------------------- files


@dataclass
class FilesHarness(Harness):
    name: ClassVar[str] = "files"
    speaks_http: ClassVar[bool] = False
    incremental_reads_only_changes: ClassVar[bool] = False  # the cursor is a fingerprint of the input
    facts_of_written_deals: ClassVar[bool] = False  # outcomes come from the input's opportunities table
    refuses_unknown_accounts: ClassVar[bool] = False  # the outbox takes any deal

    HEADER: ClassVar[str] = (
        "id,name,owner_id,plan,plan_rank,products,seats_purchased,seats_used,mrr,customer_since,nps\n"
    )

    def start(self) -> None:
        self.data = self.tmp / "data"
        self.data.mkdir()
        (self.data / "owners.csv").write_text("id,email,name\n70001,ana@example.com,Ana\n")
        (self.data / "accounts.csv").write_text(self.HEADER)

    def build(self, **overrides: Any) -> Connector:
        from connectors.files.connector import FileConnector

        return FileConnector(self.data, self.tmp / "out")

    def seed_accounts(self, n: int) -> list[str]:
        ids = [f"acc-{i:04d}" for i in range(n)]
        with (self.data / "accounts.csv").open("a") as handle:
            for account_id in ids:
                handle.write(
                    f"{account_id},Company {account_id},70001,Team,1,translate;api,10,9,1200,2025-01-01,9\n"
                )
        return ids

    def seed_for_pass(self, n: int) -> None:
        shutil.rmtree(self.data)
        shutil.copytree(SAMPLE, self.data)

    def plant_bad_record(self) -> None:
        with (self.data / "accounts.csv").open("a") as handle:
            handle.write("acc-bad,Bad Seats,70001,Team,1,translate,twelve,9,300,2025-01-01,9\n")

    def change_account(self, account_id: str) -> None:
        path = self.data / "accounts.csv"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(
            "".join(
                line.replace(",Team,", ",Business,") if line.startswith(account_id + ",") else line
                for line in lines
            )
        )

    def _outbox(self, name: str, field: str) -> list[str]:
        import json

        path = self.tmp / "out" / "outbox" / name
        if not path.exists():
            return []
        return [json.loads(line)[field] for line in path.read_text().splitlines() if line.strip()]

    def deals(self) -> list[tuple[str, str]]:
        return list(zip(self._outbox("deals.jsonl", "id"), self._outbox("deals.jsonl", "key"), strict=True))

    def task_keys(self) -> list[str]:
        return self._outbox("tasks.jsonl", "opportunity_key")

    def fail_next(
        self, operation: str, status: int, times: int, *, retry_after: str | None = None, after: bool = False
    ) -> None:
        pytest.skip("the file connector makes no HTTP call: nothing to fail")

    def sleeps(self, connector: Connector) -> list[float]:
        pytest.skip("the file connector makes no HTTP call")


# ------------------------------------------------------------------------------------- HubSpot


@dataclass
class HubSpotHarness(Harness):
    name: ClassVar[str] = "hubspot"
    bad_record_counted_as: ClassVar[str] = "defaulted"  # HubSpot always has an id: a bad field is dropped

    OPERATIONS: ClassVar[dict[str, tuple[str, str]]] = {
        "read_accounts": ("GET", r"^/crm/(v3/objects|objects/2026-03)/(companies|0-2)$"),
        "create_deals": ("POST", r"^/crm/(v3/objects/deals|objects/2026-03/0-3)/batch/create$"),
    }

    def start(self) -> None:
        from tests.hubspot.conftest import TOKEN, install
        from tests.sandboxes.hubspot import HubSpotSandbox

        self.box = HubSpotSandbox(token=TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000)
        self.box.start()
        install(self.box)
        self.long_ago = int(time.time() * 1000) - 2 * DAY_MS

    def stop(self) -> None:
        self.box.stop()

    def build(self, **overrides: Any) -> Connector:
        from connectors.hubspot.connector import HubSpotConnector
        from tests.hubspot.conftest import settings_for

        return HubSpotConnector(settings_for(self.box, max_attempts=MAX_ATTEMPTS, **overrides))

    def sleeps(self, connector: Connector) -> list[float]:
        recorded: list[float] = []
        connector.client.api._sleep = recorded.append  # type: ignore[attr-defined]
        return recorded

    def seed_accounts(self, n: int) -> list[str]:
        from tests.hubspot.conftest import seed_companies

        return seed_companies(self.box, n, modified_ms=self.long_ago)

    def seed_for_pass(self, n: int) -> None:
        from tests.hubspot.seed import seed_sample

        seed_sample(self.box, n, modified_ms=self.long_ago)

    def plant_bad_record(self) -> None:
        self.box.add_record(
            "companies", {"name": "Bad", "seats_purchased": "twelve"}, modified_ms=self.long_ago
        )

    def change_account(self, account_id: str) -> None:
        self.box.touch("companies", account_id, at_ms=int(time.time() * 1000) - 5, plan="Business")

    def deals(self) -> list[tuple[str, str]]:
        return [(d["id"], d["properties"]["oppworker_key"]) for d in self.box.records("deals")]

    def task_keys(self) -> list[str]:
        from connectors.hubspot.mapping import marker_key

        return [
            k for t in self.box.records("tasks") if (k := marker_key(t["properties"].get("hs_task_body")))
        ]

    def fail_next(
        self, operation: str, status: int, times: int, *, retry_after: str | None = None, after: bool = False
    ) -> None:
        method, path = self.OPERATIONS[operation]
        body = None
        if (
            status == 429
        ):  # https://developers.hubspot.com/docs/api-reference/error-handling (hubspot-api.md s3)
            body = {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c93e06a4-0000-4000-8000-000000000000",
                "policyName": "TEN_SECONDLY_ROLLING",
                "groupName": "publicapi:private-app:1",
            }
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        self.box.fault(method, path, status, body, times=times, after=after, headers=headers)


# ------------------------------------------------------------------------------------- Zendesk Sell


@dataclass
class ZendeskSellHarness(Harness):
    name: ClassVar[str] = "zendesk-sell"
    sends_retry_after: ClassVar[bool] = False  # Sell documents no Retry-After and no rate-limit headers
    unlisted_write_tells_found: ClassVar[bool] = False  # POST /v2/deals/upsert answers the same either way
    now: ClassVar[datetime | None] = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

    OPERATIONS: ClassVar[dict[str, tuple[str, str]]] = {
        "read_accounts": ("GET", "/v2/contacts"),
        "create_deals": ("POST", "/v2/deals/upsert"),
    }

    def start(self) -> None:
        from tests.sandboxes.zendesk_sell import SellSandbox

        self.sell = SellSandbox()
        self.sell.start()
        self.sell.add_user("Casey CSM", "casey@example.com")

    def stop(self) -> None:
        self.sell.stop()

    def build(self, **overrides: Any) -> Connector:
        from connectors.ratelimit import NoLimit
        from connectors.zendesk_sell.connector import ZendeskSellConnector
        from connectors.zendesk_sell.settings import ZendeskSellSettings

        values: dict[str, Any] = {
            "access_token": self.sell.token,
            "base_url": self.sell.url,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "max_attempts": MAX_ATTEMPTS,
            **overrides,
        }
        assert self.now is not None
        today = self.now.date()
        return ZendeskSellConnector(ZendeskSellSettings(**values), limiter=NoLimit(), today=lambda: today)

    def sleeps(self, connector: Connector) -> list[float]:
        recorded: list[float] = []
        connector.client.api._sleep = recorded.append  # type: ignore[attr-defined]
        return recorded

    def seed_accounts(self, n: int) -> list[str]:
        custom = {
            "plan": "Team",
            "products": ["translate", "api"],
            "seats_purchased": "10",
            "seats_used": "9",
            "mrr": "1200",
            "active_users": "9",
        }
        return [
            str(self.sell.add_organization(f"Org {i}", custom_fields=dict(custom))["id"]) for i in range(n)
        ]

    def seed_for_pass(self, n: int) -> None:
        self.sell.generate_accounts(n, seed=11)

    def plant_bad_record(self) -> None:
        self.sell.add_raw_contact({"is_organization": True, "name": "No id", "custom_fields": {}})

    def change_account(self, account_id: str) -> None:
        self.sell.update_contact(int(account_id), custom_fields={"seats_used": "10"})

    def deals(self) -> list[tuple[str, str]]:
        return [
            (str(d["id"]), d["custom_fields"]["opportunity_key"])
            for d in self.sell.deals.values()
            if (d.get("custom_fields") or {}).get("opportunity_key")
        ]

    def task_keys(self) -> list[str]:
        return [k for t in self.sell.tasks.values() if (k := marker(t.get("content")))]

    def fail_next(
        self, operation: str, status: int, times: int, *, retry_after: str | None = None, after: bool = False
    ) -> None:
        method, path = self.OPERATIONS[operation]
        self.sell.add_fault(method, path, status, times=times, after=after)  # Sell sends no Retry-After


# ------------------------------------------------------------------------------------- Pipedrive


@dataclass
class PipedriveHarness(PipedriveContract, Harness):
    """tests/pipedrive/harness.py holds the methods (the Pipedrive tests use them too); listed
    first, they win over `Harness`'s unimplemented ones."""

    name: ClassVar[str] = "pipedrive"


HARNESSES: dict[str, Callable[[Path], Harness]] = {
    FilesHarness.name: FilesHarness,
    HubSpotHarness.name: HubSpotHarness,
    ZendeskSellHarness.name: ZendeskSellHarness,
    PipedriveHarness.name: PipedriveHarness,
}
