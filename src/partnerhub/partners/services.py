"""Every write to partners, contacts, memberships, invitations and applications.

Services are keyword-only, run in one transaction, validate fully (nothing half written) and
raise ServiceError/Conflict/NotAllowed or Django's ValidationError with field names.
Permission checks are the caller's job through the permission layer, except where a service
decides which fields an actor may touch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from partnerhub.accounts.models import PartnerRole, StaffRole, User
from partnerhub.core.errors import Conflict, NotAllowed, ServiceError
from partnerhub.core.tasks import send_email_on_commit
from partnerhub.partners.models import (
    STATUS_TRANSITIONS,
    ApplicationStatus,
    Contact,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerUser,
    StatusChange,
    TrackMembership,
)
from partnerhub.partners.validation import (
    normalize_domain,
    normalize_duns,
    normalize_phone,
    normalize_vat_id,
)
from partnerhub.programs.models import Program

PROFILE_FIELDS = {
    "legal_name",
    "display_name",
    "vat_id",
    "duns",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "website_domain",
    # The public directory profile (partners opt in).
    "directory_listed",
    "directory_summary",
    "latitude",
    "longitude",
}
STAFF_FIELDS = {"partner_manager_id", "parent_id", "allow_user_invitations"}
INVITATION_SALT = "partnerhub.partners.invitation"


def _clean_partner(partner: Partner) -> None:
    errors: dict[str, list[str]] = {}
    for field, fn in (
        ("vat_id", lambda p: normalize_vat_id(p.vat_id, str(p.country))),
        ("website_domain", lambda p: normalize_domain(p.website_domain)),
        ("duns", lambda p: normalize_duns(p.duns)),
    ):
        try:
            setattr(partner, field, fn(partner))
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if not partner.display_name:
        partner.display_name = partner.legal_name
    if (partner.latitude is None) != (partner.longitude is None):
        field = "longitude" if partner.longitude is None else "latitude"
        errors.setdefault(field, []).append(
            "Give both coordinates (latitude and longitude) or neither."
        )
    try:
        # Fields that failed normalisation are reported once, not again by the model.
        partner.full_clean(exclude=["partner_manager", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if partner.partner_manager_id is not None:
        manager = User.objects.filter(pk=partner.partner_manager_id).first()
        if manager is None or not manager.is_active or not manager.staff_role:
            errors.setdefault("partner_manager_id", []).append(
                "The partner manager must be an active vendor staff user."
            )
    if partner.parent_id is not None and partner.pk is not None:
        from partnerhub.core.permissions import partner_subtree_ids

        if partner.parent_id in partner_subtree_ids(partner.pk):
            errors.setdefault("parent_id", []).append(
                "A partner cannot be placed under itself or one of its own children."
            )
    if errors:
        renamed = {"parent": "parent_id", "partner_manager": "partner_manager_id"}
        raise ValidationError({renamed.get(k, k): v for k, v in errors.items()})


def _check_fields(actor: User, fields: set[str]) -> None:
    if fields & STAFF_FIELDS and not actor.has_perm("partners.assign_partner"):
        allowed_for_manager = {"allow_user_invitations"}
        refused = fields & STAFF_FIELDS
        if actor.staff_role == StaffRole.PARTNER_MANAGER:
            refused -= allowed_for_manager
        if refused:
            # Name a field the actor may not set (not one it may, such as a default).
            field = sorted(refused)[0]
            raise NotAllowed("Only a program admin may change this field.", field=field)


def _check_parent(actor: User, parent_id: int | None) -> None:
    """The parent must be a partner the actor sees; a hidden one answers like a missing one."""
    from partnerhub.core.permissions import visible_partners

    if parent_id is not None and not visible_partners(actor).filter(pk=parent_id).exists():
        raise ServiceError(f"No partner with id {parent_id}.", field="parent_id")


@transaction.atomic
def partner_create(*, actor: User, data: dict[str, Any], reason: str = "") -> Partner:
    """Create a partner organisation; its first status change records who created it."""
    unknown = set(data) - PROFILE_FIELDS - STAFF_FIELDS - {"status", "tracks"}
    if unknown:
        raise ServiceError(f"Unknown field '{sorted(unknown)[0]}'.", field=sorted(unknown)[0])
    data = dict(data)
    tracks = data.pop("tracks", None) or []
    status = data.pop("status", None) or PartnerStatus.ACTIVE
    if status not in (PartnerStatus.APPLIED, PartnerStatus.ACTIVE):
        raise ServiceError("A new partner starts as 'applied' or 'active'.", field="status")
    _check_fields(actor, set(data))
    _check_parent(actor, data.get("parent_id"))
    if actor.staff_role == StaffRole.PARTNER_MANAGER and not data.get("partner_manager_id"):
        data["partner_manager_id"] = actor.pk
    partner = Partner(status=status, **data)
    _clean_partner(partner)
    partner.save()
    StatusChange.objects.create(
        partner=partner, from_status="", to_status=status, reason=reason or "Created", author=actor
    )
    for item in tracks:
        track_membership_add(actor=actor, partner=partner, **item)
    return partner


@transaction.atomic
def partner_update(*, actor: User, partner: Partner, data: dict[str, Any]) -> Partner:
    """Change profile fields (partner admins) or assignment fields (staff)."""
    unknown = set(data) - PROFILE_FIELDS - STAFF_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ServiceError(f"Field '{field}' cannot be changed here.", field=field)
    _check_fields(actor, set(data))
    _check_parent(actor, data.get("parent_id"))
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    for field, value in data.items():
        setattr(partner, field, value)
    _clean_partner(partner)
    partner.save()
    return partner


@transaction.atomic
def partner_set_status(*, actor: User, partner: Partner, status: str, reason: str) -> Partner:
    """Move a partner along its lifecycle (applied → active → suspended → terminated)."""
    if not reason or not reason.strip():
        raise ServiceError("A reason is required for a status change.", field="reason")
    if status not in PartnerStatus.values:
        raise ServiceError(f"Unknown status '{status}'.", field="status")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if status == partner.status:
        raise Conflict(
            f"The partner is already {partner.get_status_display().lower()}.", field="status"
        )
    if status not in STATUS_TRANSITIONS[partner.status]:
        allowed = ", ".join(sorted(STATUS_TRANSITIONS[partner.status])) or "none (final)"
        raise Conflict(
            f"A {partner.status} partner cannot become {status}; allowed: {allowed}.",
            field="status",
        )
    StatusChange.objects.create(
        partner=partner,
        from_status=partner.status,
        to_status=status,
        reason=reason.strip(),
        author=actor,
    )
    partner.status = status
    partner.save(update_fields=["status", "updated_at"])
    if status in (PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED):
        # Pending invitations die with the partner's access.
        partner.invitations.filter(accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
    return partner


def _clean_contact(contact: Contact) -> None:
    errors: dict[str, list[str]] = {}
    try:
        contact.phone = normalize_phone(contact.phone, str(contact.partner.country))
    except ValidationError as exc:
        errors["phone"] = exc.messages
    contact.email = (contact.email or "").strip().lower()
    try:
        contact.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contact_create(
    *, partner: Partner, role: str, name: str, email: str, phone: str = ""
) -> Contact:
    contact = Contact(partner=partner, role=role, name=name.strip(), email=email, phone=phone)
    _clean_contact(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict[str, Any]) -> Contact:
    for field in ("role", "name", "email", "phone"):
        if field in data:
            setattr(contact, field, data[field])
    _clean_contact(contact)
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    contact.delete()


@transaction.atomic
def track_membership_add(
    *,
    actor: User,
    partner: Partner,
    program: str,
    track: str,
    joined_on: dt.date | None = None,
) -> TrackMembership:
    """Make a partner a member of a program track (it starts at that track's entry tier)."""
    program_obj = Program.objects.filter(key=program).first()
    if program_obj is None:
        raise ServiceError(f"No program with key '{program}'.", field="program")
    joined_on = joined_on or timezone.localdate()
    version = (
        program_obj.version_as_of(joined_on) or program_obj.versions.order_by("number").first()
    )
    if version is None or not version.tracks.filter(key=track).exists():
        keys = ", ".join(version.tracks.values_list("key", flat=True)) if version else ""
        raise ServiceError(
            f"Program '{program}' has no track '{track}' (tracks: {keys or 'none'}).", field="track"
        )
    membership, created = TrackMembership.objects.get_or_create(
        partner=partner, program=program_obj, track_key=track, defaults={"joined_on": joined_on}
    )
    if not created:
        raise Conflict(f"The partner is already in track '{track}' of '{program}'.", field="track")
    return membership


@transaction.atomic
def track_membership_remove(*, membership: TrackMembership) -> None:
    membership.delete()


# --- users and invitations -----------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT)


def invitation_link(invitation: Invitation) -> str:
    return (
        f"{settings.PARTNERHUB_BASE_URL}/invitations/accept/?token={invitation_token(invitation)}"
    )


@transaction.atomic
def invitation_create(*, actor: User | None, partner: Partner, email: str, role: str) -> Invitation:
    """Invite a person by e-mail to become a user of ``partner`` with ``role``."""
    email = (email or "").strip().lower()
    if role not in PartnerRole.values:
        raise ServiceError(f"Unknown role '{role}'.", field="role")
    if partner.status not in (PartnerStatus.ACTIVE, PartnerStatus.APPLIED):
        raise Conflict(f"A {partner.status} partner cannot invite users.", field="partner")
    if actor is not None and actor.staff_role == "" and not partner.allow_user_invitations:
        raise NotAllowed("This organisation may not invite users; ask your partner manager.")
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(f"A user with e-mail {email} already exists.", field="email")
    if Invitation.objects.filter(
        partner=partner,
        email=email,
        accepted_at=None,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    ).exists():
        raise Conflict(f"{email} already has a pending invitation.", field="email")
    invitation = Invitation(
        partner=partner,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    inviter = actor.get_full_name() if actor else "The partner team"
    send_email_on_commit(
        to=[email],
        subject=f"You are invited to {partner.display_name} on PartnerHub",
        body=(
            f"{inviter} invited you to join {partner.display_name} on PartnerHub as "
            f"{invitation.get_role_display()}.\n\nAccept the invitation here (valid for "
            f"{settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS} days):\n{invitation_link(invitation)}\n"
        ),
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """Return the pending invitation a token names, or raise ServiceError saying why not."""
    max_age = dt.timedelta(days=settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ServiceError(
            "This invitation has expired; ask for a new one.", field="token"
        ) from None
    except signing.BadSignature:
        raise ServiceError("This invitation link is not valid.", field="token") from None
    invitation = Invitation.objects.select_related("partner").filter(pk=payload.get("i")).first()
    if invitation is None or invitation.email != payload.get("e"):
        raise ServiceError("This invitation link is not valid.", field="token")
    state = invitation.state
    if state != "pending":
        raise Conflict(f"This invitation is {state}.", field="token")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, full_name: str = "") -> User:
    """Create the invited user, member of the inviting partner with the invited role."""
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != "pending":
        raise Conflict(f"This invitation is {invitation.state}.", field="token")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise Conflict("A user with this e-mail already exists.", field="token")
    from django.contrib.auth.password_validation import validate_password

    user = User(email=invitation.email, full_name=full_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    PartnerUser.objects.create(user=user, partner=invitation.partner, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.state != "pending":
        raise Conflict(f"This invitation is already {invitation.state}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def partner_user_update(
    *, actor: User, member: PartnerUser, role: str | None = None, is_active: bool | None = None
) -> PartnerUser:
    """Change a partner user's role or (de)activate the login."""
    if member.user_id == actor.pk and (is_active is False or (role and role != member.role)):
        raise Conflict("You cannot change your own role or deactivate yourself.")
    if role is not None:
        if role not in PartnerRole.values:
            raise ServiceError(f"Unknown role '{role}'.", field="role")
        member.role = role
        member.save(update_fields=["role"])
    if is_active is not None:
        member.user.is_active = is_active
        member.user.save(update_fields=["is_active"])
    return member


# --- applications ----------------------------------------------------------------------------


@transaction.atomic
def application_submit(*, data: dict[str, Any]) -> PartnerApplication:
    """A prospective partner applies to a program track (no login needed)."""
    data = dict(data)
    program_key = data.pop("program")
    program = Program.objects.filter(key=program_key).first()
    if program is None:
        raise ServiceError(f"No program with key '{program_key}'.", field="program")
    version = program.version_as_of(timezone.localdate()) or program.versions.first()
    if version is None or not version.tracks.filter(key=data.get("track_key")).exists():
        raise ServiceError(
            f"Program '{program_key}' has no track '{data.get('track_key')}'.", field="track"
        )
    application = PartnerApplication(program=program, **data)
    errors: dict[str, list[str]] = {}
    for field, fn in (
        ("vat_id", lambda a: normalize_vat_id(a.vat_id, str(a.country))),
        ("website_domain", lambda a: normalize_domain(a.website_domain)),
        ("contact_phone", lambda a: normalize_phone(a.contact_phone, str(a.country))),
    ):
        try:
            setattr(application, field, fn(application))
        except ValidationError as exc:
            errors[field] = exc.messages
    application.contact_email = application.contact_email.strip().lower()
    try:
        application.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    application.save()
    return application


@transaction.atomic
def application_approve(
    *, actor: User, application: PartnerApplication, reason: str = ""
) -> Partner:
    """Approve: create the partner (active), its track membership and invite the applicant."""
    application = PartnerApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.SUBMITTED:
        raise Conflict(f"This application is already {application.status}.")
    partner = partner_create(
        actor=actor,
        data={
            "legal_name": application.legal_name,
            "display_name": application.display_name or application.legal_name,
            "country": application.country,
            "vat_id": application.vat_id,
            "website_domain": application.website_domain,
            "status": PartnerStatus.APPLIED,
        },
        reason=f"Application #{application.pk} submitted",
    )
    partner_set_status(
        actor=actor,
        partner=partner,
        status=PartnerStatus.ACTIVE,
        reason=reason.strip() or f"Application #{application.pk} approved",
    )
    track_membership_add(
        actor=actor, partner=partner, program=application.program.key, track=application.track_key
    )
    contact_create(
        partner=partner,
        role="administrative",
        name=application.contact_name,
        email=application.contact_email,
        phone=application.contact_phone,
    )
    if not User.objects.filter(email__iexact=application.contact_email).exists():
        invitation_create(
            actor=actor, partner=partner, email=application.contact_email, role=PartnerRole.ADMIN
        )
    application.status = ApplicationStatus.APPROVED
    application.decision_reason = reason.strip()
    application.decided_by = actor
    application.decided_at = timezone.now()
    application.partner = partner
    application.save()
    return Partner.objects.get(pk=partner.pk)


@transaction.atomic
def application_reject(
    *, actor: User, application: PartnerApplication, reason: str
) -> PartnerApplication:
    if not reason or not reason.strip():
        raise ServiceError("A reason is required to reject an application.", field="reason")
    application = PartnerApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.SUBMITTED:
        raise Conflict(f"This application is already {application.status}.")
    application.status = ApplicationStatus.REJECTED
    application.decision_reason = reason.strip()
    application.decided_by = actor
    application.decided_at = timezone.now()
    application.save()
    send_email_on_commit(
        to=[application.contact_email],
        subject="Your partner application",
        body=(
            "Thank you for applying. We cannot accept the application now: "
            f"{application.decision_reason}"
        ),
    )
    return application
