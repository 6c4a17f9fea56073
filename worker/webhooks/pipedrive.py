"""The Pipedrive webhook receiver, `POST /webhooks/pipedrive`: verification and de-duplication as
pure functions, plus a route factory the app mounts (worker/webhooks.py is being reorganised; it
needs one line: `routes.append(pipedrive_route(first_time=..., rescore=...))`).

Pipedrive signs nothing; a webhook carries the HTTP Basic credentials given when it was registered
(`oppworker pipedrive setup --webhook-url ...`), so we compare both parts in constant time, always
both, so timing says nothing about which one was wrong. Webhooks v2 bodies are
`{"meta": {"id", "action", "entity", "entity_id", "attempt", ...}, "data", "previous"}`; a delivery
is retried up to three times with the same `meta.id`, so `meta.id` is the de-duplication key.
Organization events re-score that organization; deal events re-score the deal's organization
(`data.org_id`, or `previous.org_id` on a delete, whose `data` is null). pipedrive-api.md section 5.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, StrictInt, StrictStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from connectors.secret_files import SecretFilesSettings
from domain.settings_values import configured_secret

SOURCE = "pipedrive"


class PipedriveWebhookSettings(SecretFilesSettings):
    model_config = SettingsConfigDict(env_prefix="PIPEDRIVE_WEBHOOK_", extra="ignore")

    user: str | None = None
    password: SecretStr | None = None
    max_body_bytes: int = 1_000_000

    @field_validator("password", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        return configured_secret(value)  # empty = not configured, never an accepted password


def basic_credentials_match(header: str | None, user: str, password: SecretStr) -> bool:
    """True when an `Authorization: Basic ...` header names exactly this user and password."""
    given_user, given_password = b"", b""
    if header and header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        given_user, _, given_password = decoded.partition(b":")
    user_ok = hmac.compare_digest(given_user, user.encode())
    password_ok = hmac.compare_digest(given_password, password.get_secret_value().encode())
    return bool(header) and user_ok and password_ok


class Meta(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr | StrictInt
    action: str
    entity: str
    entity_id: StrictStr | StrictInt | None = None
    attempt: int | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    meta: Meta
    data: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None

    def organization_id(self) -> str | None:
        if self.meta.entity == "organization":
            return str(self.meta.entity_id) if self.meta.entity_id is not None else None
        if self.meta.entity == "deal":
            org = (self.data or {}).get("org_id") or (self.previous or {}).get("org_id")
            return str(org) if org is not None else None
        return None


@dataclass
class Accepted:
    replayed: bool = False
    organizations: list[str] = field(default_factory=list)


def parse_event(body: bytes) -> Event:
    """Raises ValueError with a reason for anything that is not one v2 webhook event."""
    try:
        return Event.model_validate(json.loads(body))
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        raise ValueError(f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None


def accept(event: Event, first_time: Callable[[str, str], bool]) -> Accepted:
    """De-duplicate by `meta.id`; say which organization (if any) should be re-scored."""
    if not first_time(SOURCE, str(event.meta.id)):
        return Accepted(replayed=True)
    org = event.organization_id()
    return Accepted(organizations=[org] if org else [])


def pipedrive_route(
    *,
    first_time: Callable[[str, str], bool],
    rescore: Callable[[str, list[str], str], int],
    settings: PipedriveWebhookSettings | None = None,
) -> Any:
    """The Starlette route. 503 until credentials are configured, 401 on wrong credentials (nothing
    enqueued), 413 over the size limit, 400 for a malformed body, 200 otherwise (a replay included)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    cfg = settings or PipedriveWebhookSettings()

    async def receive(request: Request) -> Response:
        if not cfg.user or cfg.password is None:
            return JSONResponse(
                {"error": "Pipedrive webhooks are not configured (PIPEDRIVE_WEBHOOK_USER/PASSWORD)"}, 503
            )
        if not basic_credentials_match(request.headers.get("authorization"), cfg.user, cfg.password):
            return JSONResponse(
                {"error": "invalid credentials"}, 401, headers={"WWW-Authenticate": 'Basic realm="oppworker"'}
            )
        body = await request.body()
        if len(body) > cfg.max_body_bytes:
            return JSONResponse({"error": f"body larger than {cfg.max_body_bytes} bytes"}, 413)
        try:
            event = parse_event(body)
        except ValueError as exc:
            return JSONResponse({"error": f"malformed body: {exc}"}, 400)
        result = await run_in_threadpool(accept, event, first_time)
        queued = 0
        if result.organizations:
            queued = await run_in_threadpool(rescore, SOURCE, result.organizations, "pipedrive webhook")
        return JSONResponse({"replayed": result.replayed, "rescore": queued})

    return Route("/webhooks/pipedrive", receive, methods=["POST"])
