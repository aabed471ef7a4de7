"""Every write of the incentives app; each runs in one transaction and only appends to the
ledger (``ledger.post`` or a set-based ``INSERT ... SELECT``).

- ``accrual_run``: commissions, credit-note reversals, MDF accrual and commission releases
  for every billing line and customer payment since the last run (``accrual.py``).
- ``customer_payments_import``: payments per billing line (commission paid on payment).
- ``referral_election_create``: fee or customer discount, from a date, for later referrals.
- ``referral_fees_accrue``: a fee per closed-won referral whose partner elected fees.
- ``rebate_close``: a volume rebate for one ended period, once.
- ``spiff_campaign_create`` / ``spiff_claim_submit`` / ``spiff_claim_decide``.
- ``adjustment_create``: a manual, signed, reasoned entry by finance.
- ``payout_run``: pays every payable balance up to a date, once per reference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from partnerhub.core.errors import Conflict, NotAllowed, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import currency_code, from_minor, minor_digits, to_minor
from partnerhub.deals.models import DealRegistration, DealSource, DealStatus
from partnerhub.incentives import ledger
from partnerhub.incentives.accrual import Accrual, bp, incentives_of
from partnerhub.incentives.models import (
    AccrualRun,
    AccrualState,
    ClaimStatus,
    CustomerPayment,
    EntryType,
    IncentiveKind,
    LedgerEntry,
    PayoutRun,
    RebateClose,
    ReferralChoice,
    ReferralElection,
    SourceType,
    SpiffCampaign,
    SpiffClaim,
)
from partnerhub.partners.models import Partner, TrackMembership
from partnerhub.programs.models import Program, Tier
from partnerhub.sales.models import BillingLine
from partnerhub.settlements.sql import Dialect, half_up
from partnerhub.tiers.models import PartnerTier

# --- accrual ---------------------------------------------------------------------------------


def accrual_run(*, actor=None, on: dt.date | None = None) -> AccrualRun:
    """Accrue everything new since the last run; a second run right after finds nothing."""
    on = on or timezone.localdate()
    with transaction.atomic():
        state, _ = AccrualState.objects.select_for_update().get_or_create(id=1)
        if connection.vendor == "postgresql":
            # Wait for imports still writing lines or payments (their ids may be below the
            # new watermark) and keep new ones out until this run commits; SQLite has one
            # writer at a time anyway.
            with connection.cursor() as cursor:
                cursor.execute(
                    "LOCK TABLE sales_billingline, incentives_customerpayment IN SHARE MODE"
                )
        hi = BillingLine.objects.aggregate(m=Max("id"))["m"] or 0
        pay_hi = CustomerPayment.objects.aggregate(m=Max("id"))["m"] or 0
        lo, pay_lo = state.accrued_through_line_id, state.released_through_payment_id
        run = AccrualRun.objects.create(
            from_line_id=lo,
            through_line_id=max(hi, lo),
            triggered_by=actor if getattr(actor, "pk", None) else None,
        )
        if hi > lo or pay_hi > pay_lo:
            result = Accrual(
                run_id=run.pk, lo=lo, hi=max(hi, lo), pay_lo=pay_lo, pay_hi=pay_hi, on=on
            ).run()
            run.step_seconds = result.step_seconds  # for benchmarks; not stored
            run.entries = (
                result.commission_entries
                + result.reversal_entries
                + result.mdf_entries
                + result.release_entries
            )
        run.lines = max(hi - lo, 0) if hi > lo else 0
        if hi > lo:
            run.lines = BillingLine.objects.filter(id__gt=lo, id__lte=hi).count()
        run.payments = max(pay_hi - pay_lo, 0)
        run.finished_at = timezone.now()
        run.save()
        state.accrued_through_line_id = max(hi, lo)
        state.released_through_payment_id = max(pay_hi, pay_lo)
        state.save()
        referral_fees_accrue(on=on)
        if run.entries:
            emit("incentives.accrued", payload={"run": run.pk, "entries": run.entries})
    return run


# --- customer payments -------------------------------------------------------------------------


# The customer-payments CSV (command and console upload): column -> (required, max length).
PAYMENT_COLUMNS = {
    "external_id": (True, 100),
    "billing_line": (True, 100),
    "amount": (True, 32),
    "paid_on": (True, 10),
}


@dataclass
class PaymentReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors)


def customer_payments_import(*, rows: list[dict], actor=None) -> PaymentReport:
    """Rows: external_id, billing_line (its external id), amount, paid_on. All or nothing;
    every error names its row and column (a CSV row's own number when it carries one, else
    its position from 1). A payment may not exceed what is left to pay on the line."""
    report = PaymentReport(rows=len(rows))
    lines = {
        line.external_id: line
        for line in BillingLine.objects.filter(
            external_id__in=[str(r.get("billing_line") or "") for r in rows]
        )
    }
    existing = {
        p.external_id: p
        for p in CustomerPayment.objects.filter(
            external_id__in=[str(r.get("external_id") or "") for r in rows]
        )
    }
    paid = dict(
        CustomerPayment.objects.filter(billing_line__in=list(lines.values()))
        .values("billing_line_id")
        .annotate(s=Sum("amount_minor"))
        .values_list("billing_line_id", "s")
    )
    to_create: list[CustomerPayment] = []
    seen: set[str] = set()
    for position, raw in enumerate(rows, start=1):
        index = raw.get("_row", position)

        def error(column: str, message: str, index=index) -> None:
            report.errors.append({"row": index, "column": column, "message": message})

        ext = str(raw.get("external_id") or "").strip()
        if not ext or len(ext) > 100:
            error("external_id", "is required (at most 100 characters)")
            continue
        if ext in seen:
            error("external_id", f"payment {ext!r} appears twice in this file")
            continue
        seen.add(ext)
        line = lines.get(str(raw.get("billing_line") or ""))
        if line is None:
            error("billing_line", f"no billing line {raw.get('billing_line')!r}")
            continue
        if line.net_amount_minor <= 0:
            error("billing_line", "a payment is recorded against an invoice, not a credit note")
            continue
        try:
            amount = to_minor(Decimal(str(raw.get("amount"))), line.currency)
            if Decimal(str(raw.get("amount"))).as_tuple().exponent < -minor_digits(line.currency):
                raise ValueError
        except Exception:  # noqa: BLE001 - any unreadable amount is the row's error
            error("amount", f"{raw.get('amount')!r} is not an amount in {line.currency}")
            continue
        if amount <= 0:
            error("amount", "must be positive")
            continue
        try:
            paid_on = dt.date.fromisoformat(str(raw.get("paid_on")))
        except ValueError:
            error("paid_on", f"{raw.get('paid_on')!r} is not a date (YYYY-MM-DD)")
            continue
        if ext in existing:
            old = existing[ext]
            if (old.billing_line_id, old.amount_minor, old.paid_on) == (line.pk, amount, paid_on):
                report.unchanged += 1
                continue
            error("external_id", f"payment {ext!r} was already imported with other values")
            continue
        left = line.net_amount_minor - paid.get(line.pk, 0)
        if amount > left:
            error(
                "amount",
                f"{from_minor(amount, line.currency)} is more than the "
                f"{from_minor(left, line.currency)} {line.currency} left to pay on line "
                f"{line.external_id}",
            )
            continue
        paid[line.pk] = paid.get(line.pk, 0) + amount
        to_create.append(
            CustomerPayment(
                external_id=ext,
                billing_line=line,
                amount_minor=amount,
                currency=line.currency,
                paid_on=paid_on,
            )
        )
    if report.errors:
        return report
    with transaction.atomic():
        CustomerPayment.objects.bulk_create(to_create)
    report.created = len(to_create)
    return report


# --- referral benefit ---------------------------------------------------------------------------


def _enrolled_program(partner: Partner, program_key: str | None) -> Program:
    programs = {
        m.program.key: m.program
        for m in TrackMembership.objects.filter(partner=partner).select_related("program")
    }
    if program_key:
        if program_key not in programs:
            raise ServiceError(
                f"{partner.display_name} is not enrolled in program '{program_key}'.",
                field="program",
            )
        return programs[program_key]
    if len(programs) != 1:
        raise ServiceError(
            "Name the program"
            + (f" (one of: {', '.join(sorted(programs))})." if programs else "."),
            field="program",
        )
    return next(iter(programs.values()))


def referral_election_create(
    *,
    partner: Partner,
    choice: str,
    effective_from: dt.date | None = None,
    program_key: str | None = None,
    reason: str = "",
    actor=None,
) -> ReferralElection:
    """Elect referral fees or a customer discount. It applies to referrals submitted on or
    after ``effective_from`` (today by default, never in the past: earlier referrals keep the
    benefit elected when they were made)."""
    if choice not in ReferralChoice.values:
        raise ServiceError("Choose 'fee' or 'discount'.", field="choice")
    today = timezone.localdate()
    effective_from = effective_from or today
    if effective_from < today:
        raise ServiceError(
            "An election applies from today or a later day, to later referrals only.",
            field="effective_from",
        )
    program = _enrolled_program(partner, program_key)
    with transaction.atomic():
        election = ReferralElection.objects.create(
            partner=partner,
            program=program,
            choice=choice,
            effective_from=effective_from,
            reason=reason[:2000],
            elected_by=actor if getattr(actor, "pk", None) else None,
        )
        emit(
            "incentives.referral_election",
            partner=partner,
            payload={"choice": choice, "effective_from": effective_from.isoformat()},
        )
    return election


def election_for(partner_id: int, program_id: int, submitted_on: dt.date | None) -> str:
    """The benefit a referral submitted on a day carries: the latest election in force on
    that day; referral fees when the partner never elected."""
    election = (
        ReferralElection.objects.filter(
            partner_id=partner_id,
            program_id=program_id,
            effective_from__lte=submitted_on or timezone.localdate(),
        )
        .order_by("-effective_from", "-id")
        .first()
    )
    return election.choice if election else ReferralChoice.FEE


def tier_benefits(partner_id: int, program: Program, on: dt.date, want: str = "") -> dict:
    """The benefits of the partner's tier in a program: of its first track (by the program's
    order) whose tier grants ``want`` when given, else of its first track."""
    version = program.version_as_of(on)
    if version is None:
        return {}
    held = dict(
        PartnerTier.objects.filter(partner_id=partner_id, program=program).values_list(
            "track_key", "tier_key"
        )
    )
    tracks = set(
        TrackMembership.objects.filter(partner_id=partner_id, program=program).values_list(
            "track_key", flat=True
        )
    ) | set(held)
    for tier in (
        Tier.objects.filter(track__version=version, track__key__in=tracks)
        .select_related("track")
        .order_by("track__position", "rank")
    ):
        key = held.get(tier.track.key)
        if (key is None and tier.rank == 0) or key == tier.key:
            if want and (tier.benefits or {}).get(want) is None:
                continue
            return dict(tier.benefits or {}, _tier=tier.key, _track=tier.track.key)
    return {}


def referral_fees_accrue(*, on: dt.date | None = None) -> int:
    """One fee per closed-won referral of a partner that elected fees at its submission:
    the tier's fixed fee (program currency) or its % of the first order (the won line)."""
    on = on or timezone.localdate()
    done = LedgerEntry.objects.filter(source_type=SourceType.REFERRAL).values("source_id")
    won = (
        DealRegistration.objects.filter(source=DealSource.REFERRAL, status=DealStatus.WON)
        .exclude(pk__in=done)
        .select_related("program", "won_billing_line")
    )
    posted = 0
    for reg in won:
        if election_for(reg.partner_id, reg.program_id, reg.submitted_on) != ReferralChoice.FEE:
            continue
        benefits = tier_benefits(
            reg.partner_id, reg.program, reg.closed_on or on, want="referral_fee"
        )
        fee = benefits.get("referral_fee") or {}
        line = reg.won_billing_line
        if fee.get("fixed") is not None:
            version = reg.program.version_as_of(reg.closed_on or on)
            currency = version.currency
            amount, basis, rate = to_minor(Decimal(str(fee["fixed"])), currency), None, None
            memo = f"referral fee ({benefits.get('_tier')}, fixed)"
        elif fee.get("percent_of_first_order") is not None and line is not None:
            currency = line.currency
            rate = bp(fee["percent_of_first_order"])
            basis = line.net_amount_minor
            amount = (2 * abs(basis * rate) + 10000) // 20000 * (1 if basis >= 0 else -1)
            percent = fee["percent_of_first_order"]
            memo = f"referral fee ({benefits.get('_tier')}, {percent}% of first order)"
        else:
            continue
        if amount == 0:
            continue
        with transaction.atomic():
            try:
                with transaction.atomic():
                    ledger.post(
                        partner=reg.partner_id,
                        program=reg.program_id,
                        kind=IncentiveKind.REFERRAL_FEE,
                        entry_type=EntryType.ACCRUAL,
                        amount_minor=amount,
                        currency=currency,
                        booked_on=reg.closed_on or on,
                        source_type=SourceType.REFERRAL,
                        source_id=reg.pk,
                        basis_minor=basis,
                        rate_bp=rate,
                        memo=memo,
                    )
            except IntegrityError:
                continue  # accrued by a concurrent run
        posted += 1
    return posted


