"""HubSpot over the shared `ApiClient`: its endpoints (its error shapes and 429 policies: errors.py).

HTTP only: this module knows paths and JSON envelopes, not accounts or opportunities. Retries,
timeouts and the limiter are the shared client's; errors.py teaches it how HubSpot's errors read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from connectors.error_table import NOT_AN_ERROR
from connectors.http import ApiClient
from connectors.hubspot.errors import ERRORS as ERRORS  # re-exported: tests read the table here
from connectors.hubspot.errors import describe_error, make_refine, only_if_not_processed
from connectors.hubspot.limits import DailyBudget
from connectors.hubspot.paths import Paths, exempt_from_ten_secondly
from connectors.hubspot.settings import HubSpotSettings
from connectors.ratelimit import NoLimit, SlidingWindowLimiter
from connectors.secret_files import missing_token_message
from domain import ConnectorError, FailureKind


class HubSpotClient:
    """Typed helpers for the endpoints the connector uses, on the paths of `settings.api_version`;
    every call goes through `_request` (daily budget, then the ApiClient that counts it as HubSpot does)."""

    def __init__(self, settings: HubSpotSettings, session: requests.Session | None = None) -> None:
        if not settings.access_token.get_secret_value():
            raise ConnectorError(
                f"{missing_token_message('HUBSPOT_ACCESS_TOKEN')}: give a Service Key, a project app's "
                "static token or a legacy private app token",
                FailureKind.CONFIG,
            )
        self.settings = settings
        self.paths = Paths(settings.api_version)
        self.daily = DailyBudget(settings.daily_reserve_calls)
        budget = settings.rate_budget()
        self.burst = SlidingWindowLimiter(budget.max_calls, budget.window_seconds)
        # Search has its own per-second limit (https://developers.hubspot.com/docs/api/crm/search).
        self.search_limiter = SlidingWindowLimiter(
            max(1, int(settings.search_per_second * settings.search_window_seconds)),
            settings.search_window_seconds + settings.search_margin_seconds,
        )
        session = session or requests.Session()
        session.hooks["response"].append(self.daily.observe)
        common: dict[str, Any] = {
            "describe_error": describe_error,
            "errors": ERRORS,
            "refine": make_refine(settings),
            "timeout": (5.0, settings.timeout_seconds),
            "max_attempts": settings.max_attempts,
            "backoff_base": settings.backoff_base_seconds,
            "extra_headers": {"Content-Type": "application/json"},
            "session": session,
        }
        # Calls that count against the ten-secondly burst budget (the worker chains its shared
        # budget onto this client's limiter).
        self.api = ApiClient(settings.base_url, settings.access_token, limiter=self.burst, **common)
        # Search and association batch calls are exempt from it (`x-hubspot-rate-limit-exemptions:
        # ["ten-secondly"]` in the 2026-03 and v3/v4 spec files): they go through a client of their
        # own so they neither wait for nor spend the burst budget. Same session, same stats.
        exempt_limiter = NoLimit() if settings.exempt_search_from_burst else self.burst
        self.exempt_api = ApiClient(
            settings.base_url, settings.access_token, limiter=exempt_limiter, **common
        )
        self.exempt_api.stats = self.api.stats

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Every call goes here: the daily budget first, then the client that counts it the way
        HubSpot does (search and association batches outside the ten-secondly budget)."""
        self.daily.check()
        api = self.exempt_api if exempt_from_ten_secondly(method, path) else self.api
        return api.request(method, path, **kwargs)

    @property
    def stats(self):
        return self.api.stats

    # -- objects -----------------------------------------------------------------------------
    def list_page(self, object_type: str, properties: Sequence[str], after: str | None) -> dict[str, Any]:
        """GET objects/{type} (2026-03 or v3 path): one page (limit <= 100), cursor in paging.next.after."""
        params: dict[str, Any] = {"limit": self.settings.page_size, "properties": ",".join(properties)}
        if after:
            params["after"] = after
        return self._request(
            "GET", self.paths.objects(object_type), params=params, endpoint=f"{object_type}.list"
        )

    def history_page(self, object_type: str, properties: Sequence[str], after: str | None) -> dict[str, Any]:
        """GET list with `propertiesWithHistory`: every version of those properties, newest first;
        HubSpot caps such pages at 50 records."""
        params: dict[str, Any] = {
            "limit": 50,
            "properties": ",".join(properties),
            "propertiesWithHistory": ",".join(properties),
        }
        if after:
            params["after"] = after
        return self._request(
            "GET", self.paths.objects(object_type), params=params, endpoint=f"{object_type}.history"
        )

    def search_page(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST objects/{type}/search: one page (limit <= 200), under the per-second search limit and
        outside the ten-secondly budget."""
        return self._request(
            "POST",
            self.paths.search(object_type),
            json=dict(body),
            limiter=self.search_limiter,
            endpoint=f"{object_type}.search",
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        properties: Sequence[str],
        id_property: str | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """POST batch/read (<= 100 inputs). The spec requires `propertiesWithHistory`; [] is fine.
        Unknown ids come back as a 207 with per-item errors, which is not a failure here."""
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": list(properties),
            "propertiesWithHistory": [],
        }
        if id_property:
            body["idProperty"] = id_property
        return self._request(
            "POST",
            self.paths.batch(object_type, "read"),
            json=body,
            endpoint=endpoint or f"{object_type}.read",
        )

    def batch_create(
        self, object_type: str, inputs: Sequence[Mapping[str, Any]], *, idempotent: bool
    ) -> dict[str, Any]:
        """POST batch/create (<= 100 inputs). `idempotent=False` disables blind retries of errors
        that may hide a completed write (see `only_if_not_processed`)."""
        return self._request(
            "POST",
            self.paths.batch(object_type, "create"),
            json={"inputs": list(inputs)},
            endpoint=f"{object_type}.create",
            retry_if=None if idempotent else only_if_not_processed,
        )

    def association_batch_read(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, Any]:
        """POST associations/{from}/{to}/batch/read (v4 or 2026-03): targets of each source record;
        outside the ten-secondly budget."""
        return self._request(
            "POST",
            self.paths.association_batch(from_type, to_type, "read"),
            json={"inputs": [{"id": i} for i in ids]},
            endpoint=f"{from_type}-{to_type}.associations.read",
        )

    # -- owners, properties, token -----------------------------------------------------------
    def owners_page(self, after: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": 100, "archived": "false"}
        if after:
            params["after"] = after
        return self._request("GET", self.paths.owners(), params=params, endpoint="owners.list")

    def get_property(self, object_type: str, name: str) -> dict[str, Any] | None:
        """The property's definition, or None when it does not exist (a 404 here means absent)."""
        return self._request(
            "GET",
            self.paths.properties(object_type, name),
            endpoint="properties.read",
            errors=ERRORS.but(404, NOT_AN_ERROR),
        )

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        return self._request(
            "POST", self.paths.properties(object_type), json=dict(definition), endpoint="properties.create"
        )

    def probe(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        """One call whose status is the answer (setup's scope probes): (status, JSON body or {}).
        No retries and no raising: a 403 body is read for the scopes it names. Under the burst
        limiter and the daily budget like any call; the token reaches only the header."""
        self.daily.check()
        self.burst.acquire()
        url = self.api.base_url + path
        headers = {"Authorization": f"Bearer {self.settings.access_token.get_secret_value()}"}
        try:
            response = self.api.session.request(
                method, url, headers=headers, timeout=(5.0, self.settings.timeout_seconds), **kwargs
            )
        except requests.RequestException as exc:
            raise ConnectorError(
                f"cannot reach HubSpot at {self.api.base_url}: {type(exc).__name__}", FailureKind.TRANSIENT
            ) from None
        self.api.stats.calls += 1
        self.api.stats.by_status[response.status_code] += 1
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}

    def token_scopes(self) -> list[str]:
        """Scopes granted to a *legacy* private app token: POST /oauth/v2/private-apps/get/access-token-info
        with {"tokenKey": token} (https://developers.hubspot.com/docs/api/private-apps). Service Keys
        and project apps' static tokens are not known there; setup probes instead. The token goes in
        the body here by HubSpot's design; the body is never logged."""
        body = self._request(
            "POST",
            "/oauth/v2/private-apps/get/access-token-info",
            json={"tokenKey": self.settings.access_token.get_secret_value()},
            endpoint="token.info",
        )
        return list((body or {}).get("scopes") or [])

    def close(self) -> None:
        self.api.close()
