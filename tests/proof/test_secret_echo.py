"""A CRM error body that echoes the request, Authorization header included, must not carry the
token into a log line, the CLI's output, `oppworker runs --json` or the ledger (#17); nor may a token
in the wrong place of a settings file come back as pydantic's `input_value`.

The sandboxes answer with the request's own headers in the error body, as a misbehaving gateway
does; `responses` does the same for the shared client with a plain-text body. The searches reuse
tests/proof/test_secrets.py's transcript (CLI output, tracebacks, every file under the output folder,
the ledger database included) and its DEBUG log capture.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from pydantic import SecretStr

from connectors.http import ApiClient
from domain import ConnectorError
from tests.hubspot.seed import seed_sample
from tests.proof.test_secrets import (
    HUBSPOT_TOKEN,
    SELL_TOKEN,
    Capture,
    Transcript,
    assert_no_secret,
    hubspot_env,
    sell_env,
)
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.sandboxes.server import Request, Response
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.cli import cli


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every log record at DEBUG, formatted with its traceback (as tests/proof/test_secrets.py does)."""
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def echo_headers(path_prefix: str, status: int, shape: str):
    """A hook answering `status` with the request's headers in the body, in the CRM's error shape."""

    def hook(request: Request) -> Response | None:
        if not request.path.startswith(path_prefix):
            return None
        echoed = f"request was {request.method} {request.path} with headers {dict(request.headers)}"
        if shape == "hubspot":
            body = {
                "status": "error",
                "message": echoed,
                "category": "VALIDATION_ERROR",
                "correlationId": "c0ffee-echo",
                "errors": [{"message": f"Authorization: {request.headers.get('Authorization')}"}],
            }
        else:
            body = {
                "errors": [
                    {"error": {"code": "invalid", "message": echoed, "details": str(dict(request.headers))}}
                ],
                "meta": {"http_status": f"{status} Unprocessable Entity", "logref": "echo-1"},
            }
        return Response(status, body)

    return hook


def test_hubspot_error_body_echoing_the_token_never_reaches_logs_output_or_ledger(
    capture: Capture, tmp_path: Path
):
    transcript = Transcript()
    out = tmp_path / "out"
    with HubSpotSandbox(
        token=HUBSPOT_TOKEN, burst_limit=10_000, burst_window=1.0, search_limit=10_000
    ) as box:
        seed_sample(box, 20, modified_ms=int(time.time() * 1000) - 86_400_000)
        env = hubspot_env(box, out)
        assert transcript.invoke(env, "hubspot", "setup").exit_code == 0
        box.server.before.insert(0, echo_headers("/crm/objects/2026-03/companies", 400, "hubspot"))
        result = transcript.invoke(env, "run", "--crm", "hubspot", "--as-of", "2026-11-20T00:00:00+00:00")
        runs = transcript.invoke(env, "runs", "--json")
    transcript.add_files(out)
    assert result.exit_code != 0
    assert "with headers" in result.output and "***" in result.output  # the echo was read, and masked
    stored = json.loads(runs.output)
    assert any("***" in str(run.get("error") or "") for run in stored), (
        stored
    )  # runs.error holds the masked text
    assert_no_secret(transcript.texts, capture.lines)


def test_sell_error_body_echoing_the_token_is_masked_by_the_shared_rule(capture: Capture, tmp_path: Path):
    transcript = Transcript()
    out = tmp_path / "out"
    with SellSandbox(token=SELL_TOKEN) as sell:
        sell.add_user("Casey CSM", "casey@example.com")
        sell.generate_accounts(10, seed=3)
        env = {**sell_env(sell, out)}
        sell.server.before.insert(0, echo_headers("/v2/contacts", 422, "sell"))
        result = transcript.invoke(env, "run", "--crm", "zendesk-sell")
        transcript.invoke(env, "runs", "--json")
    transcript.add_files(out)
    assert result.exit_code != 0 and "with headers" in result.output
    assert_no_secret(transcript.texts, capture.lines)


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 500])
def test_the_shared_client_masks_a_plain_text_echo_for_every_connector(status):
    token = "tok-5ecre7-0123456789abcdef"
    responses.add(
        responses.GET,
        "https://crm.example/v1/things",
        status=status,
        body=f"upstream said: Authorization: Bearer {token} (and again: {token})",
    )
    client = ApiClient(
        "https://crm.example", SecretStr(token), max_attempts=1, describe_error=lambda r: (r.text, None)
    )
    with pytest.raises(ConnectorError) as caught:
        client.request("GET", "/v1/things")
    assert token not in str(caught.value) and token[4:20] not in str(caught.value)
    assert "***" in str(caught.value) and caught.value.status == status


@pytest.mark.parametrize(
    "text",
    [
        "crm:\n  hubspot: {token}\n",
        "crm: {token}\n",
        "write_batch_size: {token}\n",
        "crm:\n  hubspot:\n    burst_limit: {token}\n",
    ],
)
def test_a_token_in_the_wrong_place_of_a_settings_file_is_not_printed(tmp_path, text):
    config = tmp_path / "settings.yaml"
    config.write_text(text.format(token=HUBSPOT_TOKEN), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "run", "--crm", "hubspot", "--output-dir", str(tmp_path / "out")],
        obj={},
        env={"HUBSPOT_ACCESS_TOKEN": "x" * 12},
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "input_value" not in result.output
    assert "settings" in result.output and ("crm" in result.output or "write_batch_size" in result.output)
    assert_no_secret([result.output, repr(result.exception)], [])
