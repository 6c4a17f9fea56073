"""No token or webhook secret in any log line, error message, exception text or stored run report.

Logging is at DEBUG for everything (urllib3's request lines, tenacity's retries, the connectors',
the runner's). The CLI runs as a user types it (`oppworker -vv ...`, click's runner) against the
HubSpot and Zendesk Sell sandboxes, on the happy path and on every failure path: 401, 403, 429
(with and without Retry-After, and HubSpot's DAILY limit), 500/502/503, responses slower than the
client's timeout, connection refused. The webhook receiver gets bad, stale and missing signatures.
Afterwards every captured line, every exception with its traceback and chained causes, the CLI's
output, the run reports (`oppworker runs --json`) and every byte under the output folder (the
ledger database included) are searched for the secrets and for a long fragment of each.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.hubspot.seed import seed_sample
from tests.sandboxes.hubspot import ALL_SCOPES, HubSpotSandbox
from tests.sandboxes.server import Request, Response
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.cli import cli
from worker.service.settings import ServiceSettings
from worker.webhooks import create_app

HUBSPOT_TOKEN = "pat-na1-5ecre7-hub-4e1f9a0c-77d2-4b6e-9f3a-c0ffee000001"
SELL_TOKEN = "sell-5ecre7-token-0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9"
APP_SECRET = "hubspot-app-5ecre7-a9b8c7d6"
EVENTS_SECRET = "events-5ecre7-f1e2d3c4"
SECRETS = [HUBSPOT_TOKEN, SELL_TOKEN, APP_SECRET, EVENTS_SECRET]


def fragments(secret: str) -> list[str]:
    """The secret and its middle 16 characters (a log line that truncates or wraps still leaks)."""
    middle = len(secret) // 2
    return [secret, secret[middle - 8 : middle + 8]]


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # includes exc_info's traceback when present
        self.lines.append(repr(record.args))


@pytest.fixture
def capture() -> Iterator[Capture]:
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def hubspot_env(box: HubSpotSandbox, out: Path) -> dict[str, str]:
    return {
        "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
        "HUBSPOT_BASE_URL": box.url,
        "HUBSPOT_MAX_ATTEMPTS": "3",
        "HUBSPOT_BACKOFF_BASE_SECONDS": "0.01",
        "HUBSPOT_ROLLING_WAIT_SECONDS": "0.05",
        "HUBSPOT_SECONDLY_WAIT_SECONDS": "0.05",
        "HUBSPOT_TIMEOUT_SECONDS": "0.5",
        "HUBSPOT_BURST_MARGIN_SECONDS": "0",
        "OPPWORKER_OUTPUT_DIR": str(out),
    }


def sell_env(sell: SellSandbox, out: Path) -> dict[str, str]:
    return {
        "ZENDESK_SELL_ACCESS_TOKEN": SELL_TOKEN,
        "ZENDESK_SELL_BASE_URL": sell.url,
        "ZENDESK_SELL_MAX_ATTEMPTS": "2",
        "ZENDESK_SELL_BACKOFF_BASE": "0.01",
        "ZENDESK_SELL_BACKOFF_MAX": "0.02",
        "ZENDESK_SELL_READ_TIMEOUT": "0.5",
        "OPPWORKER_OUTPUT_DIR": str(out),
    }


class Transcript:
    """Everything a user or an operator could see from the runs."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def invoke(self, env: dict[str, str], *args: str) -> Any:
        result = CliRunner().invoke(cli, ["-vv", *args], obj={}, env=env, catch_exceptions=True)
        self.texts.append(result.output)
        try:
            self.texts.append(result.stderr)
        except ValueError:  # older click mixes stderr into output
            pass
        if result.exc_info and not isinstance(result.exception, SystemExit):
            self.texts.append("".join(traceback.format_exception(*result.exc_info)))
        if result.exception is not None:
            self.texts.append(repr(result.exception))
        return result

    def add_files(self, folder: Path) -> None:
        for path in folder.rglob("*"):
            if path.is_file():
                self.texts.append(path.read_bytes().decode("latin-1"))


def assert_no_secret(texts: list[str], lines: list[str]) -> None:
    everything = "\n".join([*texts, *lines])
    assert everything.strip(), "nothing was captured: the test would prove nothing"
    for secret in SECRETS:
        for fragment in fragments(secret):
            assert fragment not in everything, (
                f"secret fragment {fragment!r} leaked:\n"
                + next((line for line in everything.splitlines() if fragment in line), "")[:500]
            )


def slow(seconds: float) -> Any:
    def hook(request: Request) -> Response | None:
        if request.path.startswith(("/crm/v3/objects/companies", "/crm/objects/2026-03/companies")):
            time.sleep(seconds)
        return None

    return hook


