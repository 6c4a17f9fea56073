"""Webhook signature checks: HubSpot's v3 scheme and a Zendesk-style HMAC for product events.

Both are HMAC-SHA256, base64-encoded, compared in constant time, over a timestamp that must be
recent so a captured request cannot be replayed later (event-id de-duplication covers replays
inside the window).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(app secret, method + uri + raw body + timestamp)), timestamp in ms.
    https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
    (HubSpot's own client: hubspot/utils/signature.py, the same string, MAX_ALLOWED_TIMESTAMP 300 s)."""
    return _b64_hmac(secret, method.encode() + uri.encode() + body + timestamp.encode())


# HubSpot's request-validation page asks to decode these percent-escapes in the URI before hashing
# (v3); HubSpot's own Python client hashes the URI as received. Both forms are accepted.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)


def hubspot_uri_forms(uri: str) -> list[str]:
    """The URI as received, and with HubSpot's listed escapes decoded (when that differs)."""
    decoded = _ESCAPE.sub(lambda m: _DECODED[m.group(0).upper()], uri)
    return [uri] if decoded == uri else [uri, decoded]


def zendesk_style(secret: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, timestamp + raw body)): how Zendesk signs webhooks
    (X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp headers)
    https://developer.zendesk.com/documentation/webhooks/verifying/ ."""
    return _b64_hmac(secret, timestamp.encode() + body)


def fresh(timestamp_seconds: float, tolerance: float, now: float | None = None) -> bool:
    """Not older than `tolerance` seconds (and not absurdly far in the future)."""
    now = time.time() if now is None else now
    return -tolerance <= now - timestamp_seconds <= tolerance


def matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())  # type: ignore[union-attr]
