"""/api/v1/partners, /invitations, /applications: thin handlers over selectors and services."""

from typing import Annotated, Literal

from django.db import transaction
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import require
from partnerhub.core.schemas import MAX_ID, ObjectId, Pagination, ShortText
from partnerhub.partners import selectors, services
from partnerhub.partners.schemas import (
    AcceptedUserOut,
    ApplicationIn,
    ApplicationOut,
    ApplicationSubmittedOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    DecisionIn,
    InvitationAcceptIn,
    InvitationIn,
    InvitationOut,
    PartnerIn,
    PartnerOut,
    PartnerPatch,
    PartnerUserOut,
    PartnerUserPatch,
    StatusChangeOut,
    StatusIn,
    TrackMembershipOut,
    TrackRef,
)

router = Router(tags=["partners"])
invitations_router = Router(tags=["partners"])
applications_router = Router(tags=["applications"])

R = ERROR_RESPONSES


def _partner(request, partner_id: int):
    return selectors.partner_get(fetched_by=request.auth, partner_id=partner_id)


# An id in a query filter: bounded, as larger numbers overflow the database's integers (a 500).
FilterId = Annotated[int, Field(ge=1, le=MAX_ID)]


class PartnerFilter(Schema):
    q: ShortText(200) | None = None
    status: Literal["applied", "active", "suspended", "terminated"] | None = None
    country: ShortText(2, 2) | None = None
    program: ShortText(64) | None = None
    track: ShortText(64) | None = None
    parent_id: FilterId | None = None
    partner_manager_id: FilterId | None = None


def _check_ids(data: dict) -> dict:
    for field in ("parent_id", "partner_manager_id"):
        if data.get(field) is not None and not 1 <= data[field] <= MAX_ID:
            raise ServiceError("Not an id.", field=field)
    return data


@router.get("", response={200: list[PartnerOut], **R}, summary="List partners")
@paginate(Pagination)
def partner_list(request, filters: Query[PartnerFilter]):
    """Partners the caller may see: staff by role, partner users their organisation and children."""
    return selectors.partner_list(fetched_by=request.auth, **filters.dict())


@router.post("", response={201: PartnerOut, **R}, summary="Create a partner")
def partner_create(request, payload: PartnerIn):
    require(
        request.auth,
        "partners.add_partner",
        None,
        "Only program admins and partner managers create partners.",
    )
    data = _check_ids({k: v for k, v in payload.dict().items() if v is not None})
    partner = services.partner_create(actor=request.auth, data=data)
    return Status(201, selectors.partner_get(fetched_by=request.auth, partner_id=partner.pk))


@router.get("/{partner_id}", response={200: PartnerOut, **R}, summary="Read a partner")
def partner_get(request, partner_id: ObjectId):
    return _partner(request, partner_id)


@router.patch("/{partner_id}", response={200: PartnerOut, **R}, summary="Change a partner")
def partner_update(request, partner_id: ObjectId, payload: PartnerPatch):
    partner = _partner(request, partner_id)
    require(request.auth, "partners.change_partner", partner)
    data = _check_ids(payload.dict(exclude_unset=True))
    none_not_allowed = {
        k
        for k, v in data.items()
        if v is None and k not in ("parent_id", "partner_manager_id", "latitude", "longitude")
    }
    if none_not_allowed:
        field = sorted(none_not_allowed)[0]
        raise ServiceError("This field cannot be null.", field=field)
    services.partner_update(actor=request.auth, partner=partner, data=data)
    return _partner(request, partner_id)


@router.post(
    "/{partner_id}/status", response={200: PartnerOut, **R}, summary="Change a partner's status"
)
def partner_set_status(request, partner_id: ObjectId, payload: StatusIn):
    partner = _partner(request, partner_id)
    require(
        request.auth,
        "partners.change_partner_status",
        partner,
        "Only program admins and the partner's manager change its status.",
    )
    services.partner_set_status(
        actor=request.auth, partner=partner, status=payload.status, reason=payload.reason
    )
    return _partner(request, partner_id)


