from domain import JourneyStage
from playbooks.journey import derive_stage
from tests.playbooks.factories import account

HEALTHY = {
    "tenure_days": 400.0,
    "activation": 0.8,
    "usage_trend.active_users": 0.05,
    "days_to_renewal": 200.0,
}


def stage(signals=None, **fields):
    return derive_stage(account(**fields), {**HEALTHY, **(signals or {})})[0]


def test_explicit_stage_wins():
    assert stage(journey_stage="onboarding") is JourneyStage.ONBOARDING


def test_unhappy_or_declining_is_at_risk():
    assert stage(nps=4) is JourneyStage.AT_RISK
    assert stage(csat=2.5) is JourneyStage.AT_RISK
    assert stage(open_escalations=2) is JourneyStage.AT_RISK
    assert stage({"usage_trend.active_users": -0.4}) is JourneyStage.AT_RISK


def test_at_risk_beats_renewal_window():
    assert stage({"days_to_renewal": 30.0}, nps=3) is JourneyStage.AT_RISK


def test_new_or_barely_activated_is_onboarding():
    assert stage({"tenure_days": 20.0}) is JourneyStage.ONBOARDING
    assert stage({"tenure_days": 90.0, "activation": 0.2}) is JourneyStage.ONBOARDING


def test_low_activation_after_grace_period_is_adopting_not_onboarding():
    assert stage({"tenure_days": 200.0, "activation": 0.2}) is JourneyStage.ADOPTING
    assert stage({"activation": 0.5}) is JourneyStage.ADOPTING


def test_renewal_window_and_value_realised():
    assert stage({"days_to_renewal": 60.0}) is JourneyStage.RENEWAL_WINDOW
    assert stage({"days_to_renewal": -5.0}) is JourneyStage.VALUE_REALISED  # lapsed: not a window
    assert stage() is JourneyStage.VALUE_REALISED


def test_without_usage_data_tenure_decides():
    assert stage({"activation": None, "tenure_days": 300.0}) is JourneyStage.VALUE_REALISED
    assert stage({"activation": None, "tenure_days": 90.0}) is JourneyStage.ADOPTING


def test_reason_is_given():
    _, reason = derive_stage(account(nps=3), HEALTHY)
    assert "NPS 3" in reason
