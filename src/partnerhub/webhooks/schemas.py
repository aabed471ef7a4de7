"""Request and response shapes of /api/v1/webhooks."""

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from partnerhub.core.schemas import MAX_ID, ShortText

Pattern = Annotated[str, Field(min_length=1, max_length=100)]
WebhookUrl = Annotated[str, Field(min_length=1, max_length=500)]


class WebhookEndpointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(description="https URL (http only for localhost).")
    event_types: list[Pattern] = Field(
        min_length=1, max_length=50, description='"deal.approved", "deal.*" or "*".'
    )
    description: ShortText(200) = ""
    partner_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="Only this partner's events; empty for every event."
    )


class WebhookEndpointPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = None
    event_types: list[Pattern] | None = Field(None, min_length=1, max_length=50)
    description: ShortText(200) | None = None
    partner_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    is_active: bool | None = None


class WebhookEndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    partner_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookEndpointSecretOut(WebhookEndpointOut):
    secret: str = Field(description="Signs every delivery (X-PartnerHub-Signature).")


class WebhookDeliveryFilter(Schema):
    status: Literal["pending", "succeeded", "failed"] | None = None


class WebhookDeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: int
    event_name: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    response_status: int | None
    last_error: str
    delivered_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_event_name(obj) -> str:
        return obj.event.name
