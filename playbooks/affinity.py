"""Co-purchase affinity: association rules mined from every account's basket of products.

"Accounts that own A and B also bought C": a rule A -> C with
- support    = share of all accounts owning A and C,
- confidence = share of A's owners who also own C,
- lift       = confidence / share of all accounts owning C (above 1: A makes C likelier).
Antecedents hold one or two products; that covers the "owns A and B" phrasing CSMs use and keeps
counting linear in the number of accounts. Counting is incremental, so baskets can be streamed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True, slots=True)
class Rule:
    antecedent: frozenset[str]
    consequent: str
    support: float
    confidence: float
    lift: float
    count: int  # accounts owning antecedent and consequent

    def describe(self) -> str:
        owned = " and ".join(sorted(self.antecedent))
        return (
            f"{self.confidence:.0%} of accounts that own {owned} also bought {self.consequent} "
            f"(lift {self.lift:.1f}, {self.count} accounts)"
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    product: str
    confidence: float
    lift: float
    rule: Rule


class BasketCounter:
    """Counts itemsets of size 1 to 3 across baskets, one basket at a time."""

    def __init__(self) -> None:
        self.baskets = 0
        self.counts: Counter[frozenset[str]] = Counter()

    def add(self, products: Iterable[str]) -> None:
        items = sorted(set(products))
        self.baskets += 1
        for size in (1, 2, 3):
            for combo in combinations(items, size):
                self.counts[frozenset(combo)] += 1

    def rules(self, min_support: float = 0.02, min_confidence: float = 0.3, min_count: int = 5) -> list[Rule]:
        """Every rule passing the thresholds, strongest first (confidence, then lift)."""
        n = self.baskets
        if n == 0:
            return []
        found: list[Rule] = []
        for itemset, joint in self.counts.items():
            if len(itemset) < 2 or joint < min_count or joint / n < min_support:
                continue
            for consequent in itemset:
                antecedent = itemset - {consequent}
                confidence = joint / self.counts[antecedent]
                if confidence < min_confidence:
                    continue
                lift = confidence / (self.counts[frozenset((consequent,))] / n)
                found.append(Rule(antecedent, consequent, joint / n, confidence, lift, joint))
        found.sort(key=lambda r: (-r.confidence, -r.lift, sorted(r.antecedent), r.consequent))
        return found


class AffinityModel:
    """Recommends, for a basket, the product its strongest applicable rule points to.

    Rules with a lift under `min_lift` are dropped: a high confidence that only reflects a product
    everyone buys is no reason to call a customer."""

    def __init__(self, rules: Iterable[Rule], min_lift: float = 1.2) -> None:
        self._by_antecedent: dict[frozenset[str], list[Rule]] = {}
        for rule in rules:
            if rule.lift >= min_lift:
                self._by_antecedent.setdefault(rule.antecedent, []).append(rule)
        self._cache: dict[frozenset[str], Recommendation | None] = {}

    @classmethod
    def from_baskets(cls, baskets: Iterable[Iterable[str]], **thresholds: float) -> AffinityModel:
        counter = BasketCounter()
        for basket in baskets:
            counter.add(basket)
        return cls(counter.rules(**thresholds))  # type: ignore[arg-type]

    def recommend(self, owned: frozenset[str]) -> Recommendation | None:
        if owned in self._cache:
            return self._cache[owned]
        best: Rule | None = None
        items = sorted(owned)
        for size in (1, 2):
            for combo in combinations(items, size):
                for rule in self._by_antecedent.get(frozenset(combo), ()):
                    if rule.consequent in owned:
                        continue
                    if best is None or (rule.confidence, rule.lift) > (best.confidence, best.lift):
                        best = rule
        result = None if best is None else Recommendation(best.consequent, best.confidence, best.lift, best)
        self._cache[owned] = result
        return result
