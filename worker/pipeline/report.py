"""The run report: what a pass read, scored, found and wrote, built the same way by both drivers
(the in-process `run_pass` and the Celery graph). Ranking, merging the chunks' partial reports and
the rule for storing the sync cursor live here once, so the drivers cannot drift."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast

from domain import Opportunity
from playbooks.assess import ALREADY_OPEN, BELOW_THRESHOLD, HOLDOUT, NEW, SUPPRESSED, AccountAssessment
from playbooks.render import top_reasons
from worker.pipeline.provenance import count_sources, with_sources

RANKED_KEPT = 50  # the report keeps the best 50


@dataclass
class RankedOpportunity:
    score: int
    account_id: str
    account_name: str
    playbook: str
    kind: str
    offer: str
    amount: str
    reasons: str
    key: str
    value: float = 0.0  # expected value, P(win) x amount in one currency: the rank (ranking.py)


@dataclass
class RunReport:
    run_id: str
    crm: str
    mode: str
    now: datetime
    accounts_read: int = 0
    scored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_records: list[str] = field(default_factory=list)  # each once, for the summary (ReadReport)
    defaulted: Counter[str] = field(default_factory=Counter)
    stages: Counter[str] = field(default_factory=Counter)
    new: int = 0
    already_open: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    below_threshold: int = 0
    new_by_playbook: Counter[str] = field(default_factory=Counter)
    # Estimated amount of the new opportunities per currency: kept apart, never added across
    # currencies (issue #15). A Counter at run time (so the chunks' parts merge like every other
    # count: COUNTED below), typed as the float map it holds.
    new_amount_by_currency: dict[str, float] = field(
        default_factory=lambda: cast(dict[str, float], Counter())
    )
    holdout: int = 0  # control accounts: would have fired, nothing written (worker/outcomes/sync.py)
    holdout_by_playbook: Counter[str] = field(default_factory=Counter)
    deals_created: int = 0
    deals_existing: int = 0
    tasks_created: int = 0
    tasks_existing: int = 0
    resumed: int = 0
    # Capacity planning (worker/pipeline/capacity.py): candidates promoted to be written this pass,
    # candidates left waiting for a later pass, and of those the ones with no owner to go to.
    planned: int = 0
    waiting: int = 0
    waiting_no_owner: int = 0
    write_errors: Counter[str] = field(default_factory=Counter)
    # SQL usage sources (worker/pipeline/provenance.py): per source, the accounts it gave values to
    # (`warehouse: accounts`) and the accounts whose field it overrode (`warehouse: seats_used`).
    sources: Counter[str] = field(default_factory=Counter)
    cursor: str | None = None
    # Keys left unfinished (held by another writer's lease, e.g. a crashed pass's) and when the last
    # such lease expires: the next pass after that finishes them.
    unfinished: int = 0
    unfinished_until: datetime | None = None
    ranked: list[RankedOpportunity] = field(default_factory=list)
    dry_run_payloads: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The report as stored in the ledger and printed as JSON (without the payloads)."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Counter):  # asdict() would turn a Counter's items into tuple keys
                value = dict(value)
            data[item.name] = value
        data.pop("dry_run_payloads")
        data["ranked"] = [asdict(r) for r in self.ranked[:RANKED_KEPT]]
        data["now"] = self.now.isoformat()
        data["unfinished_until"] = self.unfinished_until.isoformat() if self.unfinished_until else None
        return data


def tally(
    report: RunReport,
    assessment: AccountAssessment,
    provenance: Mapping[str, str] | None = None,
    value_of: Callable[[Opportunity], float] | None = None,
) -> None:
    """`provenance`: the record's, when values came from SQL sources; the reasons then say which."""
    report.scored += 1
    if provenance:
        count_sources(report.sources, assessment.account, provenance)
    report.stages[assessment.stage.value] += 1
    for outcome in assessment.outcomes:
        if outcome.status == NEW:
            report.new += 1
            report.new_by_playbook[outcome.playbook.id] += 1
            opportunity = outcome.opportunity
            assert opportunity is not None
            amounts = report.new_amount_by_currency
            amounts[opportunity.currency] = amounts.get(opportunity.currency, 0.0) + float(
                opportunity.estimated_amount
            )
            report.ranked.append(
                RankedOpportunity(
                    opportunity.score,
                    opportunity.account_id,
                    opportunity.account_name,
                    opportunity.playbook,
                    opportunity.kind.value,
                    opportunity.offer,
                    f"{opportunity.currency} {opportunity.estimated_amount:,.0f}",
                    top_reasons(with_sources(opportunity.explanation, provenance or {})),
                    opportunity.key,
                    round(value_of(opportunity), 2) if value_of else 0.0,
                )
            )
        elif outcome.status == HOLDOUT:
            report.holdout += 1
            report.holdout_by_playbook[outcome.playbook.id] += 1
        elif outcome.status == ALREADY_OPEN:
            report.already_open += 1
        elif outcome.status == SUPPRESSED:
            report.suppressed[outcome.reason or "unknown"] += 1
        elif outcome.status == BELOW_THRESHOLD:
            report.below_threshold += 1


