"""How a non-2xx response becomes a `ConnectorError`: the CRM's own reading of its error body
(`DescribeError`), the kind its error table resolved, Retry-After in either of its forms, secrets an
echoing proxy reflects masked, and the path without its query string (query parameters can carry
record data). Shared by every CRM through connectors/http.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from connectors.error_table import DEFAULT_TABLE, ErrorResolution, ErrorTable
from connectors.redact import mask_secrets
from domain import ConnectorError

# (message, correlation id) from an error response; the message must not echo request headers.
DescribeError = Callable[[requests.Response], tuple[str, str | None]]
# A CRM's last word on an error the table resolved, from the body (HubSpot's 429 policyName).
Refine = Callable[[requests.Response, ConnectorError], ConnectorError]


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def default_describe(response: requests.Response) -> tuple[str, str | None]:
    return (response.text[:300] or response.reason or "no body"), None


def error_from(
    response: requests.Response,
    describe: DescribeError,
    resolution: ErrorResolution,
    correlation_label: str = "correlation id",
    secrets: Sequence[str] = (),
) -> ConnectorError:
    """The `ConnectorError` for a non-2xx response, with the kind its CRM's table resolved. Any of
    `secrets` an error body echoes (a proxy that reflects the Authorization header) is masked."""
    message, correlation = describe(response)
    message = mask_secrets(message, secrets)
    status = response.status_code
    text = f"HTTP {status} from {response.request.method} {request_path(response.url)}: {message}"
    if correlation:
        text += f" ({correlation_label} {correlation})"
    return ConnectorError(
        text,
        resolution.kind,
        status=status,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        correlation_id=correlation,
    )


def classify_status(
    response: requests.Response, describe: DescribeError, table: ErrorTable = DEFAULT_TABLE
) -> ConnectorError:
    """The error a status means by `table` (the generic one unless a CRM's is given)."""
    return error_from(response, describe, table.resolve(response.status_code))


def request_path(url: str) -> str:
    """The URL without its query string: query parameters can carry record data, never needed here."""
    return url.split("?", 1)[0]
