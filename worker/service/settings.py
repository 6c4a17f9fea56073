"""Settings of the service processes (worker, beat, webhooks): broker, schedules, secrets, limits.

Kept apart from `worker.pipeline.settings.Settings` (what a pass needs) because a pass run from the CLI needs
none of this. Same rules: typed, `OPPWORKER_`-prefixed environment variables, plus the conventional
`REDIS_URL` / `CELERY_BROKER_URL` names compose files and platforms set. Secrets are `SecretStr`
and may also come as files (compose/Kubernetes secrets) from `OPPWORKER_SECRETS_DIR`
(default `/run/secrets`), by the rule the CRM tokens follow too (connectors/secret_files.py): a file
named `oppworker_hubspot_app_secret` holds the HubSpot app secret.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from connectors.secret_files import SecretFilesSettings
from domain.settings_values import configured_secret, list_setting
from worker.pipeline.settings import Settings, load_settings
from worker.pipeline.settings_check import (
    check_environment,
    env_names,
    plain_settings_error,
    plain_validation_error,
    register_model,
)


class Schedule(BaseModel):
    """When beat starts passes of one CRM. Minutes of 0 switch a kind of pass off."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored

    incremental_minutes: float = Field(default=15, ge=0)
    full_cron: str | None = "0 2 * * *"  # minute hour day-of-month month day-of-week, UTC
    poll_minutes: float = Field(default=0, ge=0)  # CRMs without push (Zendesk Sell's stream)


DEFAULT_SCHEDULES: dict[str, Schedule] = {
    "files": Schedule(),
    "hubspot": Schedule(),
    "zendesk-sell": Schedule(poll_minutes=3),
}


class Budget(BaseModel):
    """A CRM request budget shared by every worker process, set here only to override the one the
    connector states from its CRM's docs (`rate_budget()`, e.g. connectors/hubspot/settings.py)."""

    model_config = ConfigDict(extra="forbid")

    max_calls: int = Field(ge=1)
    window_seconds: float = Field(gt=0)


class ServiceSettings(SecretFilesSettings):
    model_config = SettingsConfigDict(env_prefix="OPPWORKER_", env_nested_delimiter="__", extra="ignore")

    config_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("OPPWORKER_CONFIG", "config_file")
    )
    redis_url: str = Field(
        default="redis://localhost:6379/0",
        validation_alias=AliasChoices("OPPWORKER_REDIS_URL", "REDIS_URL", "redis_url"),
    )
    broker_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPPWORKER_BROKER_URL", "CELERY_BROKER_URL", "broker_url")
    )
    result_backend: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPPWORKER_RESULT_BACKEND", "CELERY_RESULT_BACKEND", "result_backend"),
    )
    key_prefix: str = "oppworker"
    # Redis transport: a message not acked within this many seconds is delivered again (a killed
    # worker's task comes back). Must exceed every countdown/ETA we use: see `max_countdown`.
    visibility_timeout: int = Field(default=3600, ge=5)
    unacked_restore_interval: int = Field(default=30, ge=1)
    task_soft_time_limit: int = Field(default=1800, ge=1)
    task_time_limit: int = Field(default=1900, ge=2)
    max_retries: int = Field(default=8, ge=0)
    pass_lock_seconds: int = Field(
        default=3600, ge=10
    )  # refreshed by every step; a dead pass frees it after this
    crms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["files"]
    )  # CRMs beat schedules: JSON or comma list
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    budgets: dict[str, Budget] = Field(default_factory=dict)
    metrics_port: int = Field(default=9808, ge=0)  # worker's exporter; 0 = off
    log_json: bool = True
    # webhooks
    hubspot_app_secret: SecretStr | None = None
    events_secret: SecretStr | None = None
    events_crm: str = "files"  # the CRM whose accounts product events name
    public_base_url: str | None = None  # as HubSpot sees us, when behind a proxy (signature URI)
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    webhook_max_body_bytes: int = Field(default=1_000_000, ge=1)
    dedupe_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)  # HubSpot retries for up to 24 h
    rescore_debounce_seconds: float = Field(default=5, ge=0)

    @field_validator("crms", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return list_setting(value)

    @field_validator("hubspot_app_secret", "events_secret", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        return configured_secret(value)

    @property
    def broker(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def backend(self) -> str:
        return self.result_backend or self.redis_url

    @property
    def max_countdown(self) -> float:
        """Longest retry countdown allowed: well inside the visibility timeout, or a delayed task
        would be handed out a second time while the first worker still holds it."""
        return max(1.0, self.visibility_timeout * 0.5)

    def schedule(self, crm: str) -> Schedule:
        return self.schedules.get(crm) or DEFAULT_SCHEDULES.get(crm) or Schedule()

    def budget(self, crm: str) -> Budget | None:
        """The configured override; None means the connector's own budget applies."""
        return self.budgets.get(crm)

    def key(self, *parts: str) -> str:
        return ":".join((self.key_prefix, *parts))

    def pass_settings(self) -> Settings:
        return load_settings(self.config_file)


def load_service_settings(**values: Any) -> ServiceSettings:
    """The service settings, strictly: an unknown OPPWORKER_* variable or a bad value is a
    `ConfigurationError` in plain words (no pydantic dump, no secret's value)."""
    check_environment(known_environment())
    try:
        return ServiceSettings(**values)
    except ValidationError as exc:
        raise plain_validation_error(exc, "service setting ") from None
    except SettingsError as exc:  # a value the environment source could not even parse
        raise plain_settings_error(exc) from None


def known_environment() -> set[str]:
    """Every OPPWORKER_* name some setting reads (the pass's and the services')."""
    return env_names(Settings, ServiceSettings)


register_model(ServiceSettings)


@lru_cache(maxsize=1)
def service_settings() -> ServiceSettings:
    """The process's service settings, read once (tests call `service_settings.cache_clear()`)."""
    return load_service_settings()
