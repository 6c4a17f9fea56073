"""A CRM's connector as the workers use it: behind the shared, cross-worker rate limiter."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from connectors.registry import build_connector
from worker.pipeline.settings import Settings
from worker.service.limiter import RedisSlidingWindowLimiter, attach
from worker.service.observability import register_secret
from worker.service.resources import redis_client
from worker.service.settings import ServiceSettings, service_settings

log = logging.getLogger(__name__)


def shared_limiter(cfg: ServiceSettings, crm: str, account: str = "default") -> RedisSlidingWindowLimiter | None:
    """The budget of one CRM account (portal/token): CRMs limit per token or portal, so two
    portals configured in two deployments sharing a Redis keep separate windows."""
    budget = cfg.budget(crm)
    if budget is None:
        return None
    return RedisSlidingWindowLimiter(
        redis_client(), cfg.key("limit", crm, account), budget.max_calls, budget.window_seconds
    )


def open_connector(settings: Settings, crm: str) -> Any:
    """The CRM's connector with the shared, cross-worker rate limiter in front of its HTTP client."""
    cfg = service_settings()
    connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": False})
    token = getattr(getattr(connector, "settings", None), "access_token", None)
    account = "default"
    if token is not None and hasattr(token, "get_secret_value") and token.get_secret_value():
        register_secret(token.get_secret_value())  # masked in every log line, should one slip through
        account = hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:16]  # never the token itself
    limiter = shared_limiter(cfg, crm, account)
    if limiter is not None and not attach(connector, limiter):
        log.warning("connector %s exposes no HTTP client; the shared limiter is not in front of it", crm)
    return connector
