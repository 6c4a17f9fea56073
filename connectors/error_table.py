"""What to do about an HTTP error status, as one table per CRM instead of if/elif chains.

Modelled on the Airbyte CDK (`airbyte_cdk/sources/streams/http/error_handlers/response_models.py`):
each status resolves to an *action* (retry, fail, ignore, back off for the rate limit) and a
*failure type* saying whose fault it is (config: the operator's settings or token; system: our
request or the data, the CRM refused it; transient: nobody's, try again). The resolution also names
the `domain.FailureKind` the rest of the code already decides by.

A CRM's table lists the statuses its docs name; other 4xx fail as a refusal, other 5xx retry.
Behaviour that depends on the body, not the status (HubSpot's DAILY 429), stays in that CRM's
client as a refinement of the table's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from domain import FailureKind


class ResponseAction(str, Enum):
    RETRY = "retry"  # send again after a backoff
    RATE_LIMITED = "rate_limited"  # send again after Retry-After (or the CRM's documented wait)
    FAIL = "fail"  # raise: sending again cannot help
    IGNORE = "ignore"  # not an error for this call: the request returns None


class FailureType(str, Enum):
    CONFIG = "config_error"  # the operator's settings or token: fix them
    SYSTEM = "system_error"  # our request or the data: the CRM refused it
    TRANSIENT = "transient_error"  # nobody's: the same request may succeed later


@dataclass(frozen=True, slots=True)
class ErrorResolution:
    action: ResponseAction
    failure_type: FailureType
    kind: FailureKind
    hint: str = ""

    def __post_init__(self) -> None:
        # The action and the kind must agree, or the client would retry what callers think is final.
        expected = {
            ResponseAction.RETRY: {FailureKind.TRANSIENT},
            ResponseAction.RATE_LIMITED: {FailureKind.RATE_LIMITED},
            ResponseAction.FAIL: {FailureKind.CONFIG, FailureKind.AUTH, FailureKind.PERMANENT},
            ResponseAction.IGNORE: set(FailureKind),
        }[self.action]
        if self.kind not in expected:
            raise ValueError(f"{self.action.value} cannot carry failure kind {self.kind.value}")


RETRY_LATER = ErrorResolution(ResponseAction.RETRY, FailureType.TRANSIENT, FailureKind.TRANSIENT)
SLOW_DOWN = ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.TRANSIENT, FailureKind.RATE_LIMITED)
BAD_TOKEN = ErrorResolution(
    ResponseAction.FAIL, FailureType.CONFIG, FailureKind.AUTH, "check the token and its scopes"
)
REFUSED = ErrorResolution(ResponseAction.FAIL, FailureType.SYSTEM, FailureKind.PERMANENT)
NOT_AN_ERROR = ErrorResolution(ResponseAction.IGNORE, FailureType.SYSTEM, FailureKind.PERMANENT)


@dataclass(frozen=True)
class ErrorTable:
    """status -> resolution for one CRM; `client_error`/`server_error` cover unlisted 4xx/5xx."""

    crm: str
    by_status: Mapping[int, ErrorResolution] = field(default_factory=dict)
    client_error: ErrorResolution = REFUSED
    server_error: ErrorResolution = RETRY_LATER

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_status", MappingProxyType(dict(self.by_status)))

    def resolve(self, status: int) -> ErrorResolution:
        if status in self.by_status:
            return self.by_status[status]
        return self.server_error if status >= 500 else self.client_error

    def but(self, status: int, resolution: ErrorResolution) -> ErrorTable:
        """This table with one status answered differently: for one call whose 404 means "absent"."""
        return ErrorTable(
            self.crm, {**self.by_status, status: resolution}, self.client_error, self.server_error
        )


# Any HTTP API: the statuses whose meaning RFC 9110 fixes (401/403 credentials, 429 slow down,
# 423 locked, 5xx the server's trouble). CRMs refine this with what their docs add.
DEFAULT_TABLE = ErrorTable(
    "http",
    {401: BAD_TOKEN, 403: BAD_TOKEN, 423: RETRY_LATER, 429: SLOW_DOWN},
)
