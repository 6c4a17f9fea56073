"""Every offer a playbook can make must have a price in the catalog (issue #16).

A product or term code the catalog does not list used to become an "EUR 0" offer in the CRM. The
check runs before a pass reads anything, and names each playbook and code at once. Pure: no I/O.

Prices per currency (issue #15): once a catalog prices anything per currency, every offerable price
must list the same currencies, or an account in the missing one would get some offers and silently
not others; `missing_currency_prices` names each price and currency.
"""

from __future__ import annotations

from collections.abc import Iterable

from playbooks.catalog import Catalog, Price
from playbooks.model import OfferType, Playbook
from playbooks.yaml_source import PlaybookError, Problem


def unpriced_offers(
    playbooks: Iterable[Playbook], catalog: Catalog, catalog_name: str = "the catalog"
) -> list[Problem]:
    problems = []
    for playbook in playbooks:
        offer = playbook.offer
        if offer.type is OfferType.PRODUCT and catalog.product(offer.code or "") is None:
            known = ", ".join(p.code for p in catalog.products) or "none"
            problems.append(
                Problem(
                    f"playbook {playbook.id}",
                    None,
                    "offer.code",
                    f"product {offer.code!r} has no price in {catalog_name} (its products: {known})",
                )
            )
        elif offer.type is OfferType.TERM and offer.code not in catalog.terms:
            known = ", ".join(catalog.terms) or "none"
            problems.append(
                Problem(
                    f"playbook {playbook.id}",
                    None,
                    "offer.code",
                    f"term {offer.code!r} is not in {catalog_name}'s terms (its terms: {known})",
                )
            )
        elif offer.type is OfferType.NEXT_PLAN and len(catalog.plans) < 2:
            problems.append(
                Problem(
                    f"playbook {playbook.id}",
                    None,
                    "offer.type",
                    f"next_plan needs at least two plans in {catalog_name}",
                )
            )
    return problems + missing_currency_prices(catalog, catalog_name)


def missing_currency_prices(catalog: Catalog, catalog_name: str = "the catalog") -> list[Problem]:
    """Each per-currency price lacking a currency another price lists (a single number is a price
    in every currency, so it lacks none)."""
    currencies = catalog.priced_currencies()
    if currencies is None:
        return []
    priced: list[tuple[str, str, Price]] = [
        (f"plan {p.name}", "seat_price", p.seat_price) for p in catalog.plans
    ] + [(f"product {p.code}", "monthly_price", p.monthly_price) for p in catalog.products]
    problems = []
    for where, field_name, price in priced:
        if isinstance(price, dict) and (missing := sorted(currencies - set(price))):
            problems.append(
                Problem(
                    f"{catalog_name}: {where}",
                    None,
                    field_name,
                    f"no price in {', '.join(missing)} (the catalog prices in {', '.join(sorted(currencies))})",
                )
            )
    return problems


def require_priced_offers(
    playbooks: Iterable[Playbook], catalog: Catalog, catalog_name: str = "the catalog"
) -> None:
    """Raise `PlaybookError` listing every offer without a price."""
    problems = unpriced_offers(playbooks, catalog, catalog_name)
    if problems:
        raise PlaybookError.of(problems)
