"""Sales activity: products, end customers and billing lines imported from the ERP."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel


class ProductCategory(models.Model):
    """A product category (hardware, cloud plan, services...) as programs name it."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "product categories"

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """A product a partner can sell or quote; may require a certification to sell."""

    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.ForeignKey(ProductCategory, on_delete=models.PROTECT, related_name="products")
    list_price_minor = models.BigIntegerField(help_text="List price in minor units (cents).")
    currency = models.CharField(max_length=3)
    required_certification = models.ForeignKey(
        "training.Certification",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gated_products",
        help_text="Only partners with a currently certified person may register or quote it.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Customer(TimeStampedModel):
    """An end customer that partners sell to (identified by the ERP's id)."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, blank=True)
    website_domain = models.CharField(max_length=253, blank=True)
    # Normalised identity (deals.matching), so orders can be matched to deal registrations.
    name_key = models.CharField(max_length=400, blank=True, db_index=True)
    domain_key = models.CharField(max_length=253, blank=True, db_index=True)
    activated_on = models.DateField(
        help_text="When the customer became active (given by the ERP, else its first invoice "
        "date); under a program's activation rule its revenue counts only N days later.",
    )

    class Meta:
        ordering = ["name"]
        indexes = [
            # The activation rule of the tier metrics asks for the (few) customers activated
            # after a day: a range of this index instead of a scan of every customer.
            models.Index(fields=["activated_on", "id"], name="customer_activated_on"),
        ]

    def __str__(self) -> str:
        return self.name


class PurchasePath(models.TextChoices):
    DIRECT = "direct", "Direct"
    DISTRIBUTOR = "distributor", "Through a distributor"


class BillingLine(models.Model):
    """One invoiced (or credited) line: who sold what to which customer, when, for how much."""

    external_id = models.CharField(max_length=100, unique=True)
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="billing_lines"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="billing_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="billing_lines")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    net_amount_minor = models.BigIntegerField(
        help_text="Net amount in minor units; negative for credits."
    )
    currency = models.CharField(max_length=3)
    invoice_date = models.DateField()
    purchase_path = models.CharField(
        max_length=16, choices=PurchasePath.choices, default=PurchasePath.DIRECT
    )
    distributor = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributed_lines",
    )
    is_renewal = models.BooleanField(default=False)
    credited_line = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        db_index=False,
        help_text="For a credit note: the invoiced line it credits (its accruals are reversed).",
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice_date", "id"]
        indexes = [
            # Covering index for the tier metrics: SUM(net_amount) per partner over a date range
            # is answered from the index alone, already in partner order (no sort, no table).
            models.Index(
                fields=["partner", "invoice_date", "currency", "net_amount_minor", "customer"],
                name="billing_partner_date",
            ),
            models.Index(fields=["invoice_date"], name="billing_date"),
            models.Index(fields=["customer", "invoice_date"], name="billing_customer_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(purchase_path="direct", distributor__isnull=True)
                | Q(purchase_path="distributor", distributor__isnull=False),
                name="billing_distributor_matches_path",
            )
        ]

    def __str__(self) -> str:
        return self.external_id
