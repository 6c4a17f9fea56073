"""Customer-journey stages, in the order a healthy customer moves through them."""

from enum import Enum


class JourneyStage(str, Enum):
    """Where an account stands. Offers are only made once a customer has seen value."""

    ONBOARDING = "onboarding"
    ADOPTING = "adopting"
    VALUE_REALISED = "value_realised"
    RENEWAL_WINDOW = "renewal_window"
    AT_RISK = "at_risk"