def test_hubspot_cli_happy_and_failure_paths_leak_no_token(capture: Capture, tmp_path: Path) -> None:
    transcript = Transcript()
    scenarios: list[tuple[str, dict[str, Any], Any]] = [
        ("ok", {}, None),
        ("401", {"token": "a-different-token"}, None),
        ("403", {"scopes": frozenset(s for s in ALL_SCOPES if "deals" not in s)}, None),
        (
            "429",
            {},
            lambda b: b.fault(
                "GET",
                r"/crm/objects/2026-03/companies$",
                429,
                times=50,
                body={
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                },
            ),
        ),
        (
            "429-retry-after",
            {},
            lambda b: b.fault(
                "GET", r"/crm/objects/2026-03/companies$", 429, times=50, headers={"Retry-After": "0"}
            ),
        ),
        (
            "429-daily",
            {},
            lambda b: b.fault(
                "GET",
                r"/crm/objects/2026-03/companies$",
                429,
                times=50,
                body={
                    "status": "error",
                    "message": "You have reached your daily limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "DAILY",
                },
            ),
        ),
        ("500", {}, lambda b: b.fault("GET", r"/crm/objects/2026-03/companies$", 500, times=50)),
        ("502", {}, lambda b: b.fault("POST", r"/crm/objects/2026-03/0-3/batch/create$", 502, times=50)),
        ("503", {}, lambda b: b.fault("POST", r"/crm/objects/2026-03/tasks/batch/create$", 503, times=50)),
        ("timeout", {}, lambda b: b.server.before.insert(0, slow(1.0))),
    ]
    exit_codes = {}
    for name, options, inject in scenarios:
        out = tmp_path / name
        with HubSpotSandbox(
            **{
                "token": HUBSPOT_TOKEN,
                "burst_limit": 10_000,
                "burst_window": 1.0,
                "search_limit": 10_000,
                **options,
            }
        ) as box:
            seed_sample(box, 30, modified_ms=int(time.time() * 1000) - 86_400_000)
            env = hubspot_env(box, out)
            setup = transcript.invoke(env, "hubspot", "setup")
            if name == "ok":
                assert setup.exit_code == 0, setup.output
            if inject is not None:
                inject(box)
            result = transcript.invoke(env, "run", "--crm", "hubspot", "--as-of", "2026-11-20T00:00:00+00:00")
            exit_codes[name] = result.exit_code
            transcript.invoke(env, "runs", "--json")
        transcript.add_files(out)
    # the failures really happened (a leak test of paths never taken proves nothing)
    assert exit_codes["ok"] == 0 and all(
        exit_codes[n] != 0 for n in ("401", "403", "429-daily", "500", "timeout")
    ), exit_codes
    # refused on the connection: nothing listens
    refused = transcript.invoke(
        {**env, "HUBSPOT_BASE_URL": "http://127.0.0.1:9", "OPPWORKER_OUTPUT_DIR": str(tmp_path / "refused")},
        "run",
        "--crm",
        "hubspot",
    )
    assert refused.exit_code != 0
    assert_no_secret(transcript.texts, capture.lines)
    assert any("401" in t or "INVALID_AUTHENTICATION" in t or "auth" in t.lower() for t in transcript.texts)


def test_zendesk_sell_cli_failure_paths_leak_no_token(capture: Capture, tmp_path: Path) -> None:
    transcript = Transcript()
    scenarios: list[tuple[str, dict[str, Any], Any]] = [
        ("ok", {}, None),
        ("401", {"token": "another-token"}, None),
        ("403", {"scopes": ("read", "profile")}, None),
        ("429", {}, lambda s: s.add_fault("GET", r"/v2/contacts", 429, times=50)),
        ("500", {}, lambda s: s.add_fault("GET", r"/v2/contacts", 500, times=50)),
        ("503", {}, lambda s: s.add_fault("POST", r"/v2/deals", 503, times=50)),
        ("timeout", {}, lambda s: s.add_fault("GET", r"/v2/contacts", 500, times=5, delay=1.0)),
    ]
    exit_codes = {}
    for name, options, inject in scenarios:
        out = tmp_path / name
        with SellSandbox(**{"token": SELL_TOKEN, **options}) as sell:
            sell.add_user("Casey CSM", "casey@example.com")
            sell.generate_accounts(30, seed=3)
            env = sell_env(sell, out)
            transcript.invoke(env, "zendesk-sell", "setup")
            if inject is not None:
                inject(sell)
            result = transcript.invoke(env, "run", "--crm", "zendesk-sell")
            exit_codes[name] = result.exit_code
            transcript.invoke(env, "runs", "--json")
        transcript.add_files(out)
    assert exit_codes["ok"] == 0 and all(exit_codes[n] != 0 for n in ("401", "429", "500", "timeout")), (
        exit_codes
    )
    assert_no_secret(transcript.texts, capture.lines)


def test_webhook_bad_signatures_leak_no_secret(capture: Capture) -> None:
    cfg = ServiceSettings(hubspot_app_secret=APP_SECRET, events_secret=EVENTS_SECRET)
    client = TestClient(create_app(cfg, rescore=lambda *a: 0, redis_client=object(), ledger=None))
    texts: list[str] = []
    now_ms = str(int(time.time() * 1000))
    for headers in (
        {},
        {"X-HubSpot-Request-Timestamp": now_ms},
        {"X-HubSpot-Request-Timestamp": now_ms, "X-HubSpot-Signature-v3": "bm9wZQ=="},
        {"X-HubSpot-Request-Timestamp": "1", "X-HubSpot-Signature-v3": "bm9wZQ=="},
        {"X-HubSpot-Request-Timestamp": now_ms, "X-HubSpot-Signature-v3": APP_SECRET[::-1]},
    ):
        answer = client.post("/webhooks/hubspot", content=b'[{"eventId": 1, "objectId": 2}]', headers=headers)
        assert answer.status_code == 401
        texts.append(answer.text + repr(dict(answer.headers)))
    for headers in (
        {},
        {
            "X-Zendesk-Webhook-Signature-Timestamp": "2026-11-25T10:00:00Z",
            "X-Zendesk-Webhook-Signature": "bm9wZQ==",
        },
    ):
        answer = client.post("/webhooks/events", content=b'{"events": []}', headers=headers)
        assert answer.status_code == 401
        texts.append(answer.text)
    texts.append(client.get("/metrics").text)
    texts.append(repr(cfg))
    assert_no_secret(texts, capture.lines)
