"""/api/v1/me and /api/v1/users: the caller, personal API tokens, and the user directory."""

from django.core.exceptions import PermissionDenied
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from partnerhub.accounts import selectors, services
from partnerhub.accounts.schemas import MeOut, TokenCreatedOut, TokenIn, TokenOut, UserOut
from partnerhub.core.permissions import membership
from partnerhub.core.schemas import ObjectId, Pagination, ShortText

router = Router(tags=["people"])


@router.get("/me", response=MeOut, summary="Who am I")
def me(request):
    user = request.auth
    m = membership(user)
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "staff_role": user.staff_role
        if not user.is_superuser
        else (user.staff_role or "program_admin"),
        "is_vendor_staff": user.is_vendor_staff,
        "membership": (
            {"partner_id": m.partner_id, "partner_name": m.partner.display_name, "role": m.role}
            if m
            else None
        ),
    }


@router.get("/me/tokens", response=list[TokenOut], summary="List my API tokens")
def token_list(request):
    return list(selectors.user_tokens(user=request.auth))


@router.post("/me/tokens", response={201: TokenCreatedOut}, summary="Create an API token")
def token_create(request, payload: TokenIn):
    """The token string is in the response once; only its hash is stored."""
    token, secret = services.api_token_create(
        user=request.auth, name=payload.name, expires_at=payload.expires_at
    )
    out = TokenOut.from_orm(token).dict()
    return Status(201, {**out, "token": secret})


@router.delete("/me/tokens/{token_id}", response=TokenOut, summary="Revoke an API token")
def token_revoke(request, token_id: ObjectId):
    token = selectors.user_token_get(user=request.auth, token_id=token_id)
    return services.api_token_revoke(token=token)


class UserFilter(Schema):
    staff_role: ShortText(32) | None = None
    q: ShortText(200) | None = None


@router.get("/users", response=list[UserOut], summary="List users (program admins)")
@paginate(Pagination)
def user_list(request, filters: Query[UserFilter]):
    if not request.auth.has_perm("accounts.add_user"):
        raise PermissionDenied("Only program admins list all users.")
    qs = selectors.user_list(fetched_by=request.auth, staff_role=filters.staff_role, q=filters.q)
    return qs