def referral_customer_discount(*, registration: DealRegistration, on: dt.date) -> Decimal:
    """The % discount a referred customer gets on a quote: only when the referral carries the
    discount election (then it never earns a fee), else 0."""
    if registration.source != DealSource.REFERRAL:
        return Decimal(0)
    if (
        election_for(registration.partner_id, registration.program_id, registration.submitted_on)
        != ReferralChoice.DISCOUNT
    ):
        return Decimal(0)
    benefits = tier_benefits(
        registration.partner_id, registration.program, on, want="referral_customer_discount"
    )
    return Decimal(str(benefits.get("referral_customer_discount") or 0))


# --- rebates ------------------------------------------------------------------------------------


def period_bounds(kind: str, day: dt.date, fy_month: int, fy_day: int) -> tuple[dt.date, dt.date]:
    """The month, calendar quarter or fiscal year containing ``day``."""
    if kind == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    elif kind == "quarter":
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        end = (start + dt.timedelta(days=95)).replace(day=1) - dt.timedelta(days=1)
    else:
        start = dt.date(day.year, fy_month, fy_day)
        if start > day:
            start = dt.date(day.year - 1, fy_month, fy_day)
        end = dt.date(start.year + 1, fy_month, fy_day) - dt.timedelta(days=1)
    return start, end


