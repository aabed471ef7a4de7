import datetime as dt
from typing import Any

from ninja import Schema

from partnerhub.core.schemas import ShortText


class ProgramSourceIn(Schema):
    source: ShortText(1_000_000, 1)


class TierOut(Schema):
    key: str
    name: str
    rank: int
    gate: str
    requirements: list[dict[str, Any]]
    benefits: dict[str, Any]


class TrackOut(Schema):
    key: str
    name: str
    description: str
    tiers: list[TierOut]

    @staticmethod
    def resolve_tiers(obj) -> list:
        return list(obj.tiers.all())


class VersionSummaryOut(Schema):
    number: int
    name: str
    currency: str
    effective_from: dt.date
    loaded_at: dt.datetime
    loaded_by_id: int | None
    content_hash: str


class VersionOut(VersionSummaryOut):
    program: str
    fiscal_year_start: str
    policies: dict[str, Any]
    product_categories: list[str]
    tracks: list[TrackOut]

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_fiscal_year_start(obj) -> str:
        return f"{obj.fiscal_year_start_month:02d}-{obj.fiscal_year_start_day:02d}"

    @staticmethod
    def resolve_tracks(obj) -> list:
        return list(obj.tracks.all())


class ProgramOut(Schema):
    key: str
    name: str
    current_version: int | None
    latest_version: int | None
    versions: int


class ProgramLoadOut(Schema):
    created: bool
    version: VersionOut


class VersionSourceOut(Schema):
    number: int
    source: str
