"""HTTP to Sell, on top of the shared `connectors.http.ApiClient`: auth, pacing, retries, and Sell's
error bodies. Nothing here knows about accounts or deals.

Errors (https://developer.zendesk.com/api-reference/sales-crm/errors/) read
`{"errors": [{"error": {"code", "message", "details", "resource", "field"}}],
  "meta": {"http_status": "422 Unprocessable Entity", "logref": "<request id>"}}`;
we surface code, message and field (a JSON pointer) plus the logref Zendesk support asks for.
Sell sends no `Retry-After` and no rate-limit headers
(https://developer.zendesk.com/api-reference/sales-crm/rate-limits), so a 429 backs off with full
jitter (the shared client's default) while the paced limiter keeps us under the hourly budget.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests
from pydantic import SecretStr

from connectors.error_table import BAD_TOKEN, REFUSED, RETRY_LATER, SLOW_DOWN, ErrorTable
from connectors.http import ApiClient, DescribeError
from connectors.ratelimit import PacedLimiter, RateLimiter
from connectors.redact import mask_secrets
from connectors.secret_files import missing_token_message
from connectors.zendesk_sell.settings import ZendeskSellSettings
from domain import ConnectorError, FailureKind


def make_describe(token: SecretStr) -> DescribeError:
    """Read Sell's error body; scrub the token in case any text ever echoes it."""

    def describe(response: requests.Response) -> tuple[str, str | None]:
        logref = response.headers.get("X-Request-Id")
        try:
            body = response.json()
        except ValueError:
            body = None
        parts: list[str] = []
        if isinstance(body, Mapping):
            meta = body.get("meta")
            if isinstance(meta, Mapping) and meta.get("logref"):
                logref = str(meta["logref"])
            for entry in body.get("errors") or []:
                error = entry.get("error", entry) if isinstance(entry, Mapping) else None
                if not isinstance(error, Mapping):
                    continue
                text = f"{error.get('code', 'error')}: {error.get('message', '')}".rstrip(": ")
                if error.get("field"):
                    text += f" (field {error['field']})"
                if error.get("details"):
                    text += f" - {error['details']}"
                parts.append(text)
        message = "; ".join(parts[:5]) or (response.text[:200] if body is None else "") or response.reason
        return mask_secrets(message, [token]) or "no body", logref

    return describe


# Status -> (action, whose fault), from https://developer.zendesk.com/api-reference/sales-crm/errors/
# (zendesk-sell-api.md "Errors": 400 invalid_payload / invalid_user_agent, 401 unauthorized, 403
# insufficient_scope, 404 not_found, 410 a Firehose position past retention, 422 a resource error,
# 429 rate_limit_exceeded, 5xx server_error / temporarily_unavailable). Sell documents no 423.
ERRORS = ErrorTable(
    "zendesk-sell",
    {
        400: REFUSED,
        401: BAD_TOKEN,
        403: BAD_TOKEN,
        404: REFUSED,
        410: REFUSED,  # the reader falls back to a full scan (reader.StreamExpired)
        422: REFUSED,  # the record: `field` names the JSON pointer
        429: SLOW_DOWN,  # no Retry-After: full-jitter backoff
        503: RETRY_LATER,
    },
)


_PACERS: dict[tuple[str, str, float], PacedLimiter] = {}
_PACERS_LOCK = threading.Lock()


def paced_limiter_for(settings: ZendeskSellSettings) -> PacedLimiter:
    """One pacer per token (and base URL) in this process: Sell's budget is per token, and a pass
    that starts right after another (a new connector each time) must not spend the same second
    twice. Keyed by a hash, so the token itself is not kept as a dictionary key."""
    digest = hashlib.sha256(settings.access_token.get_secret_value().encode()).hexdigest()[:16]
    key = (settings.base_url, digest, settings.calls_per_second)
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = PacedLimiter(settings.calls_per_second)
        return _PACERS[key]


def only_rate_limited(error: ConnectorError) -> bool:
    """For creates: a 429 was not processed, so resend; a timeout or 5xx may have been."""
    return error.kind is FailureKind.RATE_LIMITED


class SellClient:
    """Thin verbs over ApiClient; returns decoded envelopes."""

    def __init__(
        self,
        settings: ZendeskSellSettings,
        *,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not settings.access_token.get_secret_value():
            raise ConnectorError(
                f"{missing_token_message('ZENDESK_SELL_ACCESS_TOKEN')}: create one in Sell > Settings > "
                "Integrations > OAuth > Access Tokens",
                FailureKind.CONFIG,
            )
        self.settings = settings
        self.api = ApiClient(
            settings.base_url,
            settings.access_token,
            limiter=limiter or paced_limiter_for(settings),
            describe_error=make_describe(settings.access_token),
            errors=ERRORS,
            correlation_label="logref",
            **settings.client_options(),
            session=session,
            sleep=sleep,
        )

    @property
    def stats(self):
        return self.api.stats

    def get(self, path: str, params: Mapping[str, Any] | None = None, endpoint: str | None = None) -> Any:
        return self.api.request("GET", path, params=params, endpoint=endpoint)

    def post(
        self,
        path: str,
        data: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        *,
        endpoint: str | None = None,
        retry_if: Callable[[ConnectorError], bool] | None = None,
    ) -> Any:
        """POST `{"data": ...}` (Sell's request envelope) and return the response envelope."""
        return self.api.request(
            "POST", path, params=params, json={"data": dict(data)}, endpoint=endpoint, retry_if=retry_if
        )

    def collection(
        self, path: str, params: Mapping[str, Any] | None = None, *, read_ahead: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every item's `data` of a paged Core API collection, page by page
        (https://developer.zendesk.com/api-reference/sales-crm/requests/#pagination): `page` from 1,
        `per_page` up to 100, stop when `meta.links.next_page` is absent (or a page is empty, so a
        server that keeps offering a next page with nothing on it cannot loop us forever).

        `read_ahead` fetches the next page in a background thread while the caller works on this
        one: on a long scan the caller's own work (scoring, writing) then overlaps the paced wait
        instead of adding to it. At most two pages are held."""
        base = {**(params or {}), "per_page": self.settings.per_page}

        def fetch(page: int) -> tuple[list[Any], bool]:
            envelope = self.get(path, {**base, "page": page}, endpoint=path)
            items = envelope.get("items") if isinstance(envelope, Mapping) else None
            if not isinstance(items, list):
                raise ConnectorError(f"unexpected body from GET {path}: no items list", FailureKind.TRANSIENT)
            links = (envelope.get("meta") or {}).get("links") or {}
            return items, bool(links.get("next_page")) and bool(items)

        def data(items: list[Any]) -> Iterator[Any]:
            for item in items:
                yield item.get("data") if isinstance(item, Mapping) else item

        if not read_ahead:
            page, more = 1, True
            while more:
                items, more = fetch(page)
                yield from data(items)
                page += 1
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sell-read-ahead") as pool:
            pending: Future[tuple[list[Any], bool]] = pool.submit(fetch, 1)
            page = 1
            try:
                while True:
                    items, more = pending.result()
                    if more:
                        page += 1
                        pending = pool.submit(fetch, page)
                    yield from data(items)
                    if not more:
                        return
            finally:
                pending.cancel()  # an abandoned scan stops after the page in flight

    def close(self) -> None:
        self.api.close()
