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
from typing import Any

import requests
from pydantic import SecretStr

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
from domain import ConnectorError, FailureKind

# THE status table: status -> (failure kind, what it means for Pipedrive). Anything unlisted: 5xx is
# transient, every other 4xx permanent.
STATUS_TABLE: dict[int, tuple[FailureKind, str]] = {
    400: (FailureKind.PERMANENT, "request refused (validation)"),
    401: (FailureKind.AUTH, "API token refused: check PIPEDRIVE_API_TOKEN (Personal preferences > API)"),
    402: (FailureKind.AUTH, "the company account is not open (payment required)"),
    403: (FailureKind.AUTH, "forbidden: the token's user lacks the permission"),
    404: (FailureKind.PERMANENT, "not found"),
    410: (FailureKind.PERMANENT, "gone"),
    422: (FailureKind.PERMANENT, "unprocessable (e.g. the 40-webhooks-per-user limit)"),
    423: (FailureKind.TRANSIENT, "locked"),
    429: (FailureKind.RATE_LIMITED, "rate limited"),
    500: (FailureKind.TRANSIENT, "server error"),
    502: (FailureKind.TRANSIENT, "bad gateway"),
    503: (FailureKind.TRANSIENT, "unavailable"),
    504: (FailureKind.TRANSIENT, "gateway timeout"),
}
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
            message = (response.text or "")[:200] if "json" in response.headers.get("Content-Type", "") else ""
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


def classify(response: requests.Response, describe: DescribeError) -> ConnectorError:
    status = response.status_code
    kind, meaning = STATUS_TABLE.get(status, (FailureKind.TRANSIENT if status >= 500 else FailureKind.PERMANENT, ""))
    message, correlation = describe(response)
    body = error_body(response)
    retry_after: float | None = None
    if status == 403 and body is None:
        kind, meaning = FailureKind.RATE_LIMITED, "blocked by Cloudflare after repeated 429s"
        retry_after = CLOUDFLARE_BLOCK_WAIT
    elif status == 403 and body is not None and body.get("code"):
        kind, meaning = FailureKind.PERMANENT, "a plan limit (cap) was reached"
    elif status == 429:
        remaining, reset = response.headers.get("x-ratelimit-remaining"), response.headers.get("x-ratelimit-reset")
        if remaining is not None and remaining.isdigit() and int(remaining) > 0:
            kind, meaning = FailureKind.PERMANENT, "daily token budget exhausted (it resets at midnight); stopping"
        else:
            try:
                retry_after = float(reset) if reset is not None else None
            except ValueError:
                retry_after = None
    path = response.url.split("?", 1)[0]
    text = f"HTTP {status} from {response.request.method} {path}: {meaning}: {message}".replace(": : ", ": ")
    if correlation:
        text += f" (correlation id {correlation})"
    error_type = DailyLimitReached if status == 429 and kind is FailureKind.PERMANENT else ConnectorError
    return error_type(text, kind, status=status, retry_after=retry_after, correlation_id=correlation)


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
            raise ConnectorError("PIPEDRIVE_API_TOKEN is not set (Personal preferences > API)", FailureKind.CONFIG)
        self.settings = settings
        window = settings.burst_window_seconds + settings.burst_margin_seconds
        secret, base = token.get_secret_value(), settings.api_base
        self.search_limiter = search_limiter or window_for("search", base, secret, settings.search_per_window, window)
        self.budget = budget or budget_for(
            settings.api_base, token.get_secret_value(), int(settings.token_budget * settings.budget_share)
        )
        self.server_window = ServerWindow(**({"sleep": sleep} if sleep else {}))
        self.tokens_spent = 0
        session = session or requests.Session()
        session.auth = _ApiTokenAuth(token)
        session.hooks["response"].append(lambda response, *a, **k: self.server_window.observe(response.headers))
        self.api = ApiClient(
            settings.api_base,
            SecretStr(""),
            limiter=limiter or window_for("burst", base, secret, settings.burst, window),
            describe_error=make_describe(token),
            classify=classify,
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
            token_cost(method, path), self.budget, self.server_window, self.search_limiter if search else None,
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
            method, path, params=params, json=json, limiter=self._gate(method, path),
            endpoint=endpoint or path, retry_if=retry_if,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None, endpoint: str | None = None) -> Any:
        return self.call("GET", path, params=params, endpoint=endpoint)

    def data(self, path: str, params: Mapping[str, Any] | None = None, endpoint: str | None = None) -> Any:
        """The `data` of a one-record GET."""
        return (self.get(path, params, endpoint) or {}).get("data")

    def post(self, path: str, body: Mapping[str, Any], *, endpoint: str | None = None,
             retry_if: Callable[[ConnectorError], bool] | None = None) -> Any:
        return self.call("POST", path, json=dict(body), endpoint=endpoint, retry_if=retry_if)

    def pages(self, path: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[Any]:
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
                raise ConnectorError(f"unexpected body from GET {path}: data is not a list", FailureKind.TRANSIENT)
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
                raise ConnectorError(f"unexpected body from GET {path}: data is not a list", FailureKind.TRANSIENT)
            yield from items
            paging = (envelope.get("additional_data") or {}).get("pagination") or {}
            if not paging.get("more_items_in_collection") or not items:
                return
            next_start = int(paging.get("next_start") or start + len(items))
            if next_start <= start:
                raise ConnectorError(f"GET {path} did not advance next_start past {start}", FailureKind.TRANSIENT)
            start = next_start

    def close(self) -> None:
        self.api.close()
