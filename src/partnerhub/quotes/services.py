"""Every write of the quotes app: credit lines, quotes (priced, numbered, accepted, expired) and
NFR purchases; and the pricing they rest on (``quote_price`` writes nothing).

Services are keyword-only, run in one transaction, validate fully before writing and raise
ServiceError / Conflict / NotAllowed naming the field. Permission checks are the caller's job
(API, pages and admin ask ``core.permissions``). The rules, in the words of the program, are in
docs/quotes.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import from_minor, to_minor
from partnerhub.deals.models import DealRegistration, DealSource, DealStatus
from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership
from partnerhub.programs.models import Program, ProgramVersion, Tier
from partnerhub.programs.schema import IncentivesSpec, NfrPolicy
from partnerhub.quotes import pricing
from partnerhub.quotes.models import (
    CreditLine,
    NfrPurchase,
    Quote,
    QuoteCounter,
    QuoteLine,
    QuoteStatus,
)
from partnerhub.sales.models import BillingLine, Product, PurchasePath
from partnerhub.training.gating import require_certified

VALID_DAYS = 30  # a quote is valid from its date through date + 30 days
CREDIT_BILLING_DAYS = 90  # direct billing lines of the last 90 days use credit
CREDIT_QUOTE_DAYS = 30  # accepted direct quotes of the last 30 days use credit
MAX_LINES = 100
MAX_QUANTITY = Decimal("1000000")
MAX_LIMIT_MINOR = 10**15
MAX_NFR_QUANTITY = 1000


def today() -> dt.date:
    return timezone.localdate()


def money_text(minor: int, currency: str) -> str:
    """12345678 EUR → "123,456.78 EUR"."""
    return f"{from_minor(minor, currency):,} {currency}"


# --- program facts -----------------------------------------------------------------------------


def version_for(program: Program, on: dt.date) -> ProgramVersion | None:
    return program.version_as_of(on) or program.versions.order_by("number").first()


def incentives_spec(version: ProgramVersion | None) -> IncentivesSpec:
    return IncentivesSpec.model_validate(
        ((version.definition or {}) if version else {}).get("incentives") or {}
    )


def tiers_held(partner: Partner, program: Program, on: dt.date) -> list[Tier]:
    """The tier the partner held on ``on`` in each of its tracks of the program (the version in
    force that day): its current tier (``PartnerTier``) when it took effect on or before
    ``on``, else the last tier change effective by then, else the track's entry tier."""
    from partnerhub.tiers.models import PartnerTier, TierChange

    version = version_for(program, on)
    if version is None:
        return []
    tracks = set(
        TrackMembership.objects.filter(partner=partner, program=program).values_list(
            "track_key", flat=True
        )
    )
    held: dict[str, str] = {}
    later: set[str] = set()
    for track, tier, since in PartnerTier.objects.filter(
        partner=partner, program=program
    ).values_list("track_key", "tier_key", "since"):
        tracks.add(track)
        if since <= on:
            held[track] = tier
        else:
            later.add(track)
    if later:
        for track, tier in (
            TierChange.objects.filter(
                partner=partner, program=program, track_key__in=later, effective_on__lte=on
            )
            .order_by("effective_on", "id")
            .values_list("track_key", "to_tier_key")
        ):
            held[track] = tier
    tiers = Tier.objects.filter(track__version=version, track__key__in=tracks).select_related(
        "track"
    )
    out = []
    for tier in tiers:
        key = held.get(tier.track.key)
        if (key is None and tier.rank == 0) or key == tier.key:
            out.append(tier)
    return out


def _pct(value) -> Decimal:
    try:
        return Decimal(str(value or 0))
    except InvalidOperation:
        return Decimal(0)


