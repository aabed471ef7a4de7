"""Deal registrations: one customer opportunity a partner claims, its products, attachments,
status history, conflicts found at submission and extension requests.

A registration stores the customer as typed *and* its normalised identity keys
(``name_norm``, ``name_key``, ``domain_key``, ``email_domain_key``; see ``matching.py``), so
conflict candidates are found through indexes, never by scanning every registration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel


class DealSource(models.TextChoices):
    PARTNER_SOURCED = "partner_sourced", "Partner-sourced"
    PARTNER_INFLUENCED = "partner_influenced", "Partner-influenced"
    REFERRAL = "referral", "Referral"


class DealStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WON = "won", "Closed-won"
    LOST = "lost", "Closed-lost"
    EXPIRED = "expired", "Expired"


# Registrations that still claim their customer: a later one for the same customer conflicts.
ACTIVE_STATUSES = (DealStatus.SUBMITTED, DealStatus.APPROVED)


class DealRegistration(TimeStampedModel):
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="deal_registrations"
    )
    program = models.ForeignKey(
        "programs.Program", on_delete=models.PROTECT, related_name="deal_registrations"
    )
    external_id = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text="Id in the system the registration was imported from (imports are idempotent).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The customer organisation and contact, as typed.
    customer_name = models.CharField(max_length=200)
    customer_website = models.CharField(max_length=253, blank=True)
    customer_country = models.CharField(max_length=2)
    customer_address = models.TextField(blank=True, max_length=1000)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(max_length=254, blank=True)

    # Normalised identity (matching.identity), kept in sync by the services.
    name_norm = models.CharField(max_length=400, db_index=True)
    name_key = models.CharField(max_length=400, db_index=True)
    domain_key = models.CharField(max_length=253, blank=True, db_index=True)
    email_domain_key = models.CharField(max_length=253, blank=True, db_index=True)

    # The opportunity.
    estimated_value_minor = models.BigIntegerField(help_text="Estimated value in minor units.")
    currency = models.CharField(max_length=3)
    expected_close_date = models.DateField()
    source = models.CharField(max_length=24, choices=DealSource.choices)
    notes = models.TextField(blank=True, max_length=5000)

    status = models.CharField(
        max_length=16, choices=DealStatus.choices, default=DealStatus.DRAFT, db_index=True
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_on = models.DateField(null=True, blank=True, help_text="UTC day of submission.")
    submission_seq = models.BigIntegerField(
        null=True,
        blank=True,
        unique=True,
        help_text="Order of submission across all registrations: lower has priority.",
    )
    flagged = models.BooleanField(
        default=False,
        help_text="Submitted while an earlier active registration claimed the same customer.",
    )

    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True, help_text="Why a flagged registration was approved despite its conflicts."
    )
    protection_days = models.PositiveIntegerField(null=True, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    protected_until = models.DateField(
        null=True,
        blank=True,
        help_text="Last day of protection (inclusive); it expires the day after unless won.",
    )
    closed_on = models.DateField(null=True, blank=True, help_text="Won, lost or expired on.")
    won_billing_line = models.ForeignKey(
        "sales.BillingLine",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="won_registrations",
    )
    close_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "status"], name="deal_partner_status"),
            models.Index(fields=["status", "protected_until"], name="deal_status_protected"),
            models.Index(fields=["program", "status", "submitted_at"], name="deal_program_status"),
            models.Index(fields=["partner", "submitted_on"], name="deal_partner_submitted"),
            models.Index(fields=["partner", "approved_on"], name="deal_partner_approved"),
            models.Index(fields=["partner", "closed_on"], name="deal_partner_closed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_value_minor__gt=0), name="deal_value_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="deal_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.customer_name}"

    @property
    def reference(self) -> str:
        return f"DR-{self.pk:06d}" if self.pk else "DR-new"


class DealProduct(models.Model):
    registration = models.ForeignKey(
        DealRegistration, on_delete=models.CASCADE, related_name="products"
    )
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "product"], name="deal_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"


def attachment_path(instance: DealAttachment, filename: str) -> str:
    return f"deals/{instance.registration_id}/{filename}"


class DealAttachment(models.Model):
    registration = models.ForeignKey(
        DealRegistration, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class DealStatusChange(models.Model):
    """One workflow transition: who moved the registration from which status to which, why."""

    registration = models.ForeignKey(
        DealRegistration, on_delete=models.CASCADE, related_name="history"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} -> {self.to_status}"


class DealConflict(models.Model):
    """A likely conflict found when ``registration`` was submitted: ``other`` was submitted
    earlier and claimed the same customer. Score and matched fields explain why."""

    registration = models.ForeignKey(
        DealRegistration, on_delete=models.CASCADE, related_name="conflicts"
    )
    other = models.ForeignKey(DealRegistration, on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=1)
    fields = models.JSONField(default=list)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "other_id"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "other"], name="deal_conflict_once")
        ]

    def __str__(self) -> str:
        return f"conflict with #{self.other_id} ({self.score})"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class DealExtension(models.Model):
    """A partner's request to protect an approved registration for longer."""

    registration = models.ForeignKey(
        DealRegistration, on_delete=models.CASCADE, related_name="extensions"
    )
    days = models.PositiveIntegerField()
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    previous_until = models.DateField(null=True, blank=True)
    new_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration"],
                condition=Q(status="pending"),
                name="deal_one_pending_extension",
            )
        ]

    def __str__(self) -> str:
        return f"+{self.days} days ({self.status})"


class SubmissionCounter(models.Model):
    """One row, locked by every submission and approval: submissions are numbered in the
    order they happened, and a conflict check always sees every earlier submission."""

    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"submission #{self.last}"
