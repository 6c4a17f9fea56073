"""Typed configuration for the Pipedrive connector.

Values come from the environment (`PIPEDRIVE_*`) and are overridden by the YAML section
`crm: {pipedrive: {...}}`. The token is a `SecretStr`; only `client.py` unwraps it, for the
`x-api-token` header (pipedrive-api.md section 1 [AUTH]).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from connectors.account_fields import CANONICAL_FIELDS, DEFAULT_USAGE_METRICS, named_map
from connectors.http_settings import HttpClientSettings
from connectors.ratelimit import RateBudget
from domain import ConnectorError, FailureKind
from domain.settings_values import token_or_empty

# Account fields (connectors/account_fields.py): `name` and `owner_id` are the organization's own
# attributes; every other one is an organization custom field, found by its *name* (keys are random
# 40-character hashes that differ per company: pipedrive-api.md section 3 "Fields" [CF]).
ORGANIZATION_ATTRIBUTES: frozenset[str] = frozenset(
    {"id", "name", "owner_id", "add_time", "update_time", "visible_to", "address", "label_ids"}
)

# Daily token budget per seat = 30,000 x plan multiplier (pipedrive-api.md section 4 [RL]).
PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
# Burst limit per rolling 2 s for an API token, per plan (same source).
PLAN_BURST = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}
# The one place Pipedrive's burst budget is stated: per API token, per rolling 2 s, the default
# (Growth) plan's 40 (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting;
# pipedrive-api.md section 4 [RL]). Other plans scale `max_calls` by PLAN_BURST; both the
# connector's own window and the worker's cross-process one are built from `rate_budget()`.
RATE_BUDGET = RateBudget(
    PLAN_BURST["growth"], 2.0, "https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting"
)


class PipedriveSettings(HttpClientSettings):
    model_config = SettingsConfigDict(env_prefix="PIPEDRIVE_", extra="ignore", populate_by_name=True)

    api_token: SecretStr = SecretStr("")
    company_domain: str | None = None  # base URL https://{company_domain}.pipedrive.com
    base_url: str | None = None  # wins over company_domain (sandboxes, proxies)
    plan: Literal["lite", "growth", "premium", "ultimate"] = "growth"
    seats: int = Field(default=1, ge=1)
    daily_token_budget: int | None = Field(default=None, gt=0)  # None: computed from plan and seats
    # Stop a pass before spending more than this share of the daily budget: the company's other apps
    # and its people share the same budget, and an exhausted budget answers 429 until midnight.
    budget_share: float = Field(default=0.8, gt=0, le=1)
    burst_limit: int | None = Field(default=None, ge=1)  # None: from the plan
    burst_window_seconds: float = Field(default=RATE_BUDGET.window_seconds, gt=0)
    burst_margin_seconds: float = Field(default=0.1, ge=0)  # our clock vs theirs
    search_per_window: int = Field(default=10, ge=1)  # search: 10 per 2 s on every plan
    opportunity_key_field: str = "Opportunity key"  # deal custom field (varchar: searchable), by name
    # Organization custom field the customer maps the Sell export's id column into when importing
    # (`oppworker migrate --from zendesk-sell --to pipedrive`); by name, like every field.
    source_id_field: str = "Zendesk Sell id"  # the name README and docs/pipedrive.md tell the customer to use
    # Always search for the key before creating a deal (the documented safety net). `org` lists the
    # organization's deals instead (10 tokens, no 10-per-2-s search window, and a list sees a deal the
    # moment it exists, where how soon search sees it is undocumented; archived deals are not in it, but
    # an archived deal is closed and known from the listing of our deals or the ledger). `unlisted`
    # skips the look for keys absent from a complete listing of our deals taken earlier in this pass.
    search_before_create: Literal["always", "org", "unlisted"] = "always"
    pipeline_id: int | None = None
    stage_id: int | None = None
    activity_type: str = "task"  # activity type key_string
    fields: dict[str, str] = Field(default_factory=dict)  # canonical -> organization field name
    usage_metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_USAGE_METRICS))
    usage_fields: dict[str, str] = Field(default_factory=dict)  # metric -> organization field name
    products_source: Literal["deals", "field"] = "deals"  # won deals' products, or the `products` field
    page_limit: int = Field(default=500, ge=1, le=500)  # v2 cursor paging max
    incremental_overlap_seconds: float = Field(default=60.0, ge=0)  # clock skew allowance for updated_since
    # The CSM's task names the organization's main contact: one listing of persons per pass,
    # 500 per call (connectors/pipedrive/contacts.py); false saves it.
    read_main_contacts: bool = True
    dry_run: bool = False

    # whitespace-only is "not set", never a token
    _blank_token = field_validator("api_token", mode="before")(token_or_empty)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def api_base(self) -> str:
        """Checked here, not in a model validator: a model-level ValidationError prints every input,
        the token included."""
        if not self.base_url and not self.company_domain:
            raise ConnectorError(
                "set PIPEDRIVE_COMPANY_DOMAIN (acme for acme.pipedrive.com) or PIPEDRIVE_BASE_URL",
                FailureKind.CONFIG,
            )
        return self.base_url or f"https://{self.company_domain}.pipedrive.com"

    @property
    def access_token(self) -> SecretStr:
        """The name `worker.service.connections.open_connector` looks for to mask the token in logs and key the
        shared limiter by account."""
        return self.api_token

    @property
    def token_budget(self) -> int:
        if self.daily_token_budget is not None:
            return self.daily_token_budget
        return 30_000 * PLAN_MULTIPLIER[self.plan] * self.seats

    @property
    def burst(self) -> int:
        return self.burst_limit or PLAN_BURST[self.plan]

    def rate_budget(self) -> RateBudget:
        """The burst budget as configured (plan or override), its window widened by the margin, as
        the connector's own limiter uses it."""
        return RateBudget(
            self.burst, self.burst_window_seconds + self.burst_margin_seconds, RATE_BUDGET.source
        )

    def field_map(self) -> dict[str, str]:
        return named_map(CANONICAL_FIELDS, self.fields)

    def usage_map(self) -> dict[str, str]:
        return named_map(self.usage_metrics, self.usage_fields)