@dataclass
class Entitlements:
    """What the partner's tiers on a day grant for pricing."""

    tiers: list[Tier]
    deal: Decimal = Decimal(0)
    referral: Decimal = Decimal(0)
    flags: set[str] = field(default_factory=set)

    def tier_discount(self, category: str) -> tuple[Decimal, str]:
        """The best discount for a category among the tiers, with its label."""
        best, label = Decimal(0), "tier"
        for tier in self.tiers:
            pct = _pct((tier.benefits or {}).get("discounts", {}).get(category))
            if pct > best:
                best, label = pct, f"tier {tier.name} {category}"
        return best, label


def entitlements(partner: Partner, program: Program, on: dt.date) -> Entitlements:
    tiers = tiers_held(partner, program, on)
    ent = Entitlements(tiers=tiers)
    for tier in tiers:
        benefits = tier.benefits or {}
        ent.deal = max(ent.deal, _pct(benefits.get("deal_registration_discount")))
        ent.referral = max(ent.referral, _pct(benefits.get("referral_customer_discount")))
        ent.flags |= set(benefits.get("flags") or [])
    return ent


def program_for(partner: Partner, program_key: str | None) -> Program:
    """The program a quote or NFR order is for: the one named, else the partner's only one."""
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
            f"{partner.display_name} is in {len(programs) or 'no'} programs"
            + (f" ({', '.join(sorted(programs))})" if programs else "")
            + ": say which one this is for.",
            field="program",
        )
    return next(iter(programs.values()))


def policies(program: Program, on: dt.date) -> dict:
    version = version_for(program, on)
    return (version.policies or {}) if version else {}


def authorised_distributors(program: Program):
    """Active partners in a track of the program whose key contains "distributor"."""
    return (
        Partner.objects.filter(
            status=PartnerStatus.ACTIVE,
            track_memberships__program=program,
            track_memberships__track_key__contains="distributor",
        )
        .distinct()
        .order_by("display_name", "id")
    )


# --- credit ------------------------------------------------------------------------------------


def credit_used(*, partner: Partner, currency: str, on: dt.date, exclude_quote_id=None) -> int:
    """Credit in use on ``on``: the partner's direct billing lines in the currency invoiced in the
    last 90 days (``on`` − 89 … ``on``, net: credits reduce it) plus its accepted direct quotes
    dated in the last 30 days (``on`` − 29 … ``on``). Two aggregate queries."""
    billed = (
        BillingLine.objects.filter(
            partner=partner,
            currency=currency,
            purchase_path=PurchasePath.DIRECT,
            invoice_date__gt=on - dt.timedelta(days=CREDIT_BILLING_DAYS),
            invoice_date__lte=on,
        ).aggregate(s=Sum("net_amount_minor"))["s"]
        or 0
    )
    quotes = Quote.objects.filter(
        partner=partner,
        currency=currency,
        purchase_path=PurchasePath.DIRECT,
        status=QuoteStatus.ACCEPTED,
        quote_date__gt=on - dt.timedelta(days=CREDIT_QUOTE_DAYS),
        quote_date__lte=on,
    )
    if exclude_quote_id:
        quotes = quotes.exclude(pk=exclude_quote_id)
    quoted = quotes.aggregate(s=Sum("total_minor"))["s"] or 0
    return int(billed) + int(quoted)


def credit_used_many(lines, *, on: dt.date | None = None) -> dict[int, int]:
    """``credit_used`` for many credit lines at once (two grouped queries): partner → used in
    its credit line's currency."""
    on = on or today()
    ids = [line.partner_id for line in lines]
    currency = {line.partner_id: line.currency for line in lines}
    used: dict[int, int] = dict.fromkeys(ids, 0)
    if not ids:
        return used
    billed = (
        BillingLine.objects.filter(
            partner_id__in=ids,
            purchase_path=PurchasePath.DIRECT,
            invoice_date__gt=on - dt.timedelta(days=CREDIT_BILLING_DAYS),
            invoice_date__lte=on,
        )
        .values_list("partner_id", "currency")
        .annotate(s=Sum("net_amount_minor"))
    )
    quoted = (
        Quote.objects.filter(
            partner_id__in=ids,
            purchase_path=PurchasePath.DIRECT,
            status=QuoteStatus.ACCEPTED,
            quote_date__gt=on - dt.timedelta(days=CREDIT_QUOTE_DAYS),
            quote_date__lte=on,
        )
        .values_list("partner_id", "currency")
        .annotate(s=Sum("total_minor"))
    )
    for partner_id, cur, total in [*billed, *quoted]:
        if currency.get(partner_id) == cur:
            used[partner_id] += int(total or 0)
    return used