@router.get(
    "/{partner_id}/status-history",
    response={200: list[StatusChangeOut], **R},
    summary="A partner's status history",
)
def partner_status_history(request, partner_id: ObjectId):
    partner = _partner(request, partner_id)
    return list(selectors.status_history(partner=partner))


# --- contacts


@router.get(
    "/{partner_id}/contacts", response={200: list[ContactOut], **R}, summary="List contacts"
)
def contact_list(request, partner_id: ObjectId):
    return list(selectors.contact_list(partner=_partner(request, partner_id)))


@router.post("/{partner_id}/contacts", response={201: ContactOut, **R}, summary="Add a contact")
def contact_create(request, partner_id: ObjectId, payload: ContactIn):
    partner = _partner(request, partner_id)
    require(request.auth, "partners.add_contact", partner)
    return Status(201, services.contact_create(partner=partner, **payload.dict()))


@router.patch(
    "/{partner_id}/contacts/{contact_id}",
    response={200: ContactOut, **R},
    summary="Change a contact",
)
def contact_update(request, partner_id: ObjectId, contact_id: ObjectId, payload: ContactPatch):
    partner = _partner(request, partner_id)
    contact = selectors.contact_get(partner=partner, contact_id=contact_id)
    require(request.auth, "partners.change_contact", partner)
    data = payload.dict(exclude_unset=True)
    if any(v is None for v in data.values()):
        raise ServiceError(
            "This field cannot be null.", field=next(k for k, v in data.items() if v is None)
        )
    return services.contact_update(contact=contact, data=data)


@router.delete(
    "/{partner_id}/contacts/{contact_id}", response={204: None, **R}, summary="Remove a contact"
)
def contact_delete(request, partner_id: ObjectId, contact_id: ObjectId):
    partner = _partner(request, partner_id)
    contact = selectors.contact_get(partner=partner, contact_id=contact_id)
    require(request.auth, "partners.delete_contact", partner)
    services.contact_delete(contact=contact)
    return Status(204, None)


# --- tracks


@router.get(
    "/{partner_id}/tracks",
    response={200: list[TrackMembershipOut], **R},
    summary="List track memberships",
)
def track_list(request, partner_id: ObjectId):
    return list(selectors.track_memberships(partner=_partner(request, partner_id)))


@router.post(
    "/{partner_id}/tracks", response={201: TrackMembershipOut, **R}, summary="Join a track"
)
def track_add(request, partner_id: ObjectId, payload: TrackRef):
    partner = _partner(request, partner_id)
    require(request.auth, "partners.change_trackmembership", partner)
    return Status(
        201, services.track_membership_add(actor=request.auth, partner=partner, **payload.dict())
    )


@router.delete(
    "/{partner_id}/tracks/{membership_id}", response={204: None, **R}, summary="Leave a track"
)
def track_remove(request, partner_id: ObjectId, membership_id: ObjectId):
    partner = _partner(request, partner_id)
    membership = selectors.track_membership_get(partner=partner, membership_id=membership_id)
    require(request.auth, "partners.change_trackmembership", partner)
    services.track_membership_remove(membership=membership)
    return Status(204, None)


# --- users and invitations


@router.get(
    "/{partner_id}/users",
    response={200: list[PartnerUserOut], **R},
    summary="List a partner's users",
)
def partner_user_list(request, partner_id: ObjectId):
    return list(selectors.partner_users(partner=_partner(request, partner_id)))


@router.patch(
    "/{partner_id}/users/{user_id}",
    response={200: PartnerUserOut, **R},
    summary="Change a partner user's role or deactivate the login",
)
def partner_user_update(
    request, partner_id: ObjectId, user_id: ObjectId, payload: PartnerUserPatch
):
    partner = _partner(request, partner_id)
    member = selectors.partner_user_get(partner=partner, user_id=user_id)
    require(
        request.auth,
        "partners.change_partneruser",
        partner,
        "Only the partner's admins and its vendor managers manage its users.",
    )
    return services.partner_user_update(
        actor=request.auth, member=member, **payload.dict(exclude_unset=True)
    )


