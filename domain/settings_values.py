"""How every settings class reads the two kinds of value that used to read differently per class
(issue #16): secrets, where empty means "not configured", and lists, where a JSON list and a
comma list are both accepted.

Kept in `domain` because connectors' and the worker's settings both use them and neither may
import the other's.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr


def configured_secret(value: Any) -> Any:
    """A secret as given, stripped (a secrets file ends in a newline); an empty or whitespace-only
    one becomes None, "not configured", never a key: an empty HMAC key would let anyone sign."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        return SecretStr(raw) if raw else None
    return value


def token_or_empty(value: Any) -> Any:
    """For tokens whose settings default to `SecretStr("")` (the connector says "not set"): the
    same rule as `configured_secret`, with "" standing for not configured."""
    return configured_secret(value) or SecretStr("")


def list_setting(value: Any) -> Any:
    """One rule for every list setting, in the environment or the file: a JSON list
    (`["hubspot","files"]`) or a comma list (`hubspot,files`); blanks are dropped."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(
                "looks like a JSON list but is not valid JSON; or give a comma list: a,b"
            ) from None
        if not isinstance(parsed, list):
            raise ValueError("expected a list")
        return parsed
    return [part.strip() for part in text.split(",") if part.strip()]