@dataclass
class CreditCheck:
    allowed: bool
    reason: str = ""
    limit_minor: int | None = None
    used_minor: int = 0

    @property
    def message(self) -> str:
        return "" if self.allowed else f"Buy through an authorised distributor: {self.reason}"


def credit_check(
    *, partner: Partner, currency: str, amount_minor: int, on: dt.date, exclude_quote_id=None
) -> CreditCheck:
    line = CreditLine.objects.filter(partner=partner).first()
    if line is None:
        return CreditCheck(
            False, f"{partner.display_name} has no credit line for direct purchases."
        )
    if line.expires_on and line.expires_on < on:
        return CreditCheck(
            False,
            f"the credit line of {partner.display_name} expired on {line.expires_on}.",
            line.limit_minor,
        )
    if line.currency != currency:
        return CreditCheck(
            False,
            f"the credit line of {partner.display_name} is in {line.currency}, "
            f"this quote in {currency}.",
            line.limit_minor,
        )
    used = credit_used(partner=partner, currency=currency, on=on, exclude_quote_id=exclude_quote_id)
    if used + amount_minor > line.limit_minor:
        return CreditCheck(
            False,
            f"credit used {money_text(used, currency)} + this quote "
            f"{money_text(amount_minor, currency)} = {money_text(used + amount_minor, currency)} "
            f"exceeds the credit limit of {money_text(line.limit_minor, currency)}.",
            line.limit_minor,
            used,
        )
    return CreditCheck(True, "", line.limit_minor, used)


def _date(data: dict, name: str, *, required: bool = False) -> dt.date | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ServiceError("This field is required.", field=name)
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError("Use a date as YYYY-MM-DD.", field=name) from None


