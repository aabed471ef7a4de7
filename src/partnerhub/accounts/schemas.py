import datetime as dt

from ninja import Schema

from partnerhub.core.schemas import ShortText, UtcDatetime


class MembershipOut(Schema):
    partner_id: int
    partner_name: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    staff_role: str
    is_vendor_staff: bool
    membership: MembershipOut | None


class TokenIn(Schema):
    name: ShortText(100, 1)
    expires_at: UtcDatetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    key_id: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    is_active: bool
    staff_role: str
    partner_id: int | None = None
    partner_role: str | None = None

    @staticmethod
    def resolve_partner_id(obj) -> int | None:
        m = getattr(obj, "partner_membership", None)
        return m.partner_id if m else None

    @staticmethod
    def resolve_partner_role(obj) -> str | None:
        m = getattr(obj, "partner_membership", None)
        return m.role if m else None