def rank_key(ranked: RankedOpportunity | dict[str, Any]) -> tuple[Any, ...]:
    """Best first, as capacity planning writes them: highest expected value, then score, then
    account id and playbook so ties order the same every run."""
    if isinstance(ranked, RankedOpportunity):
        return (-ranked.value, -ranked.score, ranked.account_id, ranked.playbook)
    return (-ranked.get("value", 0.0), -ranked["score"], ranked["account_id"], ranked["playbook"])


def keep_best(ranked: Iterable[Any], more: Iterable[Any] = ()) -> list[Any]:
    """The best RANKED_KEPT of both, in rank order: merging parts keeps memory flat (a million
    accounts make 5,000 parts of 50 ranked opportunities each, 250 MB had they been held together)."""
    return heapq.nsmallest(RANKED_KEPT, [*ranked, *more], key=rank_key)


def cursor_to_store(cursor: str | None, write_errors: Counter[str], unfinished: int) -> str | None:
    """The rule for both drivers: the sync cursor moves only after a clean pass, one with no failed
    write and no key left unfinished. Otherwise the next pass would not re-read the accounts whose
    writes failed (their keys are resumed from the ledger either way, but a rescore is what brings
    their state up to date)."""
    if cursor and not sum(write_errors.values()) and unfinished == 0:
        return cursor
    return None


# Which RunReport fields add up across chunks: every int and Counter the scoring step fills.
# Derived from the dataclass, so a field the report gains is merged too.
_WRITE_FIELDS = {
    "deals_created",
    "deals_existing",
    "tasks_created",
    "tasks_existing",
    "resumed",
    "write_errors",
}
_PROBE = RunReport("probe", "probe", "probe", datetime.now(UTC))
SUMMED = tuple(
    f.name
    for f in fields(RunReport)
    if isinstance(getattr(_PROBE, f.name), int) and f.name not in _WRITE_FIELDS
)
COUNTED = tuple(
    f.name
    for f in fields(RunReport)
    if isinstance(getattr(_PROBE, f.name), Counter) and f.name not in _WRITE_FIELDS
)


def merge_parts(parts: Iterable[dict[str, Any]], read_counts: dict[str, Any]) -> dict[str, Any]:
    """The chunks' partial reports (`RunReport.summary()` of each) added up, best ranked kept."""
    merged: dict[str, Any] = {name: 0 for name in SUMMED}
    counters: dict[str, Counter[str]] = {name: Counter() for name in COUNTED}
    counters["defaulted"].update(read_counts.get("defaulted", {}))
    counters["skipped"].update(read_counts.get("skipped", {}))
    ranked: list[dict[str, Any]] = []
    for part in parts:
        for name in SUMMED:
            merged[name] += part.get(name, 0)
        for name in COUNTED:
            counters[name].update(part.get(name, {}))
        ranked = keep_best(ranked, part.get("ranked", []))
    merged.update({name: dict(c) for name, c in counters.items()})
    merged["ranked"] = ranked
    return merged


def report_from_merged(run_id: str, crm: str, mode: str, now: datetime, merged: dict[str, Any]) -> RunReport:
    """A RunReport again from `merge_parts`'s result (before the write counts are known)."""
    report = RunReport(run_id, crm, mode, now)
    for name in SUMMED:
        setattr(report, name, merged.get(name, 0))
    for name in COUNTED:
        setattr(report, name, Counter(merged.get(name, {})))
    for name in ("resumed", "planned", "waiting", "waiting_no_owner"):
        setattr(report, name, merged.get(name, 0))
    report.ranked = [RankedOpportunity(**r) for r in merged["ranked"]]
    return report
