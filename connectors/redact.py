"""Keeping secrets out of every error text a connector or a settings check produces (#17).

Why here and shared: a CRM error body can echo the request back (HubSpot's does on some gateway
errors: the Authorization header included), and that text became the exception message, a log line
and the ledger's `runs.error`. The Zendesk Sell client already scrubbed its token from its own
message; this module is that rule for every connector: `ApiClient` masks each error it raises, with
the token it sent and any bearer credential or Authorization header the text echoes. Pydantic's
validation errors quote the rejected input (`input_value='pat-...'`), which for a token in the wrong
place of a settings file is the token itself: `plain_validation_error` states each problem without
its input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pydantic import SecretStr, ValidationError

from domain import ConnectorError

if TYPE_CHECKING:
    import requests

MASK = "***"
# `Authorization: Bearer abc`, `"authorization": "abc"`, `Bearer abc`, `token=abc`: the value goes.
_ECHOES = [
    re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?)(?:bearer\s+|basic\s+)?[^\s"',;}]+"""),
    re.compile(r"""(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"""),
    re.compile(
        r"""(?i)\b((?:access_?token|token_?key|token|api_?key|secret)["']?\s*[:=]\s*["']?)[^\s"',;}&]+"""
    ),
]


def mask_secrets(text: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """`text` with each secret (4 characters or more) and any echoed credential replaced by ***."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value.strip()) >= 4:
            text = text.replace(value, MASK)
    for pattern in _ECHOES:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def masked_error(error: ConnectorError, secrets: Iterable[str | SecretStr | None]) -> ConnectorError:
    """The same error (kind, status, retry-after, correlation id) with its message masked."""
    text = str(error)
    clean = mask_secrets(text, secrets)
    if clean == text:
        return error
    masked = ConnectorError(
        clean,
        error.kind,
        status=error.status,
        retry_after=error.retry_after,
        correlation_id=error.correlation_id,
    )
    return masked


def masking_describe(
    describe: Callable[[requests.Response], tuple[str, str | None]], secrets: Iterable[str | SecretStr | None]
) -> Callable[[requests.Response], tuple[str, str | None]]:
    """Wrap a connector's error-body reader so its message is masked before anything sees it."""
    kept = list(secrets)

    def masked(response: requests.Response) -> tuple[str, str | None]:
        message, correlation = describe(response)
        return mask_secrets(message, kept), correlation

    return masked


def plain_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, `source: field.path: message`, never the rejected input itself."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error.get("loc", ())) or "(top level)"
        lines.append(f"{source}: {where}: {mask_secrets(str(error.get('msg', 'invalid')))}")
    return "\n".join(lines) or f"{source}: invalid settings"
