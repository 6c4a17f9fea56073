"""Property-based checks: no playbook file crashes the loader, no account crashes the engine."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import Account, JourneyStage, Series
from playbooks.assess import Assessor
from playbooks.guardrails import AccountHistory
from playbooks.loader import (
    PlaybookError,
    builtin_playbook_dir,
    load_catalog,
    load_playbook_text,
    load_playbooks,
)

SEED_TEXT = (builtin_playbook_dir() / "seat_expansion.yaml").read_text()
SEED = yaml.safe_load(SEED_TEXT)
NOW = datetime(2026, 11, 2, 6, tzinfo=UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


PATHS = [p for p in _paths(SEED) if p]


@st.composite
def mutated_playbooks(draw):
    data = copy.deepcopy(SEED)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()):
                parent[path[-1]] = draw(scalars)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue
    return yaml.safe_dump(data, allow_unicode=True)


def _check(text: str) -> None:
    try:
        load_playbook_text(text, "fuzz.yaml")
    except PlaybookError as exc:
        assert exc.file == "fuzz.yaml"
        assert str(exc).startswith("fuzz.yaml")
        assert exc.problem


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_playbooks())
def test_any_mutation_of_a_playbook_loads_or_names_file_line_and_field(text):
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_fails_cleanly(text):
    _check(text)


ASSESSOR = Assessor(load_playbooks([]), load_catalog())

accounts = st.builds(
    Account,
    id=st.text(min_size=1, max_size=12).filter(str.strip),
    name=st.text(max_size=30),
    owner_id=st.one_of(st.none(), st.text(max_size=6)),
    plan=st.one_of(st.none(), st.sampled_from(["Starter", "Team", "Business", "Enterprise", "Ünknown"])),
    plan_rank=st.integers(0, 9),
    products=st.frozensets(
        st.sampled_from(["translate", "api", "glossary", "security", "premium_support", "x"])
    ),
    seats_purchased=st.one_of(st.none(), st.integers(0, 10**6)),
    seats_used=st.one_of(st.none(), st.integers(0, 10**6)),
    mrr=st.one_of(st.none(), st.decimals(0, 10**7, allow_nan=False, allow_infinity=False, places=2)),
    customer_since=st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2040, 1, 1))),
    contract_end_date=st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2040, 1, 1))),
    journey_stage=st.one_of(st.none(), st.sampled_from(list(JourneyStage))),
    nps=st.one_of(st.none(), st.floats(0, 10)),
    csat=st.one_of(st.none(), st.floats(0, 5)),
    open_escalations=st.integers(0, 50),
)
series = st.lists(
    st.tuples(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.floats(-1e12, 1e12, allow_nan=False)),
    max_size=30,
).map(Series.from_points)
usage = st.dictionaries(
    st.sampled_from(["active_users", "words_translated", "api_calls", "premium_feature_attempts", "other"]),
    series,
)


@settings(max_examples=400, deadline=None)
@given(
    accounts,
    usage,
    st.one_of(st.none(), st.datetimes(datetime(2025, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC))),
)
def test_scoring_never_raises_and_never_builds_an_offer_on_garbage(account, usage, last_run):
    result = ASSESSOR.assess(account, usage, AccountHistory(), NOW, last_run)
    assert len(result.outcomes) == len(ASSESSOR.compiled)
    for outcome in result.outcomes:
        assert 0 <= outcome.score.score <= 100
        if outcome.opportunity is not None:
            assert outcome.opportunity.estimated_amount >= Decimal(0)
            assert outcome.opportunity.estimated_amount.is_finite()
            assert result.stage not in (JourneyStage.AT_RISK, JourneyStage.ONBOARDING)
            assert account.open_escalations == 0
            assert outcome.task is not None and outcome.task.body.endswith(outcome.opportunity.key)