@router.get(
    "/{partner_id}/invitations",
    response={200: list[InvitationOut], **R},
    summary="List invitations",
)
def invitation_list(request, partner_id: ObjectId):
    partner = _partner(request, partner_id)
    require(
        request.auth,
        "partners.view_invitation",
        partner,
        "Only the partner's admins and its vendor managers see invitations.",
    )
    return list(selectors.invitation_list(partner=partner))


@router.post(
    "/{partner_id}/invitations",
    response={201: InvitationOut, **R},
    summary="Invite a user by e-mail",
)
def invitation_create(request, partner_id: ObjectId, payload: InvitationIn):
    partner = _partner(request, partner_id)
    require(
        request.auth,
        "partners.invite_user",
        partner,
        "You may not invite users to this organisation (partner admins may, where the "
        "organisation allows it).",
    )
    return Status(
        201,
        services.invitation_create(
            actor=request.auth, partner=partner, email=payload.email, role=payload.role
        ),
    )


@router.delete(
    "/{partner_id}/invitations/{invitation_id}",
    response={200: InvitationOut, **R},
    summary="Revoke an invitation",
)
def invitation_revoke(request, partner_id: ObjectId, invitation_id: ObjectId):
    partner = _partner(request, partner_id)
    invitation = selectors.invitation_get(partner=partner, invitation_id=invitation_id)
    require(request.auth, "partners.change_invitation", partner)
    return services.invitation_revoke(invitation=invitation)


@invitations_router.post(
    "/accept",
    auth=None,
    response={201: AcceptedUserOut, **R},
    summary="Accept an invitation and set a password",
)
def invitation_accept(request, payload: InvitationAcceptIn):
    user = services.invitation_accept(
        token=payload.token, password=payload.password, full_name=payload.full_name
    )
    m = user.partner_membership
    return Status(
        201,
        {
            "user_id": user.pk,
            "email": user.email,
            "partner_id": m.partner_id,
            "role": m.role,
        },
    )


# --- applications


class ApplicationFilter(Schema):
    status: Literal["submitted", "approved", "rejected"] | None = None


@applications_router.post(
    "",
    auth=None,
    response={201: ApplicationSubmittedOut, **R},
    summary="Apply to become a partner (no login)",
)
def application_submit(request, payload: ApplicationIn):
    data = payload.dict()
    data["track_key"] = data.pop("track")
    application = services.application_submit(data=data)
    return Status(201, {"id": application.pk, "status": application.status})


@applications_router.get(
    "", response={200: list[ApplicationOut], **R}, summary="List applications (staff)"
)
@paginate(Pagination)
def application_list(request, filters: Query[ApplicationFilter]):
    require(
        request.auth,
        "partners.view_partnerapplication",
        None,
        "Only vendor staff review applications.",
    )
    return selectors.application_list(fetched_by=request.auth, status=filters.status)


@applications_router.get(
    "/{application_id}", response={200: ApplicationOut, **R}, summary="Read an application"
)
def application_get(request, application_id: ObjectId):
    return selectors.application_get(fetched_by=request.auth, application_id=application_id)


@applications_router.post(
    "/{application_id}/approve",
    response={200: PartnerOut, **R},
    summary="Approve an application: creates the partner and invites the applicant",
)
def application_approve(request, application_id: ObjectId, payload: DecisionIn):
    application = selectors.application_get(fetched_by=request.auth, application_id=application_id)
    require(request.auth, "partners.change_partnerapplication", application)
    with transaction.atomic():
        partner = services.application_approve(
            actor=request.auth, application=application, reason=payload.reason
        )
    return (
        selectors.partner_get(fetched_by=request.auth, partner_id=partner.pk)
        if request.auth.has_perm("partners.view_partner", partner)
        else partner
    )


@applications_router.post(
    "/{application_id}/reject",
    response={200: ApplicationOut, **R},
    summary="Reject an application with a reason",
)
def application_reject(request, application_id: ObjectId, payload: DecisionIn):
    application = selectors.application_get(fetched_by=request.auth, application_id=application_id)
    require(request.auth, "partners.change_partnerapplication", application)
    return services.application_reject(
        actor=request.auth, application=application, reason=payload.reason
    )
