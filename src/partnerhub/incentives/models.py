"""Incentives: one append-only ledger, and what feeds it (accrual runs, customer payments,
referral elections, rebate closes, SPIFF campaigns and claims, payout runs).

Every amount owed to a partner is a :class:`LedgerEntry`. Entries are never updated or
deleted: a correction is a new entry. Balances are sums. ``payable`` splits the balance into
what may be paid now and what is held (commission payable only once the customer has paid);
a release moves an amount from held to payable with a pair of entries that sum to zero.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class IncentiveKind(models.TextChoices):
    COMMISSION = "commission", "Commission"
    REFERRAL_FEE = "referral_fee", "Referral fee"
    REBATE = "rebate", "Rebate"
    MDF = "mdf", "Market development funds"
    SPIFF = "spiff", "SPIFF"


class EntryType(models.TextChoices):
    ACCRUAL = "accrual", "Accrual"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"
    RELEASE = "release", "Release (held to payable)"
    PAYOUT = "payout", "Payout"


class SourceType(models.TextChoices):
    BILLING_LINE = "billing_line", "Billing line"
    CUSTOMER_PAYMENT = "customer_payment", "Customer payment"
    REFERRAL = "referral", "Referral"
    REBATE_CLOSE = "rebate_close", "Rebate period close"
    MDF_ACCRUAL = "mdf_accrual", "MDF accrual run"
    MDF_ALLOCATION = "mdf_allocation", "MDF allocation"
    MDF_CLAIM = "mdf_claim", "MDF claim"
    MDF_EXPIRY = "mdf_expiry", "MDF expiry"
    SPIFF_CLAIM = "spiff_claim", "SPIFF claim"
    PAYOUT_RUN = "payout_run", "Payout run"
    MANUAL = "manual", "Manual adjustment"


class LedgerEntry(models.Model):
    """One signed amount owed to (positive) or taken from (negative) a partner."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    program = models.ForeignKey(
        "programs.Program",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(max_length=16, choices=IncentiveKind.choices)
    entry_type = models.CharField(max_length=16, choices=EntryType.choices)
    amount_minor = models.BigIntegerField(help_text="Signed amount in minor units.")
    currency = models.CharField(max_length=3)
    booked_on = models.DateField(
        help_text="The economic date: invoice date, close date, period end, payout date."
    )
    payable = models.BooleanField(
        default=True, help_text="Counts toward the payable balance (else held)."
    )
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    basis_minor = models.BigIntegerField(
        null=True, blank=True, help_text="The amount the rate applied to, when there is one."
    )
    rate_bp = models.IntegerField(
        null=True, blank=True, help_text="The rate applied, in basis points (1% = 100)."
    )
    memo = models.CharField(max_length=300, blank=True)
    run_id = models.BigIntegerField(null=True, blank=True, help_text="The accrual run, if any.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_on", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["partner", "booked_on"], name="ledger_partner_booked"),
            models.Index(fields=["source_type", "source_id"], name="ledger_source"),
        ]
        constraints = [
            # The same source never accrues twice (billing lines are guarded by the accrual
            # watermark, which is cheaper than a unique index over millions of rows).
            models.UniqueConstraint(
                fields=[
                    "source_type",
                    "source_id",
                    "partner",
                    "kind",
                    "entry_type",
                    "currency",
                    "payable",
                ],
                condition=Q(
                    source_type__in=[
                        "referral",
                        "rebate_close",
                        "mdf_claim",
                        "spiff_claim",
                        "payout_run",
                        "mdf_expiry",
                    ]
                ),
                name="ledger_once_per_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.entry_type} {self.amount_minor} {self.currency}"


class AccrualState(models.Model):
    """The singleton watermark: billing lines up to this id have been accrued."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    accrued_through_line_id = models.BigIntegerField(default=0)
    released_through_payment_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"accrued through line {self.accrued_through_line_id}"


class AccrualRun(models.Model):
    """One accrual pass over new billing lines and customer payments."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    from_line_id = models.BigIntegerField(default=0)
    through_line_id = models.BigIntegerField(default=0)
    lines = models.PositiveBigIntegerField(default=0)
    entries = models.PositiveBigIntegerField(default=0)
    payments = models.PositiveBigIntegerField(default=0)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"accrual run {self.pk}"


class CustomerPayment(models.Model):
    """A payment the customer made against one billing line (from the ERP)."""

    external_id = models.CharField(max_length=100, unique=True)
    billing_line = models.ForeignKey(
        "sales.BillingLine", on_delete=models.PROTECT, related_name="customer_payments"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    paid_on = models.DateField()
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["paid_on", "id"]

    def __str__(self) -> str:
        return self.external_id


class ReferralChoice(models.TextChoices):
    FEE = "fee", "Referral fee"
    DISCOUNT = "discount", "Discount for the referred customer"


class ReferralElection(models.Model):
    """A partner's choice of referral benefit, from a date, for later referrals only.

    Append-only: a new election supersedes the previous one from its own date."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="referral_elections"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=16, choices=ReferralChoice.choices)
    effective_from = models.DateField()
    reason = models.TextField(blank=True)
    elected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "program_id", "effective_from", "id"]

    def __str__(self) -> str:
        return f"{self.choice} from {self.effective_from}"


class RebateClose(models.Model):
    """One rebate of a program closed for one period (entries point here)."""

    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    rebate_key = models.SlugField(max_length=64)
    period_start = models.DateField()
    period_end = models.DateField()
    partners = models.PositiveIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "rebate_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "rebate_key", "period_start"], name="unique_rebate_close"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rebate_key} {self.period_start}"


class SpiffCampaign(models.Model):
    """A time-boxed bounty per qualifying sale or activity."""

    class Basis(models.TextChoices):
        SALE = "sale", "Per qualifying sale (billing line)"
        ACTIVITY = "activity", "Per qualifying activity"

    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.SALE)
    products = models.ManyToManyField("sales.Product", blank=True, related_name="+")
    eligible_tiers = models.JSONField(
        default=list, blank=True, help_text="Tier keys; empty means every tier."
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    bounty_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    max_claims_per_partner = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="spiff_dates"
            ),
            models.CheckConstraint(condition=Q(bounty_minor__gt=0), name="spiff_bounty_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class SpiffClaim(models.Model):
    campaign = models.ForeignKey(SpiffCampaign, on_delete=models.PROTECT, related_name="claims")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    billing_line = models.ForeignKey(
        "sales.BillingLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activity = models.CharField(max_length=300, blank=True)
    activity_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "billing_line"],
                condition=Q(billing_line__isnull=False) & ~Q(status="rejected"),
                name="spiff_line_once",
            )
        ]

    def __str__(self) -> str:
        return f"claim {self.pk} on {self.campaign_id}"


class PayoutRun(models.Model):
    """Pays every partner's payable balance up to a date; a reference is paid once."""

    reference = models.CharField(max_length=64, unique=True)
    as_of = models.DateField()
    currency = models.CharField(max_length=3, blank=True, help_text="Empty: every currency.")
    partners = models.PositiveIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference
