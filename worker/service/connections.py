"""A CRM's connector as the workers use it: behind the shared, cross-worker rate limiter."""

from __future__ import annotations

import logging
from typing import Any

from connectors.capabilities import CallsHttpApi, SharesDailyBudget
from connectors.ratelimit import RateBudget
from connectors.registry import build_connector
from worker.pipeline.settings import Settings
from worker.service.limiter import RedisSlidingWindowLimiter
from worker.service.observability import register_secret
from worker.service.pipedrive_budget import attach_budget, shared_daily_budget
from worker.service.resources import redis_client
from worker.service.settings import ServiceSettings, service_settings

log = logging.getLogger(__name__)


def shared_limiter(
    cfg: ServiceSettings, crm: str, account: str = "default", default: RateBudget | None = None
) -> RedisSlidingWindowLimiter | None:
    """The budget of one CRM account (portal/token): CRMs limit per token or portal, so two
    portals configured in two deployments sharing a Redis keep separate windows. A budget set in
    the service settings wins over the connector's own (`default`, from its CRM's docs)."""
    budget = cfg.budget(crm) or default
    if budget is None:
        return None
    return RedisSlidingWindowLimiter(
        redis_client(), cfg.key("limit", crm, account), budget.max_calls, budget.window_seconds
    )


def open_connector(settings: Settings, crm: str) -> Any:
    """The CRM's connector with the shared, cross-worker rate limiter in front of its HTTP client."""
    cfg = service_settings()
    connector = build_connector(crm, {**settings.connector_options(crm), "dry_run": False})
    if not isinstance(connector, CallsHttpApi):
        return connector  # no HTTP calls: nothing to mask, no budget to share
    for secret in connector.secrets():
        register_secret(secret)  # masked in every log line, should one slip through
    limiter = shared_limiter(cfg, crm, connector.rate_key(), connector.rate_budget())
    if limiter is not None:
        connector.add_limiter(limiter)
    if isinstance(connector, SharesDailyBudget):  # one day's count across every worker process
        key = cfg.key("daily-budget", crm, connector.rate_key())
        attach_budget(connector, shared_daily_budget(redis_client(), key, connector))
    return connector
