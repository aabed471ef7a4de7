"""Quotes, credit lines and not-for-resale (NFR) purchases.

A quote prices products for one partner on one day, line by line, with every discount step
kept on the line (``QuoteLine.steps``). A direct purchase needs a credit line the staff record
(``CreditLine``); an NFR purchase is priced and limited by the program's ``incentives.nfr``
policy. See docs/quotes.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel
from partnerhub.sales.models import PurchasePath


class CreditLine(TimeStampedModel):
    """The credit limit the vendor grants a partner for direct purchases (DUNS required)."""

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="credit_line"
    )
    limit_minor = models.BigIntegerField(help_text="Credit limit in minor units.")
    currency = models.CharField(max_length=3)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_on = models.DateField()
    expires_on = models.DateField(
        null=True, blank=True, help_text="Last day the credit line may be used (inclusive)."
    )
    notes = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["partner_id"]
        constraints = [
            models.CheckConstraint(condition=Q(limit_minor__gt=0), name="credit_limit_positive")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.limit_minor} {self.currency}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"


class QuoteCounter(models.Model):
    """The last quote number of one year, locked while a quote is numbered (gapless)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Q-{self.year}: {self.last}"


class Quote(TimeStampedModel):
    """A priced offer to one partner: its lines, purchase path and total."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="quotes")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=16, unique=True, help_text="Q-YYYY-NNNNN, gapless.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quote_date = models.DateField()
    valid_until = models.DateField()
    purchase_path = models.CharField(max_length=16, choices=PurchasePath.choices)
    distributor = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributed_quotes",
    )
    registration = models.ForeignKey(
        "deals.DealRegistration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT, db_index=True
    )
    list_total_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    direct_allowed = models.BooleanField(
        default=True, help_text="False: the partner must buy through an authorised distributor."
    )
    direct_message = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "status", "quote_date"], name="quote_partner_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(purchase_path="direct", distributor__isnull=True)
                | Q(purchase_path="distributor", distributor__isnull=False),
                name="quote_distributor_matches_path",
            ),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="quote_total_not_neg"),
        ]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    """One product of a quote: list price, net unit price, line total and the price steps."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    list_price_minor = models.BigIntegerField()
    unit_net_minor = models.BigIntegerField()
    line_total_minor = models.BigIntegerField()
    steps = models.JSONField(
        default=list, help_text="[{label, percent, amount}] per unit, list price to net."
    )

    class Meta:
        ordering = ["quote_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "position"], name="quote_line_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"


class NfrPurchase(TimeStampedModel):
    """A not-for-resale purchase (demo or own-use units) under the program's NFR policy."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="nfr_purchases"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    is_renewal = models.BooleanField(default=False)
    renews = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
        help_text="The earlier purchase of the partner a renewal renews.",
    )
    ordered_on = models.DateField()
    bundle_product_ids = models.JSONField(default=list, blank=True)
    list_price_minor = models.BigIntegerField(default=0, help_text="List price of one unit.")
    price_minor = models.BigIntegerField(help_text="Price of the whole order (all units).")
    currency = models.CharField(max_length=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-ordered_on", "-id"]
        indexes = [models.Index(fields=["partner", "program"], name="nfr_partner_program")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="nfr_quantity_positive"),
            models.CheckConstraint(
                condition=Q(is_renewal=False, renews__isnull=True)
                | Q(is_renewal=True, renews__isnull=False),
                name="nfr_renewal_refers",
            ),
        ]

    def __str__(self) -> str:
        return f"NFR {self.product_id} x {self.quantity}"
