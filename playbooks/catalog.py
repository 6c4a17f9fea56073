"""The vendor's price list: plans (ranked), products, and which usage metrics are levels.

Offers are sized from it (next plan, product price, seat price), and plan limits feed the
`limit_utilisation` signal. A company points `catalog` in its config at its own file.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rank: int = Field(ge=0)
    seat_price: Decimal = Field(ge=0)  # monthly, per seat
    limits: dict[str, float] = Field(default_factory=dict)  # metric -> monthly allowance


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    monthly_price: Decimal = Field(ge=0)
    # Other names customers use for it ("SSO", "TMS connector"): intent detection names the product.
    aliases: list[str] = Field(default_factory=list)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plans: list[Plan] = Field(min_length=1)
    products: list[Product] = Field(default_factory=list)
    gauge_metrics: list[str] = Field(default_factory=lambda: ["active_users"])
    terms: dict[str, str] = Field(default_factory=dict)  # term code -> title

    @model_validator(mode="after")
    def _unique_ranks(self) -> Catalog:
        ranks = [p.rank for p in self.plans]
        if len(set(ranks)) != len(ranks):
            raise ValueError("plan ranks must be unique")
        return self

    def plan_by_rank(self, rank: int) -> Plan | None:
        return next((p for p in self.plans if p.rank == rank), None)

    def plan_named(self, name: str | None) -> Plan | None:
        if name is None:
            return None
        wanted = name.strip().lower()
        return next((p for p in self.plans if p.name.lower() == wanted), None)

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)
