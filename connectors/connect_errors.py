"""Why a connection to a CRM host failed, in words a user can act on (issue #16).

requests wraps urllib3 wraps socket errors; the class names differ across versions, so the
cause is read from the exception chain's text. Never the URL's query or any header.
"""

from __future__ import annotations

import requests


def connect_cause(exc: BaseException) -> str | None:
    """DNS, refused or connect timeout, in words; None for a failure after connecting (a reset)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    text = repr(exc)
    if (
        "NameResolutionError" in text
        or "Name or service not known" in text
        or "getaddrinfo" in text
        or "nodename nor servname" in text
        or "Temporary failure in name resolution" in text
    ):
        return "DNS: host name not found"
    if "Connection refused" in text or "ConnectionRefusedError" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text:
        return "connect timeout"
    return None