def _currency(data: dict, name: str = "currency") -> str:
    code = str(data.get(name) or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ServiceError("Use a three-letter ISO 4217 currency code.", field=name)
    return code


def _amount_minor(data: dict, name: str, currency: str) -> int:
    raw = data.get(name)
    if raw is None or raw == "":
        raise ServiceError("This field is required.", field=name)
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ServiceError("Must be a number.", field=name) from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        raise ServiceError("Must be a number below 10^16.", field=name)
    minor = to_minor(amount, currency)
    if minor <= 0:
        raise ServiceError("Must be above zero.", field=name)
    if minor > MAX_LIMIT_MINOR:
        raise ServiceError("Too large.", field=name)
    return minor


@transaction.atomic
def credit_line_set(*, partner: Partner, data: dict, approved_by=None) -> CreditLine:
    """Record or change the partner's credit line. The partner's DUNS number must be set."""
    if not (partner.duns or "").strip():
        raise ServiceError(
            f"{partner.display_name} has no DUNS number: record it on the partner before "
            "granting a credit line.",
            field="duns",
        )
    currency = _currency(data)
    limit = _amount_minor(data, "limit", currency)
    approved_on = _date(data, "approved_on") or today()
    expires_on = _date(data, "expires_on")
    if expires_on and expires_on < approved_on:
        raise ServiceError(
            f"The expiry {expires_on} is before the approval {approved_on}.", field="expires_on"
        )
    notes = str(data.get("notes") or "").strip()
    if len(notes) > 2000:
        raise ServiceError("Use at most 2000 characters.", field="notes")
    line = CreditLine.objects.select_for_update().filter(partner=partner).first()
    created = line is None
    line = line or CreditLine(partner=partner)
    line.limit_minor, line.currency = limit, currency
    line.approved_on, line.expires_on, line.notes = approved_on, expires_on, notes
    line.approved_by = approved_by if getattr(approved_by, "pk", None) else None
    line.save()
    emit(
        "credit_line.recorded" if created else "credit_line.changed",
        partner=partner,
        payload={
            "limit_minor": limit,
            "currency": currency,
            "approved_on": approved_on,
            "expires_on": expires_on,
        },
    )
    return line


@transaction.atomic
def credit_line_remove(*, partner: Partner) -> None:
    line = CreditLine.objects.select_for_update().filter(partner=partner).first()
    if line is None:
        raise ServiceError(f"{partner.display_name} has no credit line.", field="partner_id")
    line.delete()
    emit("credit_line.removed", partner=partner, payload={})


# --- quotes ------------------------------------------------------------------------------------


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    list_price_minor: int
    unit_net_minor: int
    line_total_minor: int
    steps: list[dict]


@dataclass
class PricedQuote:
    partner: Partner
    program: Program
    quote_date: dt.date
    valid_until: dt.date
    purchase_path: str
    distributor: Partner | None
    registration: DealRegistration | None
    currency: str
    lines: list[PricedLine]
    list_total_minor: int
    total_minor: int
    direct_allowed: bool
    direct_message: str
    distributors: list[Partner]
    credit: CreditCheck | None = None


def _lines(data: dict) -> list[tuple[Product, Decimal, int]]:
    items = data.get("lines") or []
    if not items:
        raise ServiceError("Quote at least one product.", field="lines")
    if len(items) > MAX_LINES:
        raise ServiceError(f"At most {MAX_LINES} lines per quote.", field="lines")
    wanted = []
    for i, item in enumerate(items):
        ref = item.get("product_id") or item.get("sku")
        if not ref:
            raise ServiceError("Give product_id or sku.", field=f"lines.{i}")
        try:
            qty = Decimal(str(item.get("quantity", 1)))
        except InvalidOperation:
            raise ServiceError("Quantity must be a number.", field=f"lines.{i}.quantity") from None
        if (
            not qty.is_finite()
            or qty <= 0
            or qty > MAX_QUANTITY
            or qty != qty.quantize(Decimal("0.001"))
        ):
            raise ServiceError(
                "Quantity must be above 0, at most 1,000,000, with up to 3 decimals.",
                field=f"lines.{i}.quantity",
            )
        wanted.append((ref, qty, i))
    ids = [r for r, _, _ in wanted if isinstance(r, int) and 1 <= r <= 2**53]
    skus = [str(r) for r, _, _ in wanted if not isinstance(r, int)]
    qs = Product.objects.select_related("category", "required_certification")
    by_id = qs.in_bulk(ids)
    by_sku = {p.sku: p for p in qs.filter(sku__in=skus)}
    out = []
    for ref, qty, i in wanted:
        product = by_id.get(ref) if isinstance(ref, int) else by_sku.get(str(ref))
        if product is None:
            raise ServiceError(f"No product {ref!r}.", field=f"lines.{i}")
        if not product.is_active:
            raise ServiceError(f"Product {product.sku} is no longer sold.", field=f"lines.{i}")
        out.append((product, qty, i))
    currencies = sorted({p.currency for p, _, _ in out})
    if len(currencies) > 1:
        raise ServiceError(
            "A quote is in one currency: its products are priced in "
            f"{', '.join(currencies)}. Quote them separately.",
            field="lines",
        )
    return out


def _int_id(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServiceError("Give an id (a whole number).", field=field) from None
    if not 1 <= number <= 2**53:
        raise ServiceError(f"No such id {number}.", field=field)
    return number


def _registration(data: dict, partner: Partner, on: dt.date) -> DealRegistration | None:
    reg_id = data.get("registration_id")
    if reg_id in (None, ""):
        return None
    reg_id = _int_id(reg_id, "registration")
    reg = (
        DealRegistration.objects.filter(pk=reg_id, partner=partner)
        .prefetch_related("products")
        .first()
    )
    if reg is None:
        raise ServiceError(
            f"{partner.display_name} has no deal registration #{reg_id}.", field="registration"
        )
    protected = (
        reg.status == DealStatus.APPROVED
        and reg.approved_on is not None
        and reg.approved_on <= on
        and (reg.protected_until is None or on <= reg.protected_until)
    )
    referral_won = reg.source == DealSource.REFERRAL and reg.status == DealStatus.WON
    if not (protected or referral_won):
        why = (
            f"its protection ended on {reg.protected_until}"
            if reg.status == DealStatus.APPROVED and reg.protected_until
            else f"it is {reg.get_status_display().lower()}"
        )
        raise ServiceError(
            f"Registration {reg.reference} is not approved and protected on {on} ({why}): "
            "quote without it, or ask for an extension.",
            field="registration",
        )
    reg.is_protected_on_quote = protected
    return reg


def _referral_discount_elected(reg: DealRegistration, partner: Partner) -> bool:
    """The partner's referral election in force on the referral's submission day is
    ``discount`` (no election: the referral fee, so no customer discount)."""
    from partnerhub.incentives.models import ReferralChoice, ReferralElection

    day = reg.submitted_on or (reg.submitted_at.date() if reg.submitted_at else None)
    if day is None:
        return False
    election = (
        ReferralElection.objects.filter(
            partner=partner, program_id=reg.program_id, effective_from__lte=day
        )
        .order_by("-effective_from", "-id")
        .first()
    )
    return election is not None and election.choice == ReferralChoice.DISCOUNT


def _distributor(data: dict, partner: Partner, path: str) -> Partner | None:
    dist_id = data.get("distributor_id")
    if path == PurchasePath.DIRECT:
        if dist_id not in (None, ""):
            raise ServiceError(
                "A direct purchase has no distributor: choose the distributor path.",
                field="distributor_id",
            )
        return None
    if dist_id in (None, ""):
        raise ServiceError(
            "Say which distributor the partner buys through.", field="distributor_id"
        )
    dist_id = _int_id(dist_id, "distributor_id")
    dist = Partner.objects.filter(pk=dist_id, status=PartnerStatus.ACTIVE).first()
    if dist is None:
        raise ServiceError(f"No active partner #{dist_id}.", field="distributor_id")
    if dist.pk == partner.pk:
        raise ServiceError("A partner cannot buy through itself.", field="distributor_id")
    return dist


def quote_price(
    *, partner: Partner, data: dict, program: Program | None = None, on: dt.date | None = None
) -> PricedQuote:
    """Price a quote as ``data`` asks (lines, purchase path, distributor, registration, date)
    without writing anything. Refuses what cannot be quoted (a gated product without a
    certified person: 403; a registration that is not the partner's, approved and protected:
    400); a direct purchase without credit is priced and marked ``direct_allowed=False``."""
    if program is None:
        program = program_for(partner, data.get("program") or None)
    on = on or _date(data, "quote_date") or today()
    path = str(data.get("purchase_path") or PurchasePath.DIRECT)
    if path not in PurchasePath.values:
        raise ServiceError(f"Use one of: {', '.join(PurchasePath.values)}.", field="purchase_path")
    distributor = _distributor(data, partner, path)
    lines = _lines(data)
    registration = _registration(data, partner, on)
    require_certified(partner=partner, products=[p for p, _, _ in lines], on=on, field="lines")

    ent = entitlements(partner, program, on)
    pol = policies(program, on)
    stacking = pol.get("discount_stacking") or "add"
    points = (
        _pct(pol.get("distributor_discount_reduction"))
        if path == PurchasePath.DISTRIBUTOR
        else Decimal(0)
    )
    listed: set[int] = set()
    deal_pct = referral_pct = Decimal(0)
    if registration is not None:
        listed = {dp.product_id for dp in registration.products.all()}
        if registration.is_protected_on_quote:
            deal_pct = ent.deal
        if registration.source == DealSource.REFERRAL and _referral_discount_elected(
            registration, partner
        ):
            referral_pct = ent.referral
    priced: list[PricedLine] = []
    currency = lines[0][0].currency
    for product, qty, _ in lines:
        tier_pct, tier_label = ent.tier_discount(product.category.key)
        on_reg = product.pk in listed
        unit = pricing.price_unit(
            product.list_price_minor,
            pricing.Discounts(
                tier=tier_pct,
                tier_label=tier_label,
                deal=deal_pct if on_reg else Decimal(0),
                referral=referral_pct if on_reg else Decimal(0),
                distributor_points=points,
            ),
            stacking=stacking,
        )
        priced.append(
            PricedLine(
                product=product,
                quantity=qty,
                list_price_minor=product.list_price_minor,
                unit_net_minor=unit.net_minor,
                line_total_minor=pricing.line_total(unit.net_minor, qty),
                steps=unit.steps_out(currency),
            )
        )
    total = sum(line.line_total_minor for line in priced)
    list_total = sum(pricing.line_total(line.list_price_minor, line.quantity) for line in priced)
    credit = None
    direct_allowed, message = True, ""
    distributors: list[Partner] = []
    if path == PurchasePath.DIRECT:
        credit = credit_check(partner=partner, currency=currency, amount_minor=total, on=on)
        direct_allowed, message = credit.allowed, credit.message
        if not direct_allowed:
            distributors = list(authorised_distributors(program).exclude(pk=partner.pk))
            if distributors:
                message += (
                    " Authorised distributors: "
                    + ", ".join(d.display_name for d in distributors)
                    + "."
                )
    return PricedQuote(
        partner=partner,
        program=program,
        quote_date=on,
        valid_until=on + dt.timedelta(days=VALID_DAYS),
        purchase_path=path,
        distributor=distributor,
        registration=registration,
        currency=currency,
        lines=priced,
        list_total_minor=list_total,
        total_minor=total,
        direct_allowed=direct_allowed,
        direct_message=message,
        distributors=distributors,
        credit=credit,
    )


def _next_number(year: int) -> str:
    counter = QuoteCounter.objects.select_for_update().filter(year=year).first()
    if counter is None:
        QuoteCounter.objects.get_or_create(year=year)
        counter = QuoteCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"Q-{year}-{counter.last:05d}"


@transaction.atomic
def quote_create(
    *, partner: Partner, data: dict, created_by=None, on: dt.date | None = None
) -> Quote:
    """Price and store a quote (draft), numbered Q-YYYY-NNNNN without gaps within a year."""
    priced = quote_price(partner=partner, data=data, on=on)
    quote = Quote.objects.create(
        partner=partner,
        program=priced.program,
        number=_next_number(priced.quote_date.year),
        created_by=created_by if getattr(created_by, "pk", None) else None,
        quote_date=priced.quote_date,
        valid_until=priced.valid_until,
        purchase_path=priced.purchase_path,
        distributor=priced.distributor,
        registration=priced.registration,
        currency=priced.currency,
        list_total_minor=priced.list_total_minor,
        total_minor=priced.total_minor,
        direct_allowed=priced.direct_allowed,
        direct_message=priced.direct_message,
    )
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            position=i,
            product=line.product,
            quantity=line.quantity,
            list_price_minor=line.list_price_minor,
            unit_net_minor=line.unit_net_minor,
            line_total_minor=line.line_total_minor,
            steps=line.steps,
        )
        for i, line in enumerate(priced.lines, start=1)
    )
    emit(
        "quote.created",
        partner=partner,
        payload={
            "quote_id": quote.pk,
            "number": quote.number,
            "total_minor": quote.total_minor,
            "currency": quote.currency,
            "purchase_path": quote.purchase_path,
        },
    )
    return quote


