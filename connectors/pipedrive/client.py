"""HTTP to Pipedrive on top of the shared `connectors.http.ApiClient`: the `x-api-token` header, the
one status table, Pipedrive's error envelope, token costs and both paging styles. Nothing here knows
about accounts or deals.

Errors read `{"success": false, "error": "...", "error_info": "...", "data": null,
"additional_data": null}`; limit errors add `code` (403 `feature_capping_deals_limit`)
(pipedrive-api.md section 6 [RESP][HTTP][CL-403]). The 429 body is undocumented, so a 429 is read from
the `x-ratelimit-*` headers: with requests left in the 2-second window it can only be the daily
budget (stop), otherwise wait `x-ratelimit-reset` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import requests
from pydantic import SecretStr

from connectors.error_table import BAD_TOKEN, REFUSED, RETRY_LATER, SLOW_DOWN, ErrorTable
from connectors.http import ApiClient, DescribeError
from connectors.pipedrive.limits import (
    CallGate,
    DailyLimitReached,
    DailyTokenBudget,
    ServerWindow,
    budget_for,
    token_cost,
    window_for,
)
from connectors.pipedrive.settings import PipedriveSettings
from connectors.ratelimit import RateLimiter
from connectors.secret_files import missing_token_message
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


class _ApiTokenAuth(requests.auth.AuthBase):
    """Puts the token in `x-api-token` (pipedrive-api.md [AUTH]) and drops the shared client's
    Authorization header, which carries no secret here."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        request.headers["x-api-token"] = self._token.get_secret_value()
        return request


def only_rate_limited(error: ConnectorError) -> bool:
    """For creates: a 429 was not processed, so resend; a timeout or a 5xx may have been."""
    return error.kind is FailureKind.RATE_LIMITED


class PipedriveClient:
    """Thin verbs over ApiClient. Returns decoded envelopes; pages through both paging styles."""

    def __init__(
        self,
        settings: PipedriveSettings,
        *,
        limiter: RateLimiter | None = None,
        search_limiter: RateLimiter | None = None,
        budget: DailyTokenBudget | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        token = settings.api_token
        if not token.get_secret_value():
            raise ConnectorError(
                f"{missing_token_message('PIPEDRIVE_API_TOKEN')}: copy it from Personal preferences > API",
                FailureKind.CONFIG,
            )
        self.settings = settings
        burst = settings.rate_budget()
        window = burst.window_seconds
        secret, base = token.get_secret_value(), settings.api_base
        self.search_limiter = search_limiter or window_for(
            "search", base, secret, settings.search_per_window, window
        )
        self.budget = budget or budget_for(
            settings.api_base, token.get_secret_value(), int(settings.token_budget * settings.budget_share)
        )
        self.server_window = ServerWindow(sleep=sleep) if sleep else ServerWindow()
        self.tokens_spent = 0
        session = session or requests.Session()
        session.auth = _ApiTokenAuth(token)
        session.hooks["response"].append(
            lambda response, *a, **k: self.server_window.observe(response.headers)
        )
        self.api = ApiClient(
            settings.api_base,
            SecretStr(""),
            limiter=limiter or window_for("burst", base, secret, burst.max_calls, window),
            describe_error=make_describe(token),
            errors=ERRORS,
            refine=refine,
            timeout=(settings.connect_timeout, settings.read_timeout),
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            session=session,
            sleep=sleep,
        )

    @property
    def stats(self):
        return self.api.stats

    def _tally(self, cost: int) -> None:
        self.tokens_spent += cost

    def _gate(self, method: str, path: str) -> CallGate:
        search = path.endswith("/search") or "/itemSearch" in path
        return CallGate(
            token_cost(method, path),
            self.budget,
            self.server_window,
            self.search_limiter if search else None,
            self._tally,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        endpoint: str | None = None,
        retry_if: Callable[[ConnectorError], bool] | None = None,
    ) -> Any:
        return self.api.request(
            method,
            path,
            params=params,
            json=json,
            limiter=self._gate(method, path),
            endpoint=endpoint or path,
            retry_if=retry_if,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None, endpoint: str | None = None) -> Any:
        return self.call("GET", path, params=params, endpoint=endpoint)

    def data(self, path: str, params: Mapping[str, Any] | None = None, endpoint: str | None = None) -> Any:
        """The `data` of a one-record GET."""
        return (self.get(path, params, endpoint) or {}).get("data")

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        endpoint: str | None = None,
        retry_if: Callable[[ConnectorError], bool] | None = None,
    ) -> Any:
        return self.call("POST", path, json=dict(body), endpoint=endpoint, retry_if=retry_if)

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, limit: int | None = None
    ) -> Iterator[Any]:
        """Every item of a v2 list: `cursor` + `limit` (max 500), until `additional_data.next_cursor`
        is null (pipedrive-api.md section 3 "Pagination" [PAG])."""
        base = {**(params or {}), "limit": limit or self.settings.page_limit}
        cursor: str | None = None
        while True:
            envelope = self.get(path, {**base, **({"cursor": cursor} if cursor else {})}, endpoint=path) or {}
            items = envelope.get("data")
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ConnectorError(
                    f"unexpected body from GET {path}: data is not a list", FailureKind.TRANSIENT
                )
            yield from items
            previous, cursor = cursor, (envelope.get("additional_data") or {}).get("next_cursor")
            if not cursor or not items:
                return
            if cursor == previous:  # a server repeating its cursor must not loop us forever
                raise ConnectorError(f"GET {path} returned the same next_cursor twice", FailureKind.TRANSIENT)

    def pages_v1(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a v1 list: `start` + `limit` (max 500), until
        `additional_data.pagination.more_items_in_collection` is false [PAG]."""
        start = 0
        while True:
            envelope = self.get(path, {**(params or {}), "start": start, "limit": 500}, endpoint=path) or {}
            items = envelope.get("data") or []
            if not isinstance(items, list):
                raise ConnectorError(
                    f"unexpected body from GET {path}: data is not a list", FailureKind.TRANSIENT
                )
            yield from items
            paging = (envelope.get("additional_data") or {}).get("pagination") or {}
            if not paging.get("more_items_in_collection") or not items:
                return
            next_start = int(paging.get("next_start") or start + len(items))
            if next_start <= start:
                raise ConnectorError(
                    f"GET {path} did not advance next_start past {start}", FailureKind.TRANSIENT
                )
            start = next_start

    def close(self) -> None:
        self.api.close()
