"""Partner organisations, their contacts, users, status history, tracks and applications."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from partnerhub.accounts.models import PartnerRole
from partnerhub.core.models import TimeStampedModel


class PartnerStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


# Which status may follow which. Terminated is final.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    PartnerStatus.APPLIED: {PartnerStatus.ACTIVE, PartnerStatus.TERMINATED},
    PartnerStatus.ACTIVE: {PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED},
    PartnerStatus.SUSPENDED: {PartnerStatus.ACTIVE, PartnerStatus.TERMINATED},
    PartnerStatus.TERMINATED: set(),
}

duns_validator = RegexValidator(r"^\d{9}$", "A DUNS number has exactly 9 digits.")


class Partner(TimeStampedModel):
    """A partner organisation (reseller, distributor, installer, site host...)."""

    legal_name = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200)
    vat_id = models.CharField("VAT ID", max_length=32, blank=True)
    duns = models.CharField("DUNS", max_length=9, blank=True, validators=[duns_validator])
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = CountryField()
    website_domain = models.CharField(max_length=253, blank=True)
    status = models.CharField(
        max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The sub-operator that manages this partner, if any.",
    )
    partner_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_partners",
        limit_choices_to={"staff_role__gt": ""},
    )
    allow_user_invitations = models.BooleanField(
        default=True, help_text="Partner admins may invite further users of their organisation."
    )
    # Public directory profile (/partners/): shown only while listed and active.
    directory_listed = models.BooleanField(
        "listed in the partner directory",
        default=False,
        help_text="Opt-in: show this partner in the public partner directory while active.",
    )
    directory_summary = models.CharField(
        "directory summary",
        max_length=500,
        blank=True,
        help_text="A short public description for the partner directory.",
    )
    latitude = models.DecimalField(
        max_digits=8,
        decimal_places=6,
        null=True,
        blank=True,
        db_index=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text="WGS 84 degrees, -90 to 90 (set together with the longitude).",
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text="WGS 84 degrees, -180 to 180 (set together with the latitude).",
    )

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["country"]),
            models.Index(fields=["website_domain"]),
            # The default order of every partner list (console, API): a page is an index walk.
            models.Index(fields=["display_name", "id"], name="partner_display_name_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="partner_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class StatusChange(models.Model):
    """One step of a partner's status lifecycle, with who did it and why."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=PartnerStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=PartnerStatus.choices)
    reason = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.partner}: {self.from_status or '-'} → {self.to_status}"


class ContactRole(models.TextChoices):
    ADMINISTRATIVE = "administrative", "Administrative"
    TECHNICAL = "technical", "Technical"
    BILLING = "billing", "Billing"


class Contact(TimeStampedModel):
    """A named contact person of a partner, by role."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(max_length=20, choices=ContactRole.choices)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +4930123456")

    class Meta:
        ordering = ["partner_id", "role", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class PartnerUser(models.Model):
    """Makes a user a member of exactly one partner organisation, with a role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=16, choices=PartnerRole.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner} ({self.role})"


class TrackMembership(models.Model):
    """A partner's membership in one track (partner type) of a program."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="track_memberships")
    program = models.ForeignKey(
        "programs.Program", on_delete=models.PROTECT, related_name="memberships"
    )
    track_key = models.SlugField(max_length=64)
    joined_on = models.DateField()

    class Meta:
        ordering = ["partner_id", "program_id", "track_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "program", "track_key"], name="unique_track_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner} in {self.program.key}/{self.track_key}"


class Invitation(models.Model):
    """An e-mailed, signed, expiring invitation to join a partner organisation."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=PartnerRole.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.partner}"

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class PartnerApplication(TimeStampedModel):
    """A prospective partner's request to join a program track; staff approve or reject."""

    legal_name = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    country = CountryField()
    vat_id = models.CharField("VAT ID", max_length=32, blank=True)
    website_domain = models.CharField(max_length=253, blank=True)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=32, blank=True)
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    track_key = models.SlugField(max_length=64)
    message = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    decision_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    partner = models.OneToOneField(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.status})"