@transaction.atomic
def quote_accept(*, quote: Quote, accepted_by=None, on: dt.date | None = None) -> Quote:
    """Accept a draft quote within its validity. A direct quote needs the credit now: the
    check is made again (other quotes may have been accepted since)."""
    on = on or today()
    quote = Quote.objects.select_for_update().select_related("partner").get(pk=quote.pk)
    if quote.status != QuoteStatus.DRAFT:
        raise Conflict(f"Quote {quote.number} is {quote.status}, not a draft.", field="status")
    if on > quote.valid_until:
        raise Conflict(
            f"Quote {quote.number} was valid until {quote.valid_until}: ask for a new quote.",
            field="valid_until",
        )
    if quote.purchase_path == PurchasePath.DIRECT:
        CreditLine.objects.select_for_update().filter(partner=quote.partner).first()
        check = credit_check(
            partner=quote.partner,
            currency=quote.currency,
            amount_minor=quote.total_minor,
            on=on,
            exclude_quote_id=quote.pk,
        )
        if not check.allowed:
            raise Conflict(check.message, field="purchase_path")
    quote.status = QuoteStatus.ACCEPTED
    quote.accepted_at = timezone.now()
    quote.accepted_by = accepted_by if getattr(accepted_by, "pk", None) else None
    quote.save(update_fields=["status", "accepted_at", "accepted_by", "updated_at"])
    emit(
        "quote.accepted",
        partner=quote.partner,
        payload={"quote_id": quote.pk, "number": quote.number, "total_minor": quote.total_minor},
    )
    return quote