def rebate_close(
    *, program: Program, rebate_key: str, period_day: dt.date, actor=None
) -> RebateClose:
    """Close one rebate for the ended period containing ``period_day``: per partner, the sum
    of its billings in the period (program currency, the rebate's categories), the rate of the
    highest band passed (basis ``all``: on the whole sum; ``above``: each band's rate on the
    part above its threshold), rounded half-up once per partner. Once per period."""
    version = program.version_as_of(period_day)
    if version is None:
        raise ServiceError("The program has no version in force on that day.", field="period")
    spec = incentives_of(version)
    rebate = next((r for r in spec.rebates if r.key == rebate_key), None)
    if rebate is None:
        known = ", ".join(r.key for r in spec.rebates) or "none"
        raise ServiceError(
            f"Program {program.key} has no rebate '{rebate_key}' (rebates: {known}).",
            field="rebate",
        )
    start, end = period_bounds(
        rebate.period, period_day, version.fiscal_year_start_month, version.fiscal_year_start_day
    )
    if end >= timezone.localdate():
        raise ServiceError(
            f"The period {start} to {end} has not ended yet; "
            f"close it from {end + dt.timedelta(days=1)}.",
            field="period",
        )
    if RebateClose.objects.filter(
        program=program, rebate_key=rebate_key, period_start=start
    ).exists():
        raise Conflict(f"Rebate {rebate_key} for {start} to {end} is already closed.")
    d = Dialect(connection.vendor)
    digits = minor_digits(version.currency)
    bands = [(int(Decimal(b.above) * 10**digits), bp(b.rate)) for b in rebate.bands]
    if rebate.basis == "all":
        rate = (
            "CASE "
            + " ".join(
                f"WHEN s.total > {above} THEN {rate_bp}" for above, rate_bp in reversed(bands)
            )
            + " ELSE 0 END"
        )
        amount = half_up(f"s.total * ({rate})", "10000")
        rate_col = rate
    else:
        parts = []
        for i, (above, rate_bp) in enumerate(bands):
            upper = bands[i + 1][0] if i + 1 < len(bands) else None
            top = d.least("s.total", str(upper)) if upper is not None else "s.total"
            parts.append(f"{rate_bp} * {d.greatest('0', f'{top} - {above}')}")
        amount = half_up(" + ".join(parts), "10000")
        rate_col = "NULL"
    categories = list(
        BillingLine._meta.apps.get_model("sales", "ProductCategory")
        .objects.filter(key__in=rebate.categories or version.product_categories or [])
        .values_list("id", flat=True)
    )
    cats = ",".join(str(c) for c in categories) or "NULL"
    tier_filter = ""
    tier_params: list = []
    if rebate.tracks or rebate.tiers:
        conds = ["pt.program_id = %s"]
        tier_params.append(program.pk)
        if rebate.tracks:
            conds.append("pt.track_key IN (" + ",".join(["%s"] * len(rebate.tracks)) + ")")
            tier_params += rebate.tracks
        if rebate.tiers:
            conds.append("pt.tier_key IN (" + ",".join(["%s"] * len(rebate.tiers)) + ")")
            tier_params += rebate.tiers
        tier_filter = (
            "AND L.partner_id IN (SELECT pt.partner_id FROM tiers_partnertier pt WHERE "
            + " AND ".join(conds)
            + ")"
        )
    with transaction.atomic():
        close = RebateClose.objects.create(
            program=program,
            rebate_key=rebate_key,
            period_start=start,
            period_end=end,
            closed_by=actor if getattr(actor, "pk", None) else None,
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO incentives_ledgerentry (partner_id, program_id, kind, entry_type,
                    amount_minor, currency, booked_on, payable, source_type, source_id,
                    basis_minor, rate_bp, memo, created_at)
                SELECT s.partner_id, %s, 'rebate', 'accrual', {amount}, %s, %s,
                       {"TRUE" if d.pg else "1"}, 'rebate_close', %s, s.total, {rate_col},
                       %s, %s
                FROM (SELECT L.partner_id, CAST(SUM(L.net_amount_minor) AS BIGINT) AS total
                      FROM sales_billingline L JOIN sales_product P ON P.id = L.product_id
                      WHERE L.invoice_date >= %s AND L.invoice_date <= %s AND L.currency = %s
                        AND P.category_id IN ({cats}) {tier_filter}
                      GROUP BY L.partner_id) s
                WHERE {amount} > 0
                """,
                [
                    program.pk,
                    version.currency,
                    connection.ops.adapt_datefield_value(end),
                    close.pk,
                    f"{rebate.name} {start} to {end}"[:300],
                    now,
                    connection.ops.adapt_datefield_value(start),
                    connection.ops.adapt_datefield_value(end),
                    version.currency,
                    *tier_params,
                ],
            )
        totals = LedgerEntry.objects.filter(
            source_type=SourceType.REBATE_CLOSE, source_id=close.pk
        ).aggregate(n=Sum(1), s=Sum("amount_minor"))
        close.partners = LedgerEntry.objects.filter(
            source_type=SourceType.REBATE_CLOSE, source_id=close.pk
        ).count()
        close.total_minor = totals["s"] or 0
        close.save(update_fields=["partners", "total_minor"])
        emit(
            "incentives.rebate_closed",
            payload={
                "rebate": rebate_key,
                "period_start": start.isoformat(),
                "partners": close.partners,
            },
        )
    return close


# --- SPIFFs ---------------------------------------------------------------------------------


def spiff_campaign_create(
    *,
    program: Program,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    bounty: Decimal,
    currency: str,
    basis: str = SpiffCampaign.Basis.SALE,
    products=(),
    eligible_tiers: list[str] | None = None,
    description: str = "",
    max_claims_per_partner: int | None = None,
    actor=None,
) -> SpiffCampaign:
    if not name.strip():
        raise ServiceError("Give the campaign a name.", field="name")
    if ends_on < starts_on:
        raise ServiceError("The campaign ends before it starts.", field="ends_on")
    if basis not in SpiffCampaign.Basis.values:
        raise ServiceError("Basis is 'sale' or 'activity'.", field="basis")
    currency = currency_code(currency)
    if Decimal(bounty) <= 0:
        raise ServiceError("The bounty must be positive.", field="bounty")
    if Decimal(bounty).as_tuple().exponent < -minor_digits(currency):
        raise ServiceError(f"{bounty} has more decimals than {currency} has.", field="bounty")
    products = list(products)
    if basis == SpiffCampaign.Basis.SALE and not products:
        raise ServiceError("A sales campaign names the products that qualify.", field="products")
    version = program.version_as_of(starts_on) or program.version_as_of(timezone.localdate())
    known = (
        set(Tier.objects.filter(track__version=version).values_list("key", flat=True))
        if version
        else set()
    )
    unknown = [t for t in eligible_tiers or [] if t not in known]
    if unknown:
        raise ServiceError(
            f"Not tiers of {program.key}: {', '.join(unknown)}.", field="eligible_tiers"
        )
    with transaction.atomic():
        campaign = SpiffCampaign.objects.create(
            program=program,
            name=name.strip()[:200],
            description=description,
            basis=basis,
            starts_on=starts_on,
            ends_on=ends_on,
            bounty_minor=to_minor(Decimal(bounty), currency),
            currency=currency,
            eligible_tiers=list(eligible_tiers or []),
            max_claims_per_partner=max_claims_per_partner,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        campaign.products.set(products)
        emit("incentives.spiff_created", payload={"campaign": campaign.pk})
    return campaign


def spiff_claim_submit(
    *,
    campaign: SpiffCampaign,
    partner: Partner,
    billing_line: BillingLine | None = None,
    activity: str = "",
    activity_on: dt.date | None = None,
    actor=None,
) -> SpiffClaim:
    """A partner claims the bounty for one sale (its own billing line of a campaign product
    invoiced within the campaign) or one activity done within the campaign."""
    if not TrackMembership.objects.filter(partner=partner, program_id=campaign.program_id).exists():
        raise NotAllowed(f"{partner.display_name} is not enrolled in this campaign's program.")
    if campaign.basis == SpiffCampaign.Basis.SALE:
        if billing_line is None:
            raise ServiceError(
                "Name the sale (billing line) this claim is for.", field="billing_line"
            )
        if billing_line.partner_id != partner.pk:
            raise NotAllowed("That sale is not yours.")
        if not campaign.products.filter(pk=billing_line.product_id).exists():
            raise ServiceError(
                "That product does not qualify for this campaign.", field="billing_line"
            )
        activity_on = billing_line.invoice_date
        if billing_line.net_amount_minor <= 0:
            raise ServiceError("A credit note does not qualify.", field="billing_line")
    else:
        if not activity.strip():
            raise ServiceError("Describe the activity.", field="activity")
        if activity_on is None:
            raise ServiceError("Give the day of the activity.", field="activity_on")
    if not campaign.starts_on <= activity_on <= campaign.ends_on:
        raise ServiceError(
            f"{activity_on} is outside the campaign ({campaign.starts_on} to {campaign.ends_on}).",
            field="activity_on" if billing_line is None else "billing_line",
        )
    if campaign.eligible_tiers:
        tiers = set(
            PartnerTier.objects.filter(partner=partner, program_id=campaign.program_id).values_list(
                "tier_key", flat=True
            )
        )
        if not tiers & set(campaign.eligible_tiers):
            raise NotAllowed(
                f"The campaign is for tiers {', '.join(campaign.eligible_tiers)}; "
                f"{partner.display_name} holds {', '.join(sorted(tiers)) or 'no tier'}."
            )
    with transaction.atomic():
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if campaign.max_claims_per_partner is not None:
            used = (
                SpiffClaim.objects.filter(campaign=campaign, partner=partner)
                .exclude(status=ClaimStatus.REJECTED)
                .count()
            )
            if used >= campaign.max_claims_per_partner:
                raise ServiceError(
                    f"At most {campaign.max_claims_per_partner} claims per partner; "
                    f"{partner.display_name} has {used}.",
                    field="campaign",
                )
        if billing_line is not None and (
            SpiffClaim.objects.filter(campaign=campaign, billing_line=billing_line)
            .exclude(status=ClaimStatus.REJECTED)
            .exists()
        ):
            raise Conflict("This sale is already claimed in this campaign.")
        claim = SpiffClaim.objects.create(
            campaign=campaign,
            partner=partner,
            billing_line=billing_line,
            activity=activity.strip()[:300],
            activity_on=activity_on,
            submitted_by=actor if getattr(actor, "pk", None) else None,
        )
        emit("incentives.spiff_claimed", partner=partner, payload={"claim": claim.pk})
    return claim


def spiff_claim_decide(
    *, claim: SpiffClaim, approve: bool, reason: str = "", actor=None
) -> SpiffClaim:
    """Approve (the bounty is accrued, payable) or reject (a reason is required)."""
    with transaction.atomic():
        claim = SpiffClaim.objects.select_for_update().select_related("campaign").get(pk=claim.pk)
        if claim.status != ClaimStatus.SUBMITTED:
            raise Conflict(f"This claim is already {claim.status}.")
        if not approve and not reason.strip():
            raise ServiceError("Give the partner a reason for the rejection.", field="reason")
        claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
        claim.decided_by = actor if getattr(actor, "pk", None) else None
        claim.decided_at = timezone.now()
        claim.decision_reason = reason.strip()
        claim.save()
        if approve:
            ledger.post(
                partner=claim.partner_id,
                program=claim.campaign.program_id,
                kind=IncentiveKind.SPIFF,
                entry_type=EntryType.ACCRUAL,
                amount_minor=claim.campaign.bounty_minor,
                currency=claim.campaign.currency,
                booked_on=claim.activity_on,
                source_type=SourceType.SPIFF_CLAIM,
                source_id=claim.pk,
                memo=f"SPIFF {claim.campaign.name}"[:300],
                actor=actor,
            )
        emit(
            "incentives.spiff_decided",
            partner=claim.partner,
            payload={"claim": claim.pk, "status": claim.status},
        )
    return claim


# --- adjustments and payouts --------------------------------------------------------------


def adjustment_create(
    *,
    partner: Partner,
    kind: str,
    amount: Decimal,
    currency: str,
    booked_on: dt.date,
    reason: str,
    program: Program | None = None,
    actor=None,
) -> LedgerEntry:
    """A manual correction by finance: signed, reasoned, payable; never an edit."""
    if kind not in IncentiveKind.values:
        raise ServiceError(f"Kind is one of {', '.join(IncentiveKind.values)}.", field="kind")
    if not reason.strip():
        raise ServiceError("Say why the ledger is adjusted.", field="reason")
    currency = currency_code(currency)
    if booked_on > timezone.localdate():
        raise ServiceError(
            "An adjustment is booked on today or an earlier day: it counts in the balance "
            "from the day it is booked.",
            field="booked_on",
        )
    amount = Decimal(amount)
    if amount == 0:
        raise ServiceError("An adjustment of 0 changes nothing.", field="amount")
    if amount.as_tuple().exponent < -minor_digits(currency):
        raise ServiceError(f"{amount} has more decimals than {currency} has.", field="amount")
    with transaction.atomic():
        entry = ledger.post(
            partner=partner,
            program=program,
            kind=kind,
            entry_type=EntryType.ADJUSTMENT,
            amount_minor=to_minor(amount, currency),
            currency=currency,
            booked_on=booked_on,
            source_type=SourceType.MANUAL,
            memo=reason.strip(),
            actor=actor,
        )
        emit("incentives.adjusted", partner=partner, payload={"entry": entry.pk})
    return entry


def payout_run(
    *, reference: str, as_of: dt.date, currency: str = "", actor=None
) -> tuple[PayoutRun, bool]:
    """Pay every partner's positive payable balance (entries booked up to ``as_of``): one
    payout entry per partner and currency. Idempotent by ``reference``: running it again
    returns the first run and pays nothing (``created`` False)."""
    reference = reference.strip()
    if not reference or len(reference) > 64:
        raise ServiceError("Give the run a reference of at most 64 characters.", field="reference")
    if as_of > timezone.localdate():
        raise ServiceError("A payout pays what is booked up to today at the latest.", field="as_of")
    existing = PayoutRun.objects.filter(reference=reference).first()
    if existing is not None:
        if existing.as_of != as_of or existing.currency != currency:
            raise Conflict(
                f"Payout run {reference} was made for {existing.as_of} "
                f"{existing.currency or 'all currencies'}; use a new reference."
            )
        return existing, False
    d = Dialect(connection.vendor)
    with transaction.atomic():
        run = PayoutRun.objects.create(
            reference=reference,
            as_of=as_of,
            currency=currency,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        true = "TRUE" if d.pg else "1"
        currency_filter = "AND e.currency = %s" if currency else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO incentives_ledgerentry (partner_id, program_id, kind, entry_type,
                    amount_minor, currency, booked_on, payable, source_type, source_id,
                    memo, created_at)
                SELECT e.partner_id, NULL, e.kind, 'payout', -CAST(SUM(e.amount_minor) AS BIGINT),
                       e.currency,
                       %s, {true}, 'payout_run', %s, %s, %s
                FROM incentives_ledgerentry e
                WHERE e.payable = {true} AND e.booked_on <= %s {currency_filter}
                GROUP BY e.partner_id, e.kind, e.currency
                HAVING SUM(e.amount_minor) > 0
                """,
                [
                    connection.ops.adapt_datefield_value(as_of),
                    run.pk,
                    f"payout {reference}"[:300],
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    connection.ops.adapt_datefield_value(as_of),
                    *([currency] if currency else []),
                ],
            )
        paid = LedgerEntry.objects.filter(source_type=SourceType.PAYOUT_RUN, source_id=run.pk)
        run.partners = paid.values("partner_id").distinct().count()
        run.total_minor = -(paid.aggregate(s=Sum("amount_minor"))["s"] or 0)
        run.save(update_fields=["partners", "total_minor"])
        emit("incentives.payout_run", payload={"run": run.pk, "partners": run.partners})
    return run, True
