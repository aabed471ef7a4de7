"""Reads for partners: always through what the acting user may see (404 otherwise)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.accounts.models import User
from partnerhub.core.permissions import visible_partners
from partnerhub.partners.models import (
    Contact,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerUser,
    StatusChange,
    TrackMembership,
)


def partner_list(
    *,
    fetched_by: User,
    q: str | None = None,
    status: str | None = None,
    country: str | None = None,
    program: str | None = None,
    track: str | None = None,
    parent_id: int | None = None,
    partner_manager_id: int | None = None,
) -> QuerySet[Partner]:
    qs = visible_partners(fetched_by).prefetch_related("track_memberships__program")
    if q:
        qs = qs.filter(
            Q(legal_name__icontains=q)
            | Q(display_name__icontains=q)
            | Q(website_domain__icontains=q)
        )
    if status:
        qs = qs.filter(status=status)
    if country:
        qs = qs.filter(country=country.upper())
    if program or track:
        memberships = TrackMembership.objects.all()
        if program:
            memberships = memberships.filter(program__key=program)
        if track:
            memberships = memberships.filter(track_key=track)
        qs = qs.filter(id__in=memberships.values("partner_id"))
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if partner_manager_id is not None:
        qs = qs.filter(partner_manager_id=partner_manager_id)
    return qs.order_by("display_name", "id")


def partner_get(*, fetched_by: User, partner_id: int, for_update: bool = False) -> Partner:
    """The partner if ``fetched_by`` may see it; 404 otherwise (no existence leak)."""
    qs = visible_partners(fetched_by).prefetch_related("track_memberships__program")
    return get_object_or_404(qs, pk=partner_id)


def contact_list(*, partner: Partner) -> QuerySet[Contact]:
    return partner.contacts.all()


def contact_get(*, partner: Partner, contact_id: int) -> Contact:
    return get_object_or_404(Contact, partner=partner, pk=contact_id)


def status_history(*, partner: Partner) -> QuerySet[StatusChange]:
    return partner.status_changes.all()


def track_memberships(*, partner: Partner) -> QuerySet[TrackMembership]:
    return partner.track_memberships.select_related("program")


def track_membership_get(*, partner: Partner, membership_id: int) -> TrackMembership:
    return get_object_or_404(track_memberships(partner=partner), pk=membership_id)


def partner_users(*, partner: Partner) -> QuerySet[PartnerUser]:
    return partner.members.select_related("user").order_by("user__email")


def partner_user_get(*, partner: Partner, user_id: int) -> PartnerUser:
    return get_object_or_404(partner_users(partner=partner), user_id=user_id)


def invitation_list(*, partner: Partner) -> QuerySet[Invitation]:
    return partner.invitations.all()


def invitation_get(*, partner: Partner, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, partner=partner, pk=invitation_id)


def application_list(
    *, fetched_by: User, status: str | None = None
) -> QuerySet[PartnerApplication]:
    if not fetched_by.has_perm("partners.view_partnerapplication"):
        return PartnerApplication.objects.none()
    qs = PartnerApplication.objects.select_related("program")
    if status:
        qs = qs.filter(status=status)
    return qs


def application_get(*, fetched_by: User, application_id: int) -> PartnerApplication:
    return get_object_or_404(application_list(fetched_by=fetched_by), pk=application_id)
