"""What the webhook receiver accepts, checked at the boundary: a HubSpot event and a product-usage
event. Anything scoring would read as garbage is refused here with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, StrictInt, StrictStr, field_validator


class HubSpotEvent(BaseModel):
    """One HubSpot webhook event; only the fields we use are required.
    https://developers.hubspot.com/docs/api/webhooks (payload: eventId, subscriptionType, objectId...)"""

    eventId: StrictInt | StrictStr
    subscriptionId: int | str | None = None
    subscriptionType: str | None = None
    eventType: str | None = None  # older payloads
    objectTypeId: str | None = None  # generic `object.*` events of 2026.03 project apps: "0-2" company
    objectId: StrictInt | StrictStr
    occurredAt: int | None = None
    propertyName: str | None = None  # on propertyChange events

    @field_validator("eventId")
    @classmethod
    def _event_id(cls, value: int | str) -> int | str:
        """HubSpot's event ids are positive integers (sent as numbers); a blank, a negative or a
        boolean one means the batch is not HubSpot's, signed or not."""
        if (isinstance(value, int) and value <= 0) or (
            isinstance(value, str) and not value.strip().isdigit()
        ):
            raise ValueError("must be a positive integer")
        return value

    @field_validator("objectId")
    @classmethod
    def _object_id(cls, value: int | str) -> int | str:
        if (isinstance(value, int) and value <= 0) or (
            isinstance(value, str) and not value.strip().isdigit()
        ):
            raise ValueError("must be a positive integer (a HubSpot record id)")
        return value

    @property
    def object_type(self) -> str:
        prefix = (self.subscriptionType or self.eventType or "").split(".", 1)[0]
        if prefix == "object":  # connectors/hubspot/project subscribes with `crmObjects` (object.*)
            return {"0-2": "company", "0-3": "deal"}.get(str(self.objectTypeId or ""), "object")
        return prefix

    @property
    def deal_stage_change(self) -> bool:
        """A deal moved stage (connectors/hubspot/project subscribes to `dealstage` changes). Deal
        creations are not: the worker creates deals itself and must not re-score on its own echo."""
        change = (self.subscriptionType or self.eventType or "").endswith(".propertyChange")
        return self.object_type == "deal" and change and self.propertyName == "dealstage"


FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew between the sender and us


class UsageEvent(BaseModel):
    """One product-usage measurement. Anything scoring would read as garbage is refused here, so a
    NaN or a reading from the year 9999 never becomes a usage snapshot."""

    account_id: str = Field(min_length=1, max_length=120)
    metric: str = Field(min_length=1, max_length=80)
    value: float = Field(ge=0, allow_inf_nan=False)
    time: datetime

    @field_validator("account_id", "metric")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if value > datetime.now(UTC) + FUTURE_TOLERANCE:
            raise ValueError("is in the future")
        return value
