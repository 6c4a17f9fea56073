"""Journey-stage rules: where an account stands decides whether any offer is appropriate.

Order matters and encodes the seeds' rules: an unhappy or declining customer is `at_risk` whatever
else is true; a new or barely activated one is `onboarding`; nobody gets an offer before they have
seen value (`adopting` is the stage of not yet there). An explicit stage on the account wins, because
the CSM knows things no signal shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain import Account, JourneyStage


@dataclass(frozen=True, slots=True)
class JourneyPolicy:
    onboarding_days: int = 60  # tenure below this is onboarding, however active
    activation_onboarded: float = 0.3  # below this share of seats active, still onboarding...
    activation_grace_days: int = 120  # ...unless the account has been a customer this long
    activation_value: float = 0.6  # at or above this share active, value is realised
    at_risk_nps: float = 6  # NPS at or below: detractor
    at_risk_csat: float = 3.0  # CSAT below: unhappy with support
    at_risk_escalations: int = 2  # this many open escalations: at risk
    at_risk_trend: float = -0.3  # usage down 30% or more month over month
    renewal_window_days: int = 90  # contract ends within this many days


STAGE_FEATURES = ("tenure_days", "activation", "usage_trend.active_users", "days_to_renewal")


def derive_stage(
    account: Account, signals: Mapping[str, float | None], policy: JourneyPolicy = JourneyPolicy()
) -> tuple[JourneyStage, str]:
    """The stage and the one-line reason for it. Reads `STAGE_FEATURES` from `signals`."""
    if account.journey_stage is not None:
        return account.journey_stage, "stage set explicitly on the account"
    if account.nps is not None and account.nps <= policy.at_risk_nps:
        return JourneyStage.AT_RISK, f"NPS {account.nps:g} is a detractor score"
    if account.csat is not None and account.csat < policy.at_risk_csat:
        return JourneyStage.AT_RISK, f"CSAT {account.csat:g} is below {policy.at_risk_csat:g}"
    if account.open_escalations >= policy.at_risk_escalations:
        return JourneyStage.AT_RISK, f"{account.open_escalations} open escalations"
    trend = signals.get("usage_trend.active_users")
    if trend is not None and trend <= policy.at_risk_trend:
        return JourneyStage.AT_RISK, f"active users down {-trend:.0%} month over month"
    tenure = signals.get("tenure_days")
    activation = signals.get("activation")
    if tenure is not None and tenure < policy.onboarding_days:
        return JourneyStage.ONBOARDING, f"customer for {tenure:.0f} days"
    if (
        activation is not None
        and activation < policy.activation_onboarded
        and (tenure is None or tenure < policy.activation_grace_days)
    ):
        return JourneyStage.ONBOARDING, f"only {activation:.0%} of seats active"
    renewal = signals.get("days_to_renewal")
    if renewal is not None and 0 <= renewal <= policy.renewal_window_days:
        return JourneyStage.RENEWAL_WINDOW, f"contract ends in {renewal:.0f} days"
    if activation is not None and activation >= policy.activation_value:
        return JourneyStage.VALUE_REALISED, f"{activation:.0%} of seats active"
    if activation is None and tenure is not None and tenure >= policy.activation_grace_days:
        return JourneyStage.VALUE_REALISED, f"customer for {tenure:.0f} days (no usage data)"
    detail = "activation unknown" if activation is None else f"{activation:.0%} of seats active"
    return JourneyStage.ADOPTING, f"not yet at value: {detail}"
