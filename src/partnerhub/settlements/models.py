"""Site-host contracts and monthly settlement statements.

A ``Contract`` is effective from the first day of its start month to the last day of its end
month (``start_month`` and ``end_month`` are stored as the first day of the month); with
auto-renewal it continues month after month past its end until it is terminated. It says how
revenue from the host's charge points is shared (per AC and DC), which fees come off the
partner's share, the monthly platform fees, the remote-operation permissions granted and the
partner options.

Amounts are integer minor units in the contract's currency; rates per kWh ``Decimal`` with 6
places; percentages ``Decimal`` with 2. Rounding rules: ``docs/money.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel

# Remote operations a contract may grant the partner on its charge points (OCPP commands).
REMOTE_PERMISSIONS = (
    ("allow_start_stop", "Start / stop sessions"),
    ("allow_unlock_connector", "Unlock connector"),
    ("allow_trigger_message", "Trigger message"),
    ("allow_charging_profile", "Set charging profile"),
    ("allow_composite_schedule", "Get composite schedule"),
    ("allow_reservations", "Start / stop reservations"),
    ("allow_reset", "Reset charge point"),
    ("allow_firmware_update", "Firmware update"),
)

PARTNER_OPTIONS = (
    ("can_create_users", "Create users"),
    ("can_top_up_balances", "Top up user balances"),
    ("can_manage_tariffs", "Manage tariffs and tariff groups"),
    ("supplier_on_receipts", "Appear as supplier on receipts"),
    ("fault_notifications", "Fault notifications to the technical contact"),
)


class Contract(TimeStampedModel):
    name = models.CharField(max_length=200)
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="site_contracts"
    )
    currency = models.CharField(max_length=3, default="EUR")
    start_month = models.DateField(help_text="First day of the first month in force.")
    end_month = models.DateField(help_text="First day of the last month in force.")
    auto_renew = models.BooleanField(default=False)
    terminated_after = models.DateField(
        null=True,
        blank=True,
        help_text="First day of the last month in force of an auto-renewing contract that was "
        "terminated.",
    )

    # Revenue sharing.
    ac_share_percent = models.DecimalField(max_digits=5, decimal_places=2)
    dc_share_percent = models.DecimalField(max_digits=5, decimal_places=2)
    exclude_connection_fee = models.BooleanField(
        default=False, help_text="The connection fee stays with the operator."
    )
    deduct_electricity = models.BooleanField(
        default=False, help_text="Deduct electricity cost from revenue before sharing."
    )
    reimburse_electricity = models.BooleanField(
        default=False,
        help_text="Pay the partner its electricity cost on top of its share (needs deduction).",
    )

    # Fees taken from the partner's share.
    session_fee_ac_minor = models.BigIntegerField(default=0)
    session_fee_dc_minor = models.BigIntegerField(default=0)
    kwh_fee_ac = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    kwh_fee_dc = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    handling_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    # Monthly platform fees, excl. VAT.
    platform_fee_charge_point_minor = models.BigIntegerField(default=0)
    platform_fee_ac_evse_minor = models.BigIntegerField(default=0)
    platform_fee_dc_evse_minor = models.BigIntegerField(default=0)
    vat_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="VAT on the operator's fees, %."
    )

    # Remote-operation permissions.
    allow_start_stop = models.BooleanField(default=False)
    allow_unlock_connector = models.BooleanField(default=False)
    allow_trigger_message = models.BooleanField(default=False)
    allow_charging_profile = models.BooleanField(default=False)
    allow_composite_schedule = models.BooleanField(default=False)
    allow_reservations = models.BooleanField(default=False)
    allow_reset = models.BooleanField(default=False)
    allow_firmware_update = models.BooleanField(default=False)

    # Partner options.
    can_create_users = models.BooleanField(default=False)
    can_top_up_balances = models.BooleanField(default=False)
    can_manage_tariffs = models.BooleanField(default=False)
    supplier_on_receipts = models.BooleanField(default=False)
    fault_notifications = models.BooleanField(default=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["partner_id", "start_month", "id"]
        indexes = [models.Index(fields=["partner", "start_month"], name="contract_partner_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_month__gte=models.F("start_month")), name="contract_months_ordered"
            ),
            models.CheckConstraint(
                condition=Q(reimburse_electricity=False) | Q(deduct_electricity=True),
                name="contract_reimburse_needs_deduction",
            ),
            models.CheckConstraint(
                condition=Q(ac_share_percent__gte=0, ac_share_percent__lte=100)
                & Q(dc_share_percent__gte=0, dc_share_percent__lte=100)
                & Q(handling_fee_percent__gte=0, handling_fee_percent__lte=100),
                name="contract_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- settlement ----------------------------------------------------------------------------------


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FINAL = "final", "Final"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SettlementRun(models.Model):
    """One computation of a month's statements (drafts re-run; optionally finalised)."""

    month = models.DateField(help_text="First day of the month settled.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    finalise = models.BooleanField(default=False)
    recompute = models.BooleanField(
        default=True,
        help_text="False: the month's drafts are finalised as they are, not computed again "
        "(the console's 'finalise the month', queued because at scale it writes every "
        "per-session line).",
    )
    statements = models.IntegerField(default=0)
    sessions = models.BigIntegerField(default=0)
    adjustments = models.IntegerField(default=0)
    finalised = models.IntegerField(default=0)
    skipped_final = models.IntegerField(
        default=0, help_text="Partners whose statement of the month was already final."
    )
    max_session_id = models.BigIntegerField(
        default=0, help_text="Sessions with a higher id arrived after the run."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Settlement run {self.pk} for {self.month:%Y-%m} ({self.status})"


class StatementCounter(models.Model):
    """The lock row numbering final statements of one year without gaps."""

    year = models.IntegerField(unique=True)
    last_number = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Statement(TimeStampedModel):
    """One partner's settlement of one month. Totals are sums of its lines (exactly)."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="statements"
    )
    month = models.DateField(help_text="First day of the month settled.")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=8, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    number = models.CharField(max_length=16, null=True, blank=True, unique=True)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="statements"
    )
    vat_bp = models.IntegerField(default=0, help_text="VAT on operator fees, basis points.")
    run = models.ForeignKey(
        SettlementRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    max_session_id = models.BigIntegerField(default=0)
    session_lines_ready = models.BooleanField(
        default=True,
        help_text="False while the per-session lines of a draft are not written yet: they are "
        "computed from the inputs its run kept (``RunTerms``...) on first read or at "
        "finalisation.",
    )
    warning = models.CharField(max_length=500, blank=True)
    # Totals (minor units), sums of the lines.
    sessions = models.BigIntegerField(default=0)
    energy_wh = models.BigIntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0)
    shareable_minor = models.BigIntegerField(default=0)
    partner_share_minor = models.BigIntegerField(default=0)
    operator_share_minor = models.BigIntegerField(default=0)
    reimbursement_minor = models.BigIntegerField(default=0)
    fees_minor = models.BigIntegerField(default=0, help_text="Fees taken from the share.")
    platform_fees_minor = models.BigIntegerField(default=0)
    vat_minor = models.BigIntegerField(default=0)
    corporate_minor = models.BigIntegerField(default=0, help_text="Incl. VAT.")
    adjustments_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(
        default=0, help_text="Positive: payable to the partner; negative: receivable from it."
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "month"], name="statement_once_per_month"),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True)
                | Q(status="final", number__isnull=False),
                name="statement_final_is_numbered",
            ),
        ]
        indexes = [models.Index(fields=["month", "status"], name="statement_month_status")]

    def __str__(self) -> str:
        return self.number or f"Draft {self.month:%Y-%m} #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status == StatementStatus.FINAL


class LineKind(models.TextChoices):
    REVENUE = "revenue", "Revenue share"
    NO_CONTRACT = "no_contract", "Sessions with no contract in force"
    OTHER_CURRENCY = "other_currency", "Hosted sessions in another currency (not settled)"
    OTHER_CURRENCY_CORPORATE = (
        "other_currency_corporate",
        "Corporate billing sessions in another currency (not charged)",
    )
    SESSION_FEE = "session_fee", "Session fee"
    KWH_FEE = "kwh_fee", "kWh fee"
    HANDLING_FEE = "handling_fee", "Handling fee"
    PLATFORM_CHARGE_POINT = "platform_charge_point", "Platform fee per charge point"
    PLATFORM_AC_EVSE = "platform_ac_evse", "Platform fee per AC EVSE"
    PLATFORM_DC_EVSE = "platform_dc_evse", "Platform fee per DC EVSE"
    VAT = "vat", "VAT on operator fees"
    CORPORATE = "corporate", "Corporate billing charges"


class StatementLine(models.Model):
    """One line of a statement: an aggregate of its per-session lines, or an asset fee or
    the VAT. ``amount_minor`` is the line's effect on the net (+ to the partner).

    Lines of sessions in another currency (one per currency, hosted apart from corporate)
    carry that ``currency`` and amounts in it; their ``amount_minor`` is 0, so they never
    reach the totals. Every other line is in the statement's currency (``currency`` blank)."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    position = models.IntegerField(default=0)
    kind = models.CharField(max_length=24, choices=LineKind.choices)
    # A database default: the set-based INSERTs of compute.py name only the columns they set.
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        db_default="",
        help_text="Another currency's line; blank: the statement's.",
    )
    current_type = models.CharField(max_length=2, blank=True)
    is_adjustment = models.BooleanField(default=False)
    original_month = models.DateField(null=True, blank=True)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sessions = models.BigIntegerField(default=0)
    flagged_sessions = models.BigIntegerField(default=0)
    energy_wh = models.BigIntegerField(default=0)
    quantity = models.BigIntegerField(default=0, help_text="Assets counted (platform fees).")
    asset_days = models.BigIntegerField(default=0)
    rate_bp = models.IntegerField(default=0, help_text="Share %, handling % or VAT %, in bp.")
    unit_minor = models.BigIntegerField(default=0, help_text="Platform fee per asset-month.")
    revenue_minor = models.BigIntegerField(default=0)
    connection_fee_minor = models.BigIntegerField(default=0, help_text="Excluded from sharing.")
    electricity_minor = models.BigIntegerField(default=0, help_text="Computed electricity cost.")
    deducted_minor = models.BigIntegerField(default=0, help_text="Electricity deducted.")
    shareable_minor = models.BigIntegerField(default=0)
    partner_share_minor = models.BigIntegerField(default=0)
    operator_share_minor = models.BigIntegerField(default=0)
    reimbursement_minor = models.BigIntegerField(default=0)
    fee_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    charged_minor = models.BigIntegerField(default=0, help_text="Corporate charges excl. VAT.")
    vat_minor = models.BigIntegerField(default=0)
    amount_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = [
            "statement", "is_adjustment", "original_month", "position", "currency", "current_type"
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.get_kind_display()} {self.current_type}"

    def currency_of(self, statement_currency: str) -> str:
        """The currency of this line's amounts."""
        return self.currency or statement_currency

    @property
    def description(self) -> str:
        text = self.get_kind_display()
        if self.currency:
            text += f", {self.currency}"
        if self.current_type:
            text += f" ({self.current_type})"
        if self.is_adjustment and self.original_month:
            text = f"Adjustment {self.original_month:%Y-%m}: {text}"
        return text


class SessionSettlement(models.Model):
    """How one charging session was settled on one statement (revenue share, or a corporate
    billing charge). A session is on at most one final statement per kind of line.

    The three foreign keys have no database constraint (``db_constraint=False``): the lines
    are only written by ``compute.py``'s ``INSERT ... SELECT``, which joins each line to the
    statement, session and contract it names, so they exist by construction, and only deleted
    by it before their statement (drafts; final statements are never deleted, sessions are
    never deleted). An enforced constraint costs a parent lookup per row on SQLite and, on
    PostgreSQL (deferred constraints), one queued trigger event per row and key fired at
    commit: about 60 s for a million lines. ``on_delete`` still applies to ORM deletes."""

    statement = models.ForeignKey(
        Statement,
        on_delete=models.CASCADE,
        related_name="session_lines",
        db_index=False,
        db_constraint=False,
    )
    session = models.ForeignKey(
        "charging.ChargingSession",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # "revenue", "no_contract", "other_currency" (the host's) or "corporate" (the payer's);
    # "other_currency" with ``is_corporate``: a corporate session in another currency.
    kind = models.CharField(max_length=16)
    is_corporate = models.BooleanField(default=False)
    is_final = models.BooleanField(default=False)
    is_adjustment = models.BooleanField(default=False)
    original_month = models.DateField()
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    current_type = models.CharField(max_length=2)
    flagged = models.BooleanField(default=False)
    energy_wh = models.BigIntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0, help_text="Amount excl. VAT.")
    connection_fee_minor = models.BigIntegerField(default=0)
    electricity_minor = models.BigIntegerField(default=0)
    deducted_minor = models.BigIntegerField(default=0)
    shareable_minor = models.BigIntegerField(default=0)
    rate_bp = models.IntegerField(default=0)
    partner_share_minor = models.BigIntegerField(default=0)
    operator_share_minor = models.BigIntegerField(default=0)
    reimbursement_minor = models.BigIntegerField(default=0)
    session_fee_minor = models.BigIntegerField(default=0)
    kwh_fee_minor = models.BigIntegerField(default=0)
    handling_fee_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    charged_minor = models.BigIntegerField(default=0)
    vat_minor = models.BigIntegerField(default=0)
    amount_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["statement", "id"]
        indexes = [
            models.Index(
                fields=["statement", "kind", "current_type", "is_adjustment"],
                name="session_settlement_statement",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "is_corporate"],
                condition=Q(is_final=True),
                name="session_settled_once",
            )
        ]

    def __str__(self) -> str:
        return f"session {self.session_id} on statement {self.statement_id}"


