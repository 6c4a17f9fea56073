"""Turning a playbook's offer type into the concrete thing to propose to one account."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from domain import Account
from playbooks.affinity import Recommendation
from playbooks.catalog import Catalog
from playbooks.model import Offer, OfferType

SEAT_HEADROOM = 1.2  # propose enough seats for today's users plus 20% growth


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    code: str  # goes into the opportunity key: stable while the need is open
    title: str
    monthly_price: Decimal  # the added monthly price, as far as the catalog knows it
    suggested_seats: int = 0


def suggested_seats(account: Account) -> int:
    used = account.seats_used or 0
    bought = account.seats_purchased or 0
    return max(math.ceil(used * SEAT_HEADROOM) - bought, 1)


def resolve_offer(
    offer: Offer, account: Account, catalog: Catalog, affinity: Recommendation | None
) -> ResolvedOffer | str:
    """The offer, or the reason there is none for this account (e.g. already on the top plan)."""
    current = catalog.plan_by_rank(account.plan_rank)
    seat_price = current.seat_price if current else Decimal(0)
    if offer.type is OfferType.SEATS:
        seats = suggested_seats(account)
        return ResolvedOffer("seats", offer.title or f"{seats} more seats", seat_price * seats, seats)
    if offer.type is OfferType.NEXT_PLAN:
        nxt = catalog.plan_by_rank(account.plan_rank + 1)
        if nxt is None:
            return "no_higher_plan"
        seats = account.seats_purchased or 0
        delta = (nxt.seat_price - seat_price) * seats
        return ResolvedOffer(
            f"plan:{nxt.name}", offer.title or f"Upgrade to {nxt.name}", max(delta, Decimal(0))
        )
    if offer.type is OfferType.PRODUCT:
        assert offer.code is not None  # guaranteed by the model
        product = catalog.product(offer.code)
        price = product.monthly_price if product else Decimal(0)
        return ResolvedOffer(offer.code, offer.title or (product.name if product else offer.code), price)
    if offer.type is OfferType.AFFINITY:
        if affinity is None:
            return "no_affinity_rule"
        product = catalog.product(affinity.product)
        price = product.monthly_price if product else Decimal(0)
        return ResolvedOffer(affinity.product, product.name if product else affinity.product, price)
    assert offer.code is not None  # TERM
    title = offer.title or catalog.terms.get(offer.code, offer.code.replace("_", " "))
    return ResolvedOffer(f"term:{offer.code}", title, account.mrr or Decimal(0))
