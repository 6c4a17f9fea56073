"""Accounts and the facts connectors read about them, in canonical field names.

Every connector maps its CRM's fields onto these names; nothing downstream knows a CRM field name.
Validation here is lenient on purpose where CRMs are sloppy (blank strings become None) and strict
where a wrong value would build an offer on garbage (negative seats, NaN money are rejected).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.bounds import MAX_AMOUNT, MAX_COUNT, MAX_NAME_LENGTH, check_amount, check_usage_value
from domain.journey import JourneyStage
from domain.money import currency_code


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


class Account(BaseModel):
    """One customer account (a company in HubSpot, an organisation contact in Zendesk Sell)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    name: str = Field(default="", max_length=MAX_NAME_LENGTH)
    owner_id: str | None = None
    owner_email: str | None = None
    plan: str | None = None
    plan_rank: int = Field(default=0, ge=0, le=MAX_COUNT)
    products: frozenset[str] = frozenset()
    # Bounded by what the ledger's columns hold and the engine can compute with (domain/bounds.py).
    seats_purchased: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    seats_used: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    mrr: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    # ISO 4217 code, None when the CRM records none (the catalog's currency then applies).
    currency: str | None = None
    customer_since: date | None = None
    contract_end_date: date | None = None
    journey_stage: JourneyStage | None = None
    nps: float | None = Field(default=None, ge=-100, le=10)
    csat: float | None = Field(default=None, ge=0, le=5)
    open_escalations: int = Field(default=0, ge=0, le=MAX_COUNT)
    # For the CSM's task (issue #15 item 6): the account's page in the CRM and its main contact,
    # where the source says. Text only, like every task field: HTML-bound bodies are escaped.
    crm_url: str | None = Field(default=None, max_length=500, pattern=r"^https://\S+$")
    main_contact: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)

    @field_validator(
        "owner_id",
        "owner_email",
        "plan",
        "plan_rank",
        "products",
        "seats_purchased",
        "seats_used",
        "mrr",
        "customer_since",
        "contract_end_date",
        "journey_stage",
        "nps",
        "csat",
        "open_escalations",
        "crm_url",
        "main_contact",
        mode="before",
    )
    @classmethod
    def _blanks(cls, value: object) -> object:
        """CRMs and CSV exports send "" for "not set"; for optional fields that means None."""
        return _blank_to_none(value)

    @field_validator("id", "name", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return "" if value is None else str(value).strip()

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner_id(cls, value: object) -> object:
        return None if value is None else str(value).strip()

    @field_validator("products", mode="before")
    @classmethod
    def _products(cls, value: object) -> object:
        if value is None:
            return frozenset()
        if isinstance(value, str):
            parts = value.replace(",", ";").split(";")
            return frozenset(p.strip() for p in parts if p.strip())
        return value

    @field_validator("mrr", "nps", "csat", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if isinstance(value, str) and value.strip().lower() in {"nan", "inf", "-inf", "infinity"}:
            raise ValueError("must be a finite number")
        return value

    @field_validator("open_escalations", "plan_rank", mode="before")
    @classmethod
    def _zero_default(cls, value: object) -> object:
        return 0 if value is None else value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        """ "eur" is EUR; blank is not set; "€" or "Euro" is refused (the connector drops the field
        and counts it as `invalid_currency`), never sent to a CRM as a deal's currency."""
        value = _blank_to_none(value)
        return None if value is None else currency_code(value)


class UsagePoint(BaseModel):
    """A usage metric's value over one period (a day, a week, or a 30-day snapshot)."""

    model_config = ConfigDict(frozen=True)

    account_id: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    period_start: date
    value: float

    @field_validator("value")
    @classmethod
    def _in_range(cls, value: float) -> float:
        """Finite, not negative, at most MAX_USAGE_VALUE: 1e308 used to overflow the engine."""
        return check_usage_value(value)


class Purchase(BaseModel):
    """One past purchase: the basis of co-purchase affinity and of what an account owns."""

    model_config = ConfigDict(frozen=True)

    account_id: str = Field(min_length=1)
    product: str = Field(min_length=1)
    purchased_at: date
    amount: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT)

    @field_validator("amount")
    @classmethod
    def _finite_amount(cls, value: Decimal) -> Decimal:
        return check_amount(value) or Decimal(0)


class Owner(BaseModel):
    """A CRM user who owns accounts: the CSM who gets the follow-up task."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    email: str | None = None
    name: str | None = None


def utcnow() -> datetime:
    """The wall clock in UTC, for code given no `now` (scoring always gets `now` injected)."""
    return datetime.now(UTC)