def quotes_expire(*, on: dt.date | None = None) -> int:
    """Mark draft quotes past their validity as expired (one UPDATE). Idempotent."""
    on = on or today()
    return Quote.objects.filter(status=QuoteStatus.DRAFT, valid_until__lt=on).update(
        status=QuoteStatus.EXPIRED, updated_at=timezone.now()
    )


# --- NFR ---------------------------------------------------------------------------------------


def nfr_policy(program: Program, on: dt.date) -> NfrPolicy:
    spec = incentives_spec(version_for(program, on))
    if spec.nfr is None:
        raise ServiceError(
            f"Program {program.key} has no not-for-resale (NFR) offer.", field="program"
        )
    return spec.nfr


def nfr_units_held(*, partner: Partner, program: Program) -> int:
    """NFR units the partner bought new (renewals renew units, they do not add any)."""
    return int(
        NfrPurchase.objects.filter(partner=partner, program=program, is_renewal=False).aggregate(
            s=Sum("quantity")
        )["s"]
        or 0
    )


def _product_ref(ref, name: str) -> Product:
    qs = Product.objects.select_related("category", "required_certification")
    if isinstance(ref, int):
        product = qs.filter(pk=ref).first() if 1 <= ref <= 2**53 else None
    else:
        product = qs.filter(sku=str(ref)[:64]).first()
    if product is None or not product.is_active:
        raise ServiceError(f"No product {ref!r} on sale.", field=name)
    return product


