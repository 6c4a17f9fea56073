"""Typed configuration for the Zendesk Sell connector.

Values come from the environment (`ZENDESK_SELL_*`) and are overridden by the YAML section
`crm: {zendesk-sell: {...}}` passed to `from_options`. The token is a `SecretStr`: pydantic masks it
in reprs and logs, and only `client.py` unwraps it, for the `Authorization` header.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from connectors.account_fields import CANONICAL_FIELDS, DEFAULT_USAGE_METRICS, named_map
from connectors.http_settings import HttpClientSettings
from connectors.ratelimit import RateBudget
from domain.settings_values import token_or_empty

# The one place Sell's request budget is stated: "36,000 requests per hour per token, i.e. 10 per
# second" (https://developer.zendesk.com/api-reference/sales-crm/rate-limits). Sell sends no
# rate-limit headers, so we spend `budget_share` of it, evenly.
RATE_BUDGET = RateBudget(36_000, 3600.0, "https://developer.zendesk.com/api-reference/sales-crm/rate-limits")

# A contact's own (non-custom) attributes, from the writable/read-only field lists of
# https://developer.zendesk.com/api-reference/sales-crm/resources/contacts/ . A mapping value naming
# one of these reads that attribute; any other value names a custom field.
CONTACT_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "id",
        "name",
        "owner_id",
        "customer_status",
        "prospect_status",
        "description",
        "email",
        "industry",
        "website",
        "phone",
        "mobile",
        "title",
        "first_name",
        "last_name",
        "created_at",
        "updated_at",
        "creator_id",
        "tags",
        "contact_id",
        "parent_organization_id",
    }
)


class ZendeskSellSettings(HttpClientSettings):
    model_config = SettingsConfigDict(env_prefix="ZENDESK_SELL_", extra="ignore", populate_by_name=True)

    access_token: SecretStr = SecretStr("")
    base_url: str = "https://api.getbase.com"
    # RATE_BUDGET above, per hour (the window Sell states it in).
    requests_per_hour: int = Field(default=RATE_BUDGET.max_calls, gt=0)
    # Spend only this share of the budget, evenly: Sell sends no rate-limit headers to steer by, and
    # another integration on the same token would otherwise push us into 429s.
    budget_share: float = Field(default=0.95, gt=0, le=1)
    deal_stage_id: int | None = None  # None: Sell puts a new deal in the first stage of the default pipeline
    opportunity_key_field: str = "opportunity_key"  # deal custom field, text, marked Filterable
    deal_tags: list[str] = Field(default_factory=lambda: ["oppworker"])
    # List only deals created by the token's user when looking for ours (`creator_id` filter): an
    # account's other deals can outnumber ours by far. Use a token dedicated to this tool; turn off
    # if the token changes hands (deals stay de-duplicated by the upsert key either way).
    deals_by_creator: bool = True
    hot_score: int = Field(default=80, ge=0, le=100)  # deals at or above this score are flagged `hot`
    task_due_hour_utc: int = Field(default=9, ge=0, le=23)
    # canonical field -> contact attribute or custom field name; merged over the defaults below.
    fields: dict[str, str] = Field(default_factory=dict)
    usage_metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_USAGE_METRICS))
    # usage metric -> contact custom field name holding its last-30-days value; merged over defaults.
    usage_fields: dict[str, str] = Field(default_factory=dict)
    incremental: Literal["firehose", "full"] = "firehose"
    # Where owned products come from: the mapped `products` contact field, or purchase history (won
    # deals -> orders -> line items -> products; one extra call per order, every pass).
    products_source: Literal["field", "orders"] = "field"
    product_code: Literal["sku", "name"] = "sku"  # which product attribute is the catalog code
    per_page: int = Field(default=100, ge=1, le=100)  # Core API cap is 100
    stream_limit: int = Field(default=100, ge=1, le=100)  # Firehose `limit` cap is 100
    max_empty_stream_polls: int = Field(default=200, ge=1)
    # The CSM's task names the organisation's main contact: one listing of person contacts per
    # pass, 100 per call (connectors/zendesk_sell/contacts.py); false saves it.
    read_main_contacts: bool = True
    dry_run: bool = False

    # whitespace-only is "not set", never a token
    _blank_token = field_validator("access_token", mode="before")(token_or_empty)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def calls_per_second(self) -> float:
        return self.requests_per_hour * self.budget_share / 3600.0

    def rate_budget(self) -> RateBudget:
        """The spent share as a budget for a sliding window: per second (9 at the defaults), or
        one call per interval when less than one call a second is allowed."""
        per_second = self.calls_per_second
        if per_second >= 1:
            return RateBudget(int(per_second), 1.0, RATE_BUDGET.source)
        return RateBudget(1, 1.0 / per_second, RATE_BUDGET.source)

    def field_map(self) -> dict[str, str]:
        """canonical field -> Sell field: `name`/`owner_id` are the contact's own attributes, every
        other field a contact custom field of the same name, unless config says otherwise."""
        return named_map(CANONICAL_FIELDS, self.fields)

    def usage_map(self) -> dict[str, str]:
        return named_map(self.usage_metrics, self.usage_fields)
