import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from partnerhub.core.schemas import ShortText

Slug = ShortText(64, 1)


class TierRefOut(Schema):
    """A (program, track, tier) reference read from a row with program, track_key, tier_key."""

    program: str
    track: str
    tier: str

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_track(obj) -> str:
        return obj.track_key

    @staticmethod
    def resolve_tier(obj) -> str:
        return obj.tier_key


class PartnerTierOut(TierRefOut):
    rank: int
    since: dt.date
    held_until: dt.date
    source: str
    last_evaluated_on: dt.date


class TierChangeOut(Schema):
    id: int
    program: str
    track: str
    from_tier: str
    to_tier: str
    kind: str
    effective_on: dt.date
    reason: str
    created_at: dt.datetime

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_track(obj) -> str:
        return obj.track_key

    @staticmethod
    def resolve_from_tier(obj) -> str:
        return obj.from_tier_key

    @staticmethod
    def resolve_to_tier(obj) -> str:
        return obj.to_tier_key


class RequirementOut(Schema):
    kind: Literal["metric", "any"]
    label: str
    met: bool
    met_on: dt.date | None = None
    metric: str | None = None
    period: str | None = None
    params: dict[str, str] | None = None
    unit: str | None = None
    value: Decimal | None = None
    threshold: Decimal | None = None
    gap: Decimal | None = None
    source_available: bool | None = None
    needed: int | None = None
    missing: int | None = None
    items: list["RequirementOut"] | None = None


class TierExplanationOut(Schema):
    tier_key: str
    tier_name: str
    rank: int
    gate: str
    met: bool
    requirements: list[RequirementOut]


class TrackExplanationOut(Schema):
    program: str
    track: str
    as_of: dt.date
    current_tier: str
    current_tier_name: str
    since: dt.date | None
    held_until: dt.date | None
    source: str
    current: TierExplanationOut
    next: TierExplanationOut | None


class OverrideIn(Schema):
    program: Slug
    track: Slug
    tier: Slug
    reason: ShortText(2000, 1)
    expires_on: dt.date
    starts_on: dt.date | None = None


class OverrideOut(TierRefOut):
    id: int
    reason: str
    author_id: int | None
    starts_on: dt.date
    expires_on: dt.date
    revoked_at: dt.datetime | None


class NominationIn(Schema):
    program: Slug
    track: Slug
    tier: Slug
    reason: ShortText(2000, 1)


class NominationOut(TierRefOut):
    id: int
    partner_id: int
    reason: str
    status: str
    nominated_by_id: int | None
    decided_by_id: int | None
    decided_at: dt.datetime | None
    decision_reason: str


class NominationDecisionIn(Schema):
    reason: ShortText(2000) = ""


class EvidenceIn(Schema):
    item: ShortText(64, 1)
    recorded_on: dt.date | None = None
    valid_until: dt.date | None = None
    note: ShortText(2000) = ""


class EvidenceOut(Schema):
    id: int
    item: str
    note: str
    recorded_by_id: int | None
    recorded_on: dt.date
    valid_until: dt.date | None


class SurveyRowIn(Schema):
    external_id: ShortText(100, 1)
    partner_id: int = Field(ge=1, le=2**53)
    score: int = Field(ge=0, le=10)
    responded_on: dt.date
    customer_external_id: ShortText(64) | None = None


class SurveyImportIn(Schema):
    rows: list[SurveyRowIn] = Field(max_length=100_000)


class SurveyImportOut(Schema):
    created: int
    unchanged: int


class EvaluationIn(Schema):
    as_of: dt.date | None = None
    dry_run: bool = True
    program: ShortText(64) | None = None


class EvaluationOut(Schema):
    as_of: dt.date
    dry_run: bool
    memberships: int
    changes: list[dict[str, Any]]
    per_tier: dict[str, int]
    run_id: int | None


class EvaluationRunOut(Schema):
    id: int
    as_of: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    memberships: int
    changes: int
    triggered_by_id: int | None
