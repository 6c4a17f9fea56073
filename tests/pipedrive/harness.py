"""The Pipedrive harness for the shared contract suite (tests/contract/harnesses.py on the contract
branch): the same methods and class attributes as its `Harness`, so adding Pipedrive there is
`class PipedriveHarness(Harness, PipedriveContract)` plus one `HARNESSES` entry. Kept free of that
module's import so it works on either branch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from domain.opportunity import TASK_MARKER

OPERATIONS: dict[str, tuple[str, str]] = {
    "read_accounts": ("GET", "/api/v2/organizations"),
    "create_deals": ("POST", "/api/v2/deals"),
}


def note_marker(note: str | None) -> str | None:
    """The key on an activity note's marker line (the note is HTML: lines end in <br>)."""
    from connectors.pipedrive.mapping import _BREAK, _TAG

    parts = [_TAG.sub("", p).strip() for p in _BREAK.split(note or "") if _TAG.sub("", p).strip()]
    if parts and parts[-1].startswith(TASK_MARKER):
        return parts[-1][len(TASK_MARKER) :].strip()
    return None


@dataclass
class PipedriveContract:
    name: ClassVar[str] = "pipedrive"
    speaks_http: ClassVar[bool] = True
    incremental_reads_only_changes: ClassVar[bool] = True
    bad_record_counted_as: ClassVar[str] = "skipped"  # an organization without an id
    # Pipedrive's burst 429 says how long to wait in `x-ratelimit-reset` (not Retry-After, [RL]); the
    # connector honours it as the contract expects of a CRM-stated wait (fail_next sets that header).
    sends_retry_after: ClassVar[bool] = True
    facts_of_written_deals: ClassVar[bool] = True
    unlisted_write_tells_found: ClassVar[bool] = True  # the search before create tells found from created
    now: ClassVar[datetime | None] = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    max_attempts: ClassVar[int] = 4

    tmp: Path

    def start(self) -> None:
        from tests.sandboxes.pipedrive import PipedriveSandbox

        self.box = PipedriveSandbox(burst_limit=100_000, search_limit=100_000)
        self.box.start()
        self.box.add_user("Casey CSM", "casey@example.com", me=True)
        self.box.define_account_fields()
        self.long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)

    def stop(self) -> None:
        self.box.stop()

    def build(self, **overrides: Any) -> Any:
        from connectors.pipedrive.connector import PipedriveConnector
        from connectors.pipedrive.limits import DailyTokenBudget
        from connectors.pipedrive.settings import PipedriveSettings
        from connectors.ratelimit import NoLimit

        if "access_token" in overrides:  # the contract's name for the token; Pipedrive's is api_token
            overrides["api_token"] = overrides.pop("access_token")
        values: dict[str, Any] = {
            "api_token": self.box.token,
            "base_url": self.box.url,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "max_attempts": self.max_attempts,
            "incremental_overlap_seconds": 0,
            **overrides,
        }
        assert self.now is not None
        today = self.now.date()
        return PipedriveConnector(
            PipedriveSettings(**values),
            limiter=NoLimit(),
            search_limiter=NoLimit(),
            budget=DailyTokenBudget(10_000_000),
            today=lambda: today,
        )

    def sleeps(self, connector: Any) -> list[float]:
        recorded: list[float] = []
        connector.client.api._sleep = recorded.append
        return recorded

    def seed_accounts(self, n: int) -> list[str]:
        fields = {
            "plan": self.box.option_id("organization", "plan", "Team"),
            "seats_purchased": 10,
            "seats_used": 9,
            "mrr": {"value": 1200, "currency": "USD"},
            "active_users": 9,
        }
        ids = [
            str(
                self.box.add_organization(
                    f"Org {i}", fields=dict(fields), when=self.long_ago + timedelta(seconds=i)
                )["id"]
            )
            for i in range(n)
        ]
        for account_id in ids:  # products owned are won deals' products in Pipedrive
            self.box.add_won_deal(int(account_id), ["translate", "api"])
        return ids

    def seed_for_pass(self, n: int) -> None:
        self.box.generate_accounts(n, seed=11)

    def plant_bad_record(self) -> None:
        stamp = self.long_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.box.add_raw_organization(
            {"name": "No id", "custom_fields": {}, "update_time": stamp, "add_time": stamp}
        )

    def change_account(self, account_id: str) -> None:
        self.box.update_org(int(account_id), {"seats_used": 10})

    def deals(self) -> list[tuple[str, str]]:
        code = self.box.code("deal", "Opportunity key")
        return [
            (str(d["id"]), d["custom_fields"][code])
            for d in self.box.deals.values()
            if d["custom_fields"].get(code)
        ]

    def deal_keys(self) -> list[str]:
        return [key for _, key in self.deals()]

    def task_keys(self) -> list[str]:
        return [k for a in self.box.activities.values() if (k := note_marker(a.get("note")))]

    def fail_next(
        self, operation: str, status: int, times: int, *, retry_after: str | None = None, after: bool = False
    ) -> None:
        method, path = OPERATIONS[operation]
        self.box.add_fault(method, path, status, times=times, after=after, reset=retry_after or "1")
