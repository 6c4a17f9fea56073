"""HubSpot connector settings: env (`HUBSPOT_*`) overridden by the YAML `crm: {hubspot: {...}}` section.

The token is a `SecretStr`: it reaches only the Authorization header, never a log line or a repr.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from connectors.hubspot.paths import ApiVersion
from connectors.ratelimit import RateBudget
from connectors.secret_files import SecretFilesSettings
from domain.settings_values import token_or_empty

# The one place HubSpot's request budget is stated. Private apps: 100 requests per rolling 10 s on
# Free and Starter, 190 on Professional and Enterprise, per app
# (https://developers.hubspot.com/changelog/increasing-our-api-limits; hubspot-api.md section 3).
# The default is the lowest tier's; raise `burst_limit` to 190 for a Professional portal. Both the
# connector's own limiter and the worker's cross-process one are built from `burst_limit`.
RATE_BUDGET = RateBudget(100, 10.0, "https://developers.hubspot.com/changelog/increasing-our-api-limits")

# Canonical account field -> HubSpot company property. `name` and the owner are HubSpot's own
# properties; every other field is a custom company property of the same name (the README table).
DEFAULT_FIELD_MAP: dict[str, str] = {
    "name": "name",
    "owner_id": "hubspot_owner_id",
    "plan": "plan",
    "plan_rank": "plan_rank",
    "products": "products",  # multi-select: product codes separated by ';' (HubSpot's encoding)
    "seats_purchased": "seats_purchased",
    "seats_used": "seats_used",
    "mrr": "mrr",
    "currency": "currency",
    "customer_since": "customer_since",
    "contract_end_date": "contract_end_date",
    "journey_stage": "journey_stage",
    "nps": "nps",
    "csat": "csat",
    "open_escalations": "open_escalations",
}

# Usage metric -> company property holding that metric's value over the last 30 days.
DEFAULT_USAGE_MAP: dict[str, str] = {
    "active_users": "active_users",
    "words_translated": "words_translated",
    "api_calls": "api_calls",
    "premium_feature_attempts": "premium_feature_attempts",
}

CANONICAL_FIELDS = frozenset(DEFAULT_FIELD_MAP)


class HubSpotSettings(SecretFilesSettings):
    model_config = SettingsConfigDict(env_prefix="HUBSPOT_", extra="ignore")

    # A Service Key (Development > Keys > Service keys), a project app's static token, or a legacy
    # private app token: all three are sent as `Authorization: Bearer <token>`.
    access_token: SecretStr = Field(default=SecretStr(""), description="HubSpot access token")
    base_url: str = "https://api.hubapi.com"
    # Where a task links to the company (https://{app_domain}/contacts/{portal_id}/record/0-2/{id}):
    # the portal (Hub) id and the portal's app domain (app-eu1.hubspot.com for an EU portal). No
    # portal id: tasks carry no link (the id is not in any record a pass reads).
    portal_id: str | None = Field(default=None, pattern=r"^[0-9]+$")
    app_domain: str = Field(default="app.hubspot.com", pattern=r"^app[a-z0-9-]*\.hubspot\.com$")
    # Date-versioned paths (/crm/objects/2026-03/...) by default; v1-v3 go unsupported in Sept 2027.
    api_version: ApiVersion = "2026-03"
    # Burst limit per rolling window (RATE_BUDGET above).
    burst_limit: int = Field(default=RATE_BUDGET.max_calls, ge=1)
    burst_window_seconds: float = Field(default=RATE_BUDGET.window_seconds, gt=0)
    # Our clock and HubSpot's differ by network latency; a small margin on the window keeps the two
    # from disagreeing about which 10 seconds a call fell in (a 429 we would otherwise cause).
    burst_margin_seconds: float = Field(default=0.3, ge=0)
    # Search has its own limit: "rate limited to five requests per second per account"
    # (https://developers.hubspot.com/docs/api/crm/search, "Limits"; a 2020 changelog said four per
    # token). The limit is per account, shared with other integrations: lower it if they search too.
    search_per_second: float = Field(default=5.0, gt=0)
    search_window_seconds: float = Field(default=1.0, gt=0)
    search_margin_seconds: float = Field(default=0.1, ge=0)
    # Search and association batch endpoints are exempt from the ten-secondly budget (spec files'
    # `x-hubspot-rate-limit-exemptions`). False spends the burst budget on them too (the old
    # behaviour, kept for the bench's before/after and for a portal where HubSpot would count them).
    exempt_search_from_burst: bool = True
    # Stop a pass while this many calls of the account's daily budget are left
    # (X-HubSpot-RateLimit-Daily-Remaining); other integrations share that budget.
    daily_reserve_calls: int = Field(default=1000, ge=0)
    # Waits on a 429 that carries no Retry-After, by policyName.
    rolling_wait_seconds: float = Field(default=10.0, ge=0)
    secondly_wait_seconds: float = Field(default=1.0, ge=0)
    max_attempts: int = Field(default=6, ge=1)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    deal_pipeline: str = "default"
    deal_stage: str = "appointmentscheduled"
    task_type: Literal["TODO", "CALL", "EMAIL"] = "TODO"

    fields: dict[str, str] = Field(default_factory=dict, description="canonical field -> property")
    usage: dict[str, str] = Field(default_factory=dict, description="usage metric -> property")
    # Company properties read only to join SQL usage sources on (connectors/sql): their values
    # travel on each record as `join_keys`, e.g. `product_account_id`.
    account_key_properties: list[str] = Field(default_factory=list)
    # Owned products: the `products` company property, or the line items of closed-won deals.
    products_source: Literal["property", "line_items"] = "property"
    line_item_product_property: str = "hs_sku"  # the line item property holding the product code

    page_size: int = Field(default=100, ge=1, le=100)
    search_page_size: int = Field(default=200, ge=1, le=200)
    batch_size: int = Field(default=100, ge=1, le=100)
    # HubSpot returns 400 when paging a search past 10,000 results; we restart the query on
    # hs_object_id before that (https://developers.hubspot.com/docs/api/crm/search, "Limitations").
    search_result_cap: int = Field(default=10_000, ge=1)
    # Search indexing lags writes by "a few moments": re-read that much before the stored cursor.
    cursor_overlap_seconds: float = Field(default=300.0, ge=0)

    # Outcome loop: read the follow-up tasks' states each pass (one call per 100 tasks of ours).
    track_task_states: bool = True
    # The CSM's task names the company's main contact: 2 calls per page of 100 companies
    # (connectors/hubspot/contacts.py); false saves them.
    read_main_contacts: bool = True

    dry_run: bool = False

    @field_validator("access_token", mode="before")
    @classmethod
    def _blank_token(cls, value: object) -> object:
        return token_or_empty(value)  # whitespace-only is "not set", never a token

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - CANONICAL_FIELDS
        if unknown:
            raise ValueError(f"unknown canonical field(s) in hubspot.fields: {', '.join(sorted(unknown))}")
        return value

    @property
    def field_map(self) -> dict[str, str]:
        """The default mapping with the user's overrides applied (an empty value drops a field)."""
        merged = {**DEFAULT_FIELD_MAP, **self.fields}
        return {k: v for k, v in merged.items() if v}

    @property
    def usage_map(self) -> dict[str, str]:
        merged = {**DEFAULT_USAGE_MAP, **self.usage}
        return {k: v for k, v in merged.items() if v}

    def rate_budget(self) -> RateBudget:
        """The burst budget as configured, its window widened by the margin (as the local limiter)."""
        return RateBudget(
            self.burst_limit, self.burst_window_seconds + self.burst_margin_seconds, RATE_BUDGET.source
        )

    @property
    def company_properties(self) -> list[str]:
        """Every company property a read asks for, in a stable order, without duplicates."""
        names = [
            "hs_object_id",
            "hs_lastmodifieddate",
            *self.field_map.values(),
            *self.usage_map.values(),
            *self.account_key_properties,
        ]
        return list(dict.fromkeys(names))


def load_settings(options: dict[str, Any] | None = None) -> HubSpotSettings:
    """Env first, then the config mapping on top (init kwargs win over env in pydantic-settings)."""
    return HubSpotSettings(**{k: v for k, v in (options or {}).items() if v is not None})
