"""How Pipedrive's errors read: the status table, the error envelope, and what a 403 or a 429
really means.

Errors read `{"success": false, "error": "...", "error_info": "...", "data": null,
"additional_data": null}`; limit errors add `code` (403 `feature_capping_deals_limit`)
(pipedrive-api.md section 6 [RESP][HTTP][CL-403]). The 429 body is undocumented, so a 429 is read from
the `x-ratelimit-*` headers: with requests left in the 2-second window it can only be the daily
budget (stop), otherwise wait `x-ratelimit-reset` seconds.

Apart from the client because these rules follow Pipedrive's documented responses, while the
client follows its endpoints, paging and token costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import requests
from pydantic import SecretStr

from connectors.error_table import BAD_TOKEN, REFUSED, RETRY_LATER, SLOW_DOWN, ErrorTable
from connectors.http import DescribeError
from connectors.pipedrive.limits import DailyLimitReached
from domain import ConnectorError, FailureKind

# Status -> (action, whose fault), from pipedrive-api.md section 6 [HTTP]: 400 validation, 401 bad
# token, 402 company account not open, 403 permission (or, with a `code`, a plan cap; or Cloudflare's
# HTML page after repeated 429s: refined below), 404/410 absent, 422 unprocessable (e.g. the
# 40-webhooks-per-user limit), 423 locked, 429 rate limited (burst or daily: refined below), 5xx retry.
_HINTS = {
    401: "API token refused: check PIPEDRIVE_API_TOKEN (Personal preferences > API)",
    402: "the company account is not open (payment required)",
    403: "forbidden: the token's user lacks the permission",
    422: "unprocessable (e.g. the 40-webhooks-per-user limit)",
}
ERRORS = ErrorTable(
    "pipedrive",
    {
        400: REFUSED,
        401: replace(BAD_TOKEN, hint=_HINTS[401]),
        402: replace(BAD_TOKEN, hint=_HINTS[402]),
        403: replace(BAD_TOKEN, hint=_HINTS[403]),
        404: REFUSED,
        410: REFUSED,
        422: replace(REFUSED, hint=_HINTS[422]),
        423: RETRY_LATER,
        429: SLOW_DOWN,
        500: RETRY_LATER,
        502: RETRY_LATER,
        503: RETRY_LATER,
        504: RETRY_LATER,
    },
)
CLOUDFLARE_BLOCK_WAIT = 60.0  # api_token traffic that keeps going after 429s gets a Cloudflare 403 page


def error_body(response: requests.Response) -> Mapping[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, Mapping) else None


def make_describe(token: SecretStr) -> DescribeError:
    """`error: error_info [code]` from the envelope; the token is scrubbed should any text echo it."""

    def describe(response: requests.Response) -> tuple[str, str | None]:
        body = error_body(response)
        if body is None:
            message = (
                (response.text or "")[:200] if "json" in response.headers.get("Content-Type", "") else ""
            )
            message = message or response.reason or "no body"
        else:
            parts = [str(body.get("error") or "").strip(), str(body.get("error_info") or "").strip()]
            message = ": ".join(p for p in parts if p) or (response.reason or "error")
            if body.get("code"):
                message += f" [code {body['code']}]"
        secret = token.get_secret_value()
        if secret:
            message = message.replace(secret, "***")
        return message[:500], response.headers.get("X-Correlation-Id")

    return describe


def _with(
    error: ConnectorError,
    kind: FailureKind,
    meaning: str,
    retry_after: float | None,
    error_type: type[ConnectorError] = ConnectorError,
) -> ConnectorError:
    return error_type(
        f"{error} ({meaning})",
        kind,
        status=error.status,
        retry_after=retry_after,
        correlation_id=error.correlation_id,
    )


def refine(response: requests.Response, error: ConnectorError) -> ConnectorError:
    """Pipedrive's last word on what the table resolved, from the body and the rate-limit headers.

    - 403 with no JSON body is Cloudflare's block after repeated 429s: wait, then retry.
    - 403 with a `code` (e.g. `feature_capping_deals_limit`) is a plan cap: a refusal, not the token.
    - 429: the body is undocumented, so the `x-ratelimit-*` headers decide. Requests left in the
      2-second window means the daily budget is spent (stop, `DailyLimitReached`); otherwise wait
      `x-ratelimit-reset` seconds (pipedrive-api.md section 4 [RL])."""
    status, body = response.status_code, error_body(response)
    if status == 403 and body is None:
        return _with(
            error,
            FailureKind.RATE_LIMITED,
            "blocked by Cloudflare after repeated 429s",
            CLOUDFLARE_BLOCK_WAIT,
        )
    if status == 403 and body is not None and body.get("code"):
        return _with(error, FailureKind.PERMANENT, "a plan limit (cap) was reached", None)
    if status == 429:
        remaining, reset = (
            response.headers.get("x-ratelimit-remaining"),
            response.headers.get("x-ratelimit-reset"),
        )
        if remaining is not None and remaining.isdigit() and int(remaining) > 0:
            return _with(
                error,
                FailureKind.PERMANENT,
                "daily token budget exhausted (it resets at midnight); stopping",
                None,
                DailyLimitReached,
            )
        try:
            wait = float(reset) if reset is not None else error.retry_after
        except ValueError:
            wait = error.retry_after
        return _with(error, FailureKind.RATE_LIMITED, "rate limited", wait)
    hint = ERRORS.resolve(status).hint
    return _with(error, error.kind, hint, error.retry_after) if hint else error


def only_rate_limited(error: ConnectorError) -> bool:
    """For creates: a 429 was not processed, so resend; a timeout or a 5xx may have been."""
    return error.kind is FailureKind.RATE_LIMITED
