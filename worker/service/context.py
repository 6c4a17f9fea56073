"""The pass context between workers: what `start_pass` prepared (owners, our deals, the affinity
rules, the clock of the pass) stashed as JSON, and rebuilt once per worker process for scoring."""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import datetime
from typing import Any

from domain import ExistingOpportunity, Owner
from playbooks.affinity import AffinityModel, Rule
from playbooks.calibration import OutcomeCount, WinChances
from playbooks.loader import load_catalog
from worker.outcomes.money import MoneyBasis
from worker.pipeline.assess import PassContext, build_assessor
from worker.pipeline.history import build_history
from worker.pipeline.prepare import load_definitions
from worker.pipeline.settings import Settings
from worker.service.stash import get, put, stash_key

_contexts: dict[str, tuple[dict[str, Any], PassContext]] = {}
_contexts_lock = threading.Lock()


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "antecedent": sorted(rule.antecedent),
        "consequent": rule.consequent,
        "support": rule.support,
        "confidence": rule.confidence,
        "lift": rule.lift,
        "count": rule.count,
    }


def _rule_from(data: dict[str, Any]) -> Rule:
    return Rule(
        frozenset(data["antecedent"]),
        data["consequent"],
        data["support"],
        data["confidence"],
        data["lift"],
        data["count"],
    )


def stash_context(run_id: str, crm: str, mode: str, context: PassContext, affinity: AffinityModel) -> None:
    put(
        stash_key(run_id, "ctx"),
        {
            "crm": crm,
            "mode": mode,
            "now": context.now.isoformat(),
            "last_run_at": context.last_run_at.isoformat() if context.last_run_at else None,
            "owners": [o.model_dump(mode="json") for o in context.owners.values()],
            "existing": [
                o.model_dump(mode="json") for h in context.histories.values() for o in h.opportunities
            ],
            "scoped": context.scoped,
            "holdout_ids": context.assessor.holdout_ids,  # migrated accounts keep their control groups
            "listening": context.conversations is not None,  # chunks carry their conversations
            "recall_mentions": context.recall_mentions,  # chunks carry only new ones: merge stored
            # the model's rules after its lift filter, in its own order (ties keep the first)
            "rules": [_rule_json(r) for rules in affinity._by_antecedent.values() for r in rules],
            # the closed-deal counts P(win) was calibrated on: every worker ranks with the same model
            "win_counts": [asdict(c) for c in context.assessor.win_chances.counts],
        },
    )


def pass_context(settings: Settings, run_id: str) -> tuple[dict[str, Any], PassContext]:
    """The run's assessment context, rebuilt from its Redis stash once per worker process (a few
    runs kept): chunks of one pass land on the same workers, and definitions, the catalog and the
    affinity model are the same for all of them."""
    with _contexts_lock:
        if run_id in _contexts:
            return _contexts[run_id]
    ctx = get(stash_key(run_id, "ctx"))
    affinity = AffinityModel([_rule_from(r) for r in ctx["rules"]], min_lift=0.0)  # already filtered
    context = PassContext(
        assessor=build_assessor(
            settings,
            load_definitions(settings),
            load_catalog(settings.catalog),
            affinity,
            ctx.get("holdout_ids"),
            WinChances(OutcomeCount(**c) for c in ctx.get("win_counts", [])),
        ),
        histories=build_history((ExistingOpportunity.model_validate(x) for x in ctx["existing"]), ()),
        owners={o.id: o for o in (Owner.model_validate(x) for x in ctx["owners"])},
        now=datetime.fromisoformat(ctx["now"]),
        last_run_at=datetime.fromisoformat(ctx["last_run_at"]) if ctx["last_run_at"] else None,
        money=MoneyBasis.from_settings(settings),
    )
    with _contexts_lock:
        while len(_contexts) >= 4:
            _contexts.pop(next(iter(_contexts)))
        _contexts[run_id] = (ctx, context)
    return ctx, context
