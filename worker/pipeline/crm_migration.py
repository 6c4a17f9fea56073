"""Which record in the new CRM is which record in the old one: the pure matching step of
`oppworker migrate --from zendesk-sell --to pipedrive` (issue 12, item 2; the command and the ledger
carry-over are phase 2).

A customer imports their Sell export into Pipedrive with the Sell id mapped into an organization
custom field (and each deal's opportunity key into the deal key field). Whether Sell ids survive an
import is undocumented (zendesk-sell-api.md "Retirement"), so matching goes:
1. by the carried id: exactly one target carrying the source id is a match; several are listed as
   ambiguous, never picked from;
2. else by exact name (surrounding spaces ignored, case kept) among targets that carry no id at all
   (a target carrying *another* source's id is that source's) and that no other match took; a name
   shared by several targets, or several sources, is listed as ambiguous, never guessed;
3. anything else is listed as missing.
No I/O and no connector imports: the command reads both CRMs and feeds this plain data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceRecord:
    id: str
    name: str


@dataclass(frozen=True)
class TargetRecord:
    id: str
    name: str
    carried_id: str | None = None  # the source id the import put in the carried-id field


@dataclass(frozen=True)
class Ambiguity:
    source_id: str
    name: str
    candidates: tuple[str, ...]
    reason: str


@dataclass
class Matching:
    mapped: dict[str, str] = field(default_factory=dict)  # source id -> target id
    how: dict[str, str] = field(default_factory=dict)  # source id -> "carried_id" | "name"
    ambiguous: list[Ambiguity] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # source ids with no candidate at all

    def counts(self) -> dict[str, int]:
        by_how: defaultdict[str, int] = defaultdict(int)
        for how in self.how.values():
            by_how[how] += 1
        return {
            "by_carried_id": by_how["carried_id"],
            "by_name": by_how["name"],
            "ambiguous": len(self.ambiguous),
            "missing": len(self.missing),
        }


def _name(text: str) -> str:
    return text.strip()


def match_records(sources: Iterable[SourceRecord], targets: Iterable[TargetRecord]) -> Matching:
    sources, targets = list(sources), list(targets)
    result = Matching()
    by_carried: dict[str, list[TargetRecord]] = defaultdict(list)
    for target in targets:
        if target.carried_id and target.carried_id.strip():
            by_carried[target.carried_id.strip()].append(target)
    taken: set[str] = set()
    rest: list[SourceRecord] = []
    for source in sources:
        carrying = by_carried.get(source.id, [])
        if len(carrying) == 1:
            result.mapped[source.id] = carrying[0].id
            result.how[source.id] = "carried_id"
            taken.add(carrying[0].id)
        elif carrying:
            result.ambiguous.append(
                Ambiguity(
                    source.id,
                    source.name,
                    tuple(sorted(t.id for t in carrying)),
                    "several records carry this id",
                )
            )
            taken.update(t.id for t in carrying)
        else:
            rest.append(source)
    free_by_name: dict[str, list[TargetRecord]] = defaultdict(list)
    for target in targets:
        if target.id not in taken and not (target.carried_id and target.carried_id.strip()):
            free_by_name[_name(target.name)].append(target)
    sources_by_name: dict[str, list[SourceRecord]] = defaultdict(list)
    for source in rest:
        sources_by_name[_name(source.name)].append(source)
    for source in rest:
        candidates = free_by_name.get(_name(source.name), []) if _name(source.name) else []
        if not candidates:
            result.missing.append(source.id)
        elif len(candidates) > 1:
            result.ambiguous.append(
                Ambiguity(
                    source.id,
                    source.name,
                    tuple(sorted(t.id for t in candidates)),
                    "several records have this exact name",
                )
            )
        elif len(sources_by_name[_name(source.name)]) > 1:
            result.ambiguous.append(
                Ambiguity(
                    source.id, source.name, (candidates[0].id,), "several source records have this exact name"
                )
            )
        else:
            result.mapped[source.id] = candidates[0].id
            result.how[source.id] = "name"
    return result
