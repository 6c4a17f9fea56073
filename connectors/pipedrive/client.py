"""HTTP to Pipedrive on top of the shared `connectors.http.ApiClient`: the `x-api-token` header,
token costs and both paging styles (how Pipedrive's errors read: errors.py). Nothing here knows
about accounts or deals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import ApiClient
from connectors.pipedrive.errors import ERRORS, make_describe, refine
from connectors.pipedrive.limits import (
    CallGate,
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


class _ApiTokenAuth(requests.auth.AuthBase):
    """Puts the token in `x-api-token` (pipedrive-api.md [AUTH]) and drops the shared client's
    Authorization header, which carries no secret here."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        request.headers["x-api-token"] = self._token.get_secret_value()
        return request


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
            **settings.client_options(),
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