# --- the inputs a run used, kept while its drafts' per-session lines are not written ----------
#
# A month's run sums every session's figures straight into the statement lines and does not
# write one per-session line per session (that write was three quarters of the run). A
# draft's per-session lines are written when they are first read or when it is finalised,
# from the same SQL over these copies of the run's inputs, so they add up to the statement
# exactly as the run computed it even if a contract, an electricity price or a corporate
# discount changed meanwhile. Rows are deleted once no draft of their run still needs them.
# Ids are plain integers (no foreign keys): copies, not references.


class _RunInput(models.Model):
    run_id = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} of run {self.run_id}"


class RunTerms(_RunInput):
    """A contract's terms as the run used them (as integers: ``compute.temp_terms``)."""

    contract_id = models.BigIntegerField()
    partner_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    ac_bp = models.BigIntegerField(null=True)
    dc_bp = models.BigIntegerField(null=True)
    excl = models.IntegerField(null=True)
    ded = models.IntegerField(null=True)
    reimb = models.IntegerField(null=True)
    sfee_ac = models.BigIntegerField(null=True)
    sfee_dc = models.BigIntegerField(null=True)
    kwh_ac = models.BigIntegerField(null=True)
    kwh_dc = models.BigIntegerField(null=True)
    handling_bp = models.BigIntegerField(null=True)
    div = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run_id", "contract_id"], name="run_terms_contract")]


