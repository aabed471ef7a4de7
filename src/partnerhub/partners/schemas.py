import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, EmailStr, Field

from partnerhub.core.schemas import ShortText

CountryCode = ShortText(2, 2)
StatusName = Literal["applied", "active", "suspended", "terminated"]
PartnerRoleName = Literal["admin", "sales", "technical", "billing"]
ContactRoleName = Literal["administrative", "technical", "billing"]
Latitude = Annotated[Decimal, Field(ge=-90, le=90, decimal_places=6)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, decimal_places=6)]


class TrackRef(Schema):
    program: ShortText(64, 1)
    track: ShortText(64, 1)
    joined_on: dt.date | None = None


class PartnerIn(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    legal_name: ShortText(200, 1)
    display_name: ShortText(200) = ""
    country: CountryCode
    vat_id: ShortText(32) = ""
    duns: ShortText(9) = ""
    address_line1: ShortText(200) = ""
    address_line2: ShortText(200) = ""
    postal_code: ShortText(20) = ""
    city: ShortText(100) = ""
    region: ShortText(100) = ""
    website_domain: ShortText(253) = ""
    directory_listed: bool = False
    directory_summary: ShortText(500) = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    status: Literal["applied", "active"] = "active"
    parent_id: int | None = None
    partner_manager_id: int | None = None
    allow_user_invitations: bool = True
    tracks: list[TrackRef] = []


class PartnerPatch(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    legal_name: ShortText(200, 1) | None = None
    display_name: ShortText(200, 1) | None = None
    country: CountryCode | None = None
    vat_id: ShortText(32) | None = None
    duns: ShortText(9) | None = None
    address_line1: ShortText(200) | None = None
    address_line2: ShortText(200) | None = None
    postal_code: ShortText(20) | None = None
    city: ShortText(100) | None = None
    region: ShortText(100) | None = None
    website_domain: ShortText(253) | None = None
    directory_listed: bool | None = None
    directory_summary: ShortText(500) | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    parent_id: int | None = None
    partner_manager_id: int | None = None
    allow_user_invitations: bool | None = None


class TrackMembershipOut(Schema):
    id: int
    program: str
    track: str
    joined_on: dt.date

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_track(obj) -> str:
        return obj.track_key


class PartnerOut(Schema):
    id: int
    legal_name: str
    display_name: str
    country: str
    vat_id: str
    duns: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    region: str
    website_domain: str
    directory_listed: bool
    directory_summary: str
    latitude: Decimal | None
    longitude: Decimal | None
    status: StatusName
    parent_id: int | None
    partner_manager_id: int | None
    allow_user_invitations: bool
    tracks: list[TrackMembershipOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_country(obj) -> str:
        return obj.country.code or ""

    @staticmethod
    def resolve_tracks(obj) -> list:
        return list(obj.track_memberships.all())


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    status: StatusName
    reason: ShortText(2000, 1)


class StatusChangeOut(Schema):
    id: int
    from_status: str
    to_status: str
    reason: str
    author_id: int | None
    changed_at: dt.datetime


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    role: ContactRoleName
    name: ShortText(200, 1)
    email: EmailStr
    phone: ShortText(32) = ""


class ContactPatch(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    role: ContactRoleName | None = None
    name: ShortText(200, 1) | None = None
    email: EmailStr | None = None
    phone: ShortText(32) | None = None


class ContactOut(Schema):
    id: int
    partner_id: int
    role: str
    name: str
    email: str
    phone: str


class PartnerUserOut(Schema):
    user_id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    joined_at: dt.datetime

    @staticmethod
    def resolve_email(obj) -> str:
        return obj.user.email

    @staticmethod
    def resolve_full_name(obj) -> str:
        return obj.user.full_name

    @staticmethod
    def resolve_is_active(obj) -> bool:
        return obj.user.is_active


class PartnerUserPatch(Schema):
    role: PartnerRoleName | None = None
    is_active: bool | None = None


class InvitationIn(Schema):
    email: EmailStr
    role: PartnerRoleName


class InvitationOut(Schema):
    id: int
    partner_id: int
    email: str
    role: str
    state: Literal["pending", "accepted", "revoked", "expired"]
    invited_by_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime


class InvitationAcceptIn(Schema):
    token: ShortText(1000, 1)
    password: ShortText(256, 1)
    full_name: ShortText(200) = ""


class AcceptedUserOut(Schema):
    user_id: int
    email: str
    partner_id: int
    role: str


class ApplicationIn(Schema):
    legal_name: ShortText(200, 1)
    display_name: ShortText(200) = ""
    country: CountryCode
    vat_id: ShortText(32) = ""
    website_domain: ShortText(253) = ""
    contact_name: ShortText(200, 1)
    contact_email: EmailStr
    contact_phone: ShortText(32) = ""
    program: ShortText(64, 1)
    track: ShortText(64, 1)
    message: ShortText(5000) = ""


class ApplicationOut(Schema):
    id: int
    legal_name: str
    display_name: str
    country: str
    vat_id: str
    website_domain: str
    contact_name: str
    contact_email: str
    contact_phone: str
    program: str
    track: str
    message: str
    status: Literal["submitted", "approved", "rejected"]
    decision_reason: str
    decided_by_id: int | None
    decided_at: dt.datetime | None
    partner_id: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_country(obj) -> str:
        return obj.country.code or ""

    @staticmethod
    def resolve_program(obj) -> str:
        return obj.program.key

    @staticmethod
    def resolve_track(obj) -> str:
        return obj.track_key


class ApplicationSubmittedOut(Schema):
    id: int
    status: str


class DecisionIn(Schema):
    reason: ShortText(2000) = ""