@transaction.atomic
def nfr_order(
    *, partner: Partner, data: dict, created_by=None, on: dt.date | None = None
) -> NfrPurchase:
    """Order NFR units under the program's ``incentives.nfr`` policy in force on the day."""
    program = program_for(partner, data.get("program") or None)
    on = on or _date(data, "ordered_on") or today()
    policy = nfr_policy(program, on)
    ref = data.get("product_id") or data.get("sku")
    if not ref:
        raise ServiceError("Give product_id or sku.", field="product_id")
    product = _product_ref(ref, "product_id")
    if product.category.key != policy.category:
        raise ServiceError(
            f"{product.sku} is not a not-for-resale product: NFR products are those of "
            f"category '{policy.category}'.",
            field="product_id",
        )
    try:
        quantity = int(data.get("quantity") or 1)
    except (TypeError, ValueError):
        raise ServiceError("Quantity must be a whole number.", field="quantity") from None
    if quantity < 1 or quantity > MAX_NFR_QUANTITY:
        raise ServiceError(f"Quantity must be 1 to {MAX_NFR_QUANTITY}.", field="quantity")
    # Lock the partner row: two orders at once must not both pass the limit.
    Partner.objects.select_for_update().filter(pk=partner.pk).first()
    if policy.eligible_flag:
        ent = entitlements(partner, program, on)
        if policy.eligible_flag not in ent.flags:
            names = ", ".join(t.name for t in ent.tiers) or "no tier"
            raise ServiceError(
                f"NFR purchases need a tier with '{policy.eligible_flag}'; "
                f"{partner.display_name} holds {names}.",
                field="partner_id",
            )
    is_renewal = bool(data.get("is_renewal"))
    renews = None
    bundle_ids: list[int] = []
    if is_renewal:
        renews_id = data.get("renews_id")
        renews = (
            NfrPurchase.objects.filter(
                pk=_int_id(renews_id, "renews_id"), partner=partner, program=program
            ).first()
            if renews_id not in (None, "")
            else None
        )
        if renews is None or renews.ordered_on > on:
            raise ServiceError(
                "A renewal must name an earlier NFR purchase of the partner (renews_id).",
                field="renews_id",
            )
        if renews.product_id != product.pk:
            raise ServiceError(
                f"The renewal is for {product.sku}, the purchase it renews was for another "
                "product.",
                field="renews_id",
            )
        if quantity > renews.quantity:
            raise ServiceError(
                f"A renewal renews at most the {renews.quantity} unit(s) bought.",
                field="quantity",
            )
        discount = policy.renewal_discount
    else:
        held = nfr_units_held(partner=partner, program=program)
        if held + quantity > policy.max_units:
            raise ServiceError(
                f"At most {policy.max_units} NFR units per partner: {partner.display_name} "
                f"already holds {held}, so it cannot order {quantity} more.",
                field="quantity",
            )
        bundle = [_product_ref(r, "bundle") for r in (data.get("bundle") or [])]
        have = {p.category.key for p in bundle}
        missing = [c for c in policy.required_bundle if c not in have]
        if missing:
            raise ServiceError(
                "A new NFR order must include at least one product of each of the "
                f"categories {', '.join(policy.required_bundle)}; missing: "
                f"{', '.join(missing)}.",
                field="bundle",
            )
        bundle_ids = [p.pk for p in bundle]
        discount = policy.discount
    require_certified(partner=partner, products=[product], on=on, field="product_id")
    purchase = NfrPurchase.objects.create(
        partner=partner,
        program=program,
        product=product,
        quantity=quantity,
        is_renewal=is_renewal,
        renews=renews,
        ordered_on=on,
        bundle_product_ids=bundle_ids,
        list_price_minor=product.list_price_minor,
        price_minor=pricing.nfr_price(product.list_price_minor, quantity, discount),
        currency=product.currency,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    emit(
        "nfr.ordered",
        partner=partner,
        payload={
            "nfr_id": purchase.pk,
            "product": product.sku,
            "quantity": quantity,
            "is_renewal": is_renewal,
            "price_minor": purchase.price_minor,
        },
    )
    return purchase


def as_input(priced: PricedQuote) -> dict[str, Any]:
    """A priced quote as the API and pages show it (amounts as decimals in its currency)."""
    cur = priced.currency
    return {
        "partner_id": priced.partner.pk,
        "program": priced.program.key,
        "quote_date": priced.quote_date,
        "valid_until": priced.valid_until,
        "purchase_path": priced.purchase_path,
        "distributor_id": priced.distributor.pk if priced.distributor else None,
        "registration_id": priced.registration.pk if priced.registration else None,
        "currency": cur,
        "list_total": str(from_minor(priced.list_total_minor, cur)),
        "total": str(from_minor(priced.total_minor, cur)),
        "direct_allowed": priced.direct_allowed,
        "direct_message": priced.direct_message,
        "distributors": [{"id": d.pk, "name": d.display_name} for d in priced.distributors],
        "lines": [
            {
                "product_id": line.product.pk,
                "sku": line.product.sku,
                "name": line.product.name,
                "quantity": line.quantity,
                "list_price": str(from_minor(line.list_price_minor, cur)),
                "unit_net": str(from_minor(line.unit_net_minor, cur)),
                "line_total": str(from_minor(line.line_total_minor, cur)),
                "steps": line.steps,
            }
            for line in priced.lines
        ],
    }