class RunPrice(_RunInput):
    """An electricity price period as the run used it: [valid_from, valid_to) in UTC."""

    location_id = models.BigIntegerField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    micro = models.BigIntegerField(null=True)
    currency = models.CharField(max_length=3)

    class Meta:
        indexes = [
            models.Index(fields=["run_id", "location_id", "valid_from"], name="run_price_location")
        ]


class RunDiscount(_RunInput):
    """A corporate-billing partner's discount on service fees, basis points."""

    partner_id = models.BigIntegerField()
    disc_bp = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run_id", "partner_id"], name="run_discount_partner")]


class RunLate(_RunInput):
    """A late session of a closed month the run settled as an adjustment."""

    session_id = models.BigIntegerField()
    is_corporate = models.IntegerField()
    partner_id = models.BigIntegerField()
    original_month = models.DateField()
    contract_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run_id", "partner_id"], name="run_late_partner")]


class RunSettled(_RunInput):
    """A session of the month already on a final statement when the run ran (left out)."""

    session_id = models.BigIntegerField()
    is_corporate = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["run_id", "session_id"], name="run_settled_session")]


class ReplacedDraft(models.Model):
    """A draft statement a re-run of its month deleted (``compute.delete_drafts``): a link to
    it (a bookmark, an e-mail, a browser tab) leads to the partner's statement of that month
    now (``selectors.statement_replacing``), instead of a dead end."""

    statement_id = models.BigIntegerField(primary_key=True)
    partner_id = models.BigIntegerField()
    month = models.DateField()

    def __str__(self) -> str:
        return f"draft {self.statement_id} (partner {self.partner_id}, {self.month:%Y-%m})"


class PaymentDirection(models.TextChoices):
    RECEIVED = "received", "Received from the partner"
    MADE = "made", "Paid to the partner"


class Payment(models.Model):
    """Money received from or paid to the partner against a final statement."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="payments")
    direction = models.CharField(max_length=8, choices=PaymentDirection.choices)
    paid_on = models.DateField()
    amount_minor = models.BigIntegerField()
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["statement", "paid_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_positive")
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.amount_minor} on {self.paid_on}"
