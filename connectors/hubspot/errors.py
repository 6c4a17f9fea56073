"""How HubSpot's errors read: the status table, the error body's message and missing scopes, the
429 policies, and which failures are safe to resend.

Apart from the client because these rules come from HubSpot's error-handling page and change
with it, while the client's endpoints change with the API paths; `scopes.py` and the tests read
them without a client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from connectors.error_table import BAD_TOKEN, REFUSED, RETRY_LATER, SLOW_DOWN, ErrorTable
from connectors.http import Refine
from connectors.hubspot.settings import HubSpotSettings
from domain import ConnectorError, FailureKind

# Docs: https://developers.hubspot.com/docs/api-reference/error-handling (error body: status, message,
# category, correlationId, errors[{message, code, context}]; "treat all fields as optional").

# Status -> (action, whose fault), from the error-handling page's "status codes to handle" table
# (/work/shared/reference/hubspot-api.md section 3). 477 "Migration in progress" sends Retry-After.
ERRORS = ErrorTable(
    "hubspot",
    {
        400: REFUSED,  # validation: the body names the property
        401: BAD_TOKEN,
        403: BAD_TOKEN,  # missing scope: errors[].context names it (missing_scopes)
        404: REFUSED,
        409: REFUSED,  # conflict, e.g. a unique property value taken
        414: REFUSED,  # URI too long: our property list
        423: RETRY_LATER,  # locked: "wait at least 2 seconds"
        429: SLOW_DOWN,  # refined by policyName below (DAILY stops the run)
        477: RETRY_LATER,  # migration in progress: honour Retry-After
    },
)


def describe_error(response: requests.Response) -> tuple[str, str | None]:
    """(message, correlationId) from a HubSpot error body. Never echoes request headers; the only
    text taken is what HubSpot wrote about the error."""
    try:
        body = response.json()
    except ValueError:
        return (response.reason or "no body"), response.headers.get("X-HubSpot-Correlation-Id")
    if not isinstance(body, dict):
        return str(body)[:300], None
    parts = [str(body.get("category") or body.get("errorType") or "").strip(), str(body.get("message") or "")]
    details = [
        str(e.get("message")) for e in body.get("errors") or [] if isinstance(e, dict) and e.get("message")
    ]
    scopes = missing_scopes(body)
    if scopes:
        details.append("missing scope(s): " + ", ".join(scopes))
    message = ": ".join(p for p in parts if p) or (response.reason or "error")
    if details:
        message += " (" + "; ".join(details[:3]) + ")"
    return message[:500], body.get("correlationId") or response.headers.get("X-HubSpot-Correlation-Id")


def missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """Scope names a 403 says are required. HubSpot puts them in `errors[].context` under
    `requiredGranularScopes` or `requiredScopes` (lists; some payloads stringify the context)."""
    found: list[str] = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        context = error.get("context") or {}
        if isinstance(context, str):
            try:
                context = json.loads(context)
            except ValueError:
                context = {}
        for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
            for scope in context.get(key) or []:
                if scope not in found:
                    found.append(str(scope))
    return found


def make_refine(settings: HubSpotSettings) -> Refine:
    """HubSpot's refinement of the table's 429, which depends on the body, not the status.

    429 bodies carry `policyName` (TEN_SECONDLY_ROLLING, SECONDLY for search, DAILY). Without a
    Retry-After header we wait by policy; DAILY cannot clear within a run, so it stops the run.
    """

    def refine(response: requests.Response, error: ConnectorError) -> ConnectorError:
        if response.status_code != 429:
            return error
        try:
            policy = str((response.json() or {}).get("policyName") or "")
        except (ValueError, AttributeError):
            policy = ""
        if policy == "DAILY":
            return ConnectorError(
                "HubSpot daily API limit reached (policy DAILY); stopping the run. It resets at midnight "
                f"in the account's time zone. {error}",
                FailureKind.PERMANENT,
                status=429,
                correlation_id=error.correlation_id,
            )
        if error.retry_after is None:
            error.retry_after = (
                settings.secondly_wait_seconds if policy == "SECONDLY" else settings.rolling_wait_seconds
            )
        return error

    return refine


def only_if_not_processed(error: ConnectorError) -> bool:
    """Retry predicate for non-idempotent creates: 429 and 423 mean HubSpot did nothing, so sending
    again is safe; a timeout or a 5xx may have created the records, so the caller must look first."""
    return error.status in (429, 423)
