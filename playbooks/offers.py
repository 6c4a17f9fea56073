"""Turning a playbook's offer type into the concrete thing to propose to one account.

Prices are the catalog's in the account's own currency (`offer_currency`); an account in a currency
the catalog does not price is refused the offer with the item and currency named (`Unpriced`),
never offered another currency's figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from domain import Account
from playbooks.affinity import Recommendation
from playbooks.catalog import Catalog, Price, price_in
from playbooks.model import Offer, OfferType

SEAT_HEADROOM = 1.2  # propose enough seats for today's users plus 20% growth
NO_PRICE_IN_CURRENCY = "no_price_in_currency"  # a SUPPRESSED detail; `Unpriced.note` names what


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    code: str  # goes into the opportunity key: stable while the need is open
    title: str
    monthly_price: Decimal  # the added monthly price, as far as the catalog knows it
    suggested_seats: int = 0


@dataclass(frozen=True, slots=True)
class Unpriced:
    """The catalog has no price in the account's currency for what the offer needs."""

    item: str  # "plan Team" | "product api"
    currency: str

    @property
    def note(self) -> str:
        return f"the catalog has no {self.currency} price for {self.item}"


def offer_currency(account: Account, catalog: Catalog) -> str:
    """The account's own currency where its CRM records one, else the catalog's."""
    return account.currency or catalog.currency


def suggested_seats(account: Account) -> int:
    used = account.seats_used or 0
    bought = account.seats_purchased or 0
    return max(math.ceil(used * SEAT_HEADROOM) - bought, 1)


def resolve_offer(
    offer: Offer, account: Account, catalog: Catalog, affinity: Recommendation | None
) -> ResolvedOffer | Unpriced | str:
    """The offer, or the reason there is none for this account (e.g. already on the top plan)."""
    currency = offer_currency(account, catalog)

    def priced(item: str, price: Price) -> Decimal | Unpriced:
        amount = price_in(price, currency)
        return Unpriced(item, currency) if amount is None else amount

    current = catalog.plan_by_rank(account.plan_rank)
    seat_price = priced(f"plan {current.name}", current.seat_price) if current else Decimal(0)
    if offer.type is OfferType.SEATS:
        if isinstance(seat_price, Unpriced):
            return seat_price
        seats = suggested_seats(account)
        return ResolvedOffer("seats", offer.title or f"{seats} more seats", seat_price * seats, seats)
    if offer.type is OfferType.NEXT_PLAN:
        nxt = catalog.plan_by_rank(account.plan_rank + 1)
        if nxt is None:
            return "no_higher_plan"
        next_price = priced(f"plan {nxt.name}", nxt.seat_price)
        if isinstance(seat_price, Unpriced):
            return seat_price
        if isinstance(next_price, Unpriced):
            return next_price
        seats = account.seats_purchased or 0
        delta = (next_price - seat_price) * seats
        return ResolvedOffer(
            f"plan:{nxt.name}", offer.title or f"Upgrade to {nxt.name}", max(delta, Decimal(0))
        )
    if offer.type is OfferType.PRODUCT:
        assert offer.code is not None  # guaranteed by the model
        product = catalog.product(offer.code)
        price = priced(f"product {offer.code}", product.monthly_price) if product else Decimal(0)
        if isinstance(price, Unpriced):
            return price
        return ResolvedOffer(offer.code, offer.title or (product.name if product else offer.code), price)
    if offer.type is OfferType.AFFINITY:
        if affinity is None:
            return "no_affinity_rule"
        product = catalog.product(affinity.product)
        price = priced(f"product {affinity.product}", product.monthly_price) if product else Decimal(0)
        if isinstance(price, Unpriced):
            return price
        return ResolvedOffer(affinity.product, product.name if product else affinity.product, price)
    assert offer.code is not None  # TERM
    title = offer.title or catalog.terms.get(offer.code, offer.code.replace("_", " "))
    return ResolvedOffer(f"term:{offer.code}", title, account.mrr or Decimal(0))
