"""Turning a playbook's offer type into the concrete thing to propose to one account.

Prices are the catalog's in the account's own currency (`offer_currency`); an account in a currency
the catalog does not price is refused the offer with the item and currency named (`Unpriced`),
never offered another currency's figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from domain import Account
from playbooks.affinity import Recommendation
from playbooks.catalog import Catalog, Price, Product, price_in
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


# What the catalog says of an offer for accounts on one plan in one currency: the reason there is
# none, or how to finish it with the account's own figures (seats, MRR).
_Finish = Callable[[Account], "ResolvedOffer | Unpriced | str"]


class OfferResolver:
    """Resolves offers for one pass against one catalog.

    Which plan or product an offer names, its price in the account's currency, or why there is
    none, depends only on (offer, plan rank, currency, recommended product): a few dozen
    combinations shared by every account of a pass. Working that out once per combination and
    applying only the account's own figures (seats, MRR) per account took a steady-state pass's
    offer resolution from about 5 us to 1 us per qualifying playbook (bench/score.py). The memo
    is bounded by the catalog's plans, products and currencies, not by the accounts."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._plans = {p.rank: p for p in catalog.plans}
        self._products: dict[str, Product] = {}
        for product in catalog.products:
            self._products.setdefault(product.code, product)  # the first of a code, as before
        # Keyed by the offer's identity (a pass's playbooks live as long as it), the offer kept
        # beside its finisher so that a reused id is never mistaken for it.
        self._finishers: dict[tuple[int, int, str, str | None], tuple[Offer, _Finish]] = {}

    def resolve(
        self, offer: Offer, account: Account, affinity: Recommendation | None
    ) -> ResolvedOffer | Unpriced | str:
        currency = offer_currency(account, self.catalog)
        key = (id(offer), account.plan_rank, currency, None if affinity is None else affinity.product)
        known = self._finishers.get(key)
        if known is None or known[0] is not offer:
            known = self._finishers[key] = (
                offer,
                self._finisher(offer, account.plan_rank, currency, affinity),
            )
        return known[1](account)

    def _finisher(
        self, offer: Offer, plan_rank: int, currency: str, affinity: Recommendation | None
    ) -> _Finish:
        def priced(item: str, price: Price) -> Decimal | Unpriced:
            amount = price_in(price, currency)
            return Unpriced(item, currency) if amount is None else amount

        def settled(result: ResolvedOffer | Unpriced | str) -> _Finish:
            return lambda account: result

        current = self._plans.get(plan_rank)
        seat_price = priced(f"plan {current.name}", current.seat_price) if current else Decimal(0)
        if offer.type is OfferType.SEATS:
            if isinstance(seat_price, Unpriced):
                return settled(seat_price)
            per_seat, named = seat_price, offer.title

            def seats_offer(account: Account) -> ResolvedOffer:
                seats = suggested_seats(account)
                return ResolvedOffer("seats", named or f"{seats} more seats", per_seat * seats, seats)

            return seats_offer
        if offer.type is OfferType.NEXT_PLAN:
            nxt = self._plans.get(plan_rank + 1)
            if nxt is None:
                return settled("no_higher_plan")
            next_price = priced(f"plan {nxt.name}", nxt.seat_price)
            if isinstance(seat_price, Unpriced):
                return settled(seat_price)
            if isinstance(next_price, Unpriced):
                return settled(next_price)
            step = next_price - seat_price
            code, title = f"plan:{nxt.name}", offer.title or f"Upgrade to {nxt.name}"

            def upgrade(account: Account) -> ResolvedOffer:
                delta = step * (account.seats_purchased or 0)
                return ResolvedOffer(code, title, max(delta, Decimal(0)))

            return upgrade
        if offer.type is OfferType.PRODUCT:
            assert offer.code is not None  # guaranteed by the model
            return settled(self._product(offer.code, offer.title, currency))
        if offer.type is OfferType.AFFINITY:
            if affinity is None:
                return settled("no_affinity_rule")
            return settled(self._product(affinity.product, None, currency))
        assert offer.code is not None  # TERM
        code = f"term:{offer.code}"
        title = offer.title or self.catalog.terms.get(offer.code, offer.code.replace("_", " "))
        return lambda account: ResolvedOffer(code, title, account.mrr or Decimal(0))

    def _product(self, code: str, title: str | None, currency: str) -> ResolvedOffer | Unpriced:
        """A named product (an offer's own or the one similar customers bought), priced in
        `currency`; a product the catalog does not list is offered at no added price."""
        product = self._products.get(code)
        if product is None:
            return ResolvedOffer(code, title or code, Decimal(0))
        price = price_in(product.monthly_price, currency)
        if price is None:
            return Unpriced(f"product {code}", currency)
        return ResolvedOffer(code, title or product.name, price)
