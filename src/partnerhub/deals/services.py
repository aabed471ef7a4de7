"""Every write to deal registrations: create, edit a draft, submit with conflict detection,
approve (with an override when flagged), reject, close won/lost, extend, expire, attach files,
import, and the closed-won matching of orders.

Services are keyword-only, run in one transaction, validate fully before writing and raise
ServiceError / Conflict naming the field. Permission checks are the caller's job (API, admin
and CLI ask ``core.permissions``).

Rules, in the words of the program (see docs/deals.md):

- A registration names **one opportunity**: at least one product, a positive estimated value,
  and an expected close date between today and the program's horizon
  (``policies.deal_registration_horizon_days``). A whole account cannot be registered.
- **Priority**: submissions are serialised (one lock row), numbered (``submission_seq``), and
  checked against every *active* registration (submitted or approved) of the same customer.
  The earliest submitted has priority; a later one is *flagged* and can be approved only with an
  explicit override reason while an earlier conflicting registration is still active.
- **Protection**: approved on day D with the tier benefit ``deal_protection_days`` = N, the
  registration is protected from D through D + N - 1 (``protected_until``) and expires on
  D + N unless won. N is the best benefit among the partner's current tiers in the program (its
  entry tier when it has not been evaluated yet).
- **Closed-won**: an approved (or since expired) registration becomes won when a binding order
  (a billing line with a positive amount) for the same customer is invoiced within
  ``policies.closed_won_window_months`` of its submission day (both ends included). For a
  partner-sourced or -influenced deal the order must be sold by the registering partner; a
  referral is won by any partner's order.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partnerhub.accounts.models import PartnerRole, StaffRole, User
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import from_minor, to_minor
from partnerhub.core.tasks import send_email_on_commit
from partnerhub.deals import matching
from partnerhub.deals.models import (
    ACTIVE_STATUSES,
    DealAttachment,
    DealConflict,
    DealExtension,
    DealProduct,
    DealRegistration,
    DealSource,
    DealStatus,
    DealStatusChange,
    ExtensionStatus,
    SubmissionCounter,
)
from partnerhub.partners.models import Partner, PartnerStatus, PartnerUser, TrackMembership
from partnerhub.programs.models import Program, Tier
from partnerhub.sales.models import BillingLine, Product
from partnerhub.training.gating import require_certified

MAX_VALUE_MINOR = 10**15
MAX_QUANTITY = Decimal("1000000000")
MAX_PRODUCTS = 100
MAX_EXTENSION_DAYS = 365
MAX_ATTACHMENTS = 20
EDITABLE_FIELDS = (
    "customer_name",
    "customer_website",
    "customer_country",
    "customer_address",
    "contact_name",
    "contact_email",
    "estimated_value",
    "currency",
    "expected_close_date",
    "source",
    "notes",
    "products",
)


def today() -> dt.date:
    return timezone.localdate()


def add_months(day: dt.date, months: int) -> dt.date:
    from partnerhub.training.services import add_months as _add

    return _add(day, months)


# --- program rules -----------------------------------------------------------------------------


def _policies(program: Program, on: dt.date) -> dict:
    version = program.version_as_of(on) or program.versions.order_by("number").first()
    return (version.policies or {}) if version else {}


def horizon_days(program: Program, on: dt.date) -> int:
    return int(_policies(program, on).get("deal_registration_horizon_days", 365))


def closed_won_months(program: Program, on: dt.date) -> int:
    return int(_policies(program, on).get("closed_won_window_months", 6))


def protection_days_for(partner: Partner, program: Program, on: dt.date) -> int:
    """The best ``deal_protection_days`` among the partner's current tiers in the program; its
    tracks' entry tiers when it has no evaluated tier yet; 0 when it is in no track."""
    from partnerhub.tiers.models import PartnerTier

    version = program.version_as_of(on) or program.versions.order_by("number").first()
    if version is None:
        return 0
    current = dict(
        PartnerTier.objects.filter(partner=partner, program=program).values_list(
            "track_key", "tier_key"
        )
    )
    tracks = set(
        TrackMembership.objects.filter(partner=partner, program=program).values_list(
            "track_key", flat=True
        )
    ) | set(current)
    best = 0
    tiers = Tier.objects.filter(track__version=version, track__key__in=tracks).select_related(
        "track"
    )
    for tier in tiers:
        held = current.get(tier.track.key)
        if (held is None and tier.rank == 0) or held == tier.key:
            best = max(best, int((tier.benefits or {}).get("deal_protection_days", 0) or 0))
    return best


def program_for(partner: Partner, program_key: str | None) -> Program:
    """The program a registration belongs to: the one named, else the partner's only one."""
    programs = {
        m.program.key: m.program
        for m in TrackMembership.objects.filter(partner=partner).select_related("program")
    }
    if program_key:
        if program_key not in programs:
            raise ServiceError(
                f"{partner.display_name} is not enrolled in program '{program_key}'"
                + (f"; it is in: {', '.join(sorted(programs))}." if programs else "."),
                field="program",
            )
        return programs[program_key]
    if not programs:
        raise ServiceError(
            f"{partner.display_name} is not enrolled in any program, so it cannot register deals.",
            field="program",
        )
    if len(programs) > 1:
        raise ServiceError(
            f"{partner.display_name} is in several programs ({', '.join(sorted(programs))}): "
            "say which one this registration is for.",
            field="program",
        )
    return next(iter(programs.values()))


# --- validation --------------------------------------------------------------------------------


def _text(data: dict, name: str, *, required: bool = False, max_length: int = 200) -> str:
    value = data.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ServiceError("This field is required.", field=name)
    if len(value) > max_length:
        raise ServiceError(f"Use at most {max_length} characters.", field=name)
    if "\x00" in value:
        raise ServiceError("Must not contain NUL characters.", field=name)
    return value


def _products(data: dict) -> list[tuple[Product, Decimal]]:
    items = data.get("products") or []
    if not items:
        raise ServiceError(
            "Name at least one product: a registration is for one opportunity, "
            "not a whole account.",
            field="products",
        )
    if len(items) > MAX_PRODUCTS:
        raise ServiceError(f"At most {MAX_PRODUCTS} products per registration.", field="products")
    wanted: list[tuple[str | int, Decimal, int]] = []
    for i, item in enumerate(items):
        ref = item.get("product_id") or item.get("sku")
        if not ref:
            raise ServiceError("Give product_id or sku.", field=f"products.{i}")
        try:
            qty = Decimal(str(item.get("quantity", 1)))
        except InvalidOperation:
            raise ServiceError(
                "Quantity must be a number.", field=f"products.{i}.quantity"
            ) from None
        if (
            not qty.is_finite()
            or qty <= 0
            or qty > MAX_QUANTITY
            or qty != qty.quantize(Decimal("0.001"))
        ):
            raise ServiceError(
                "Quantity must be above 0, at most 1,000,000,000, with up to 3 decimals.",
                field=f"products.{i}.quantity",
            )
        wanted.append((ref, qty, i))
    ids = [r for r, _, _ in wanted if isinstance(r, int)]
    skus = [r for r, _, _ in wanted if isinstance(r, str)]
    found = {
        p.pk: p for p in Product.objects.filter(pk__in=ids).select_related("required_certification")
    }
    by_sku = {
        p.sku: p
        for p in Product.objects.filter(sku__in=skus).select_related("required_certification")
    }
    out: list[tuple[Product, Decimal]] = []
    seen: set[int] = set()
    for ref, qty, i in wanted:
        product = found.get(ref) if isinstance(ref, int) else by_sku.get(ref)
        if product is None:
            raise ServiceError(f"No product {ref!r}.", field=f"products.{i}")
        if not product.is_active:
            raise ServiceError(f"Product {product.sku} is no longer sold.", field=f"products.{i}")
        if product.pk in seen:
            raise ServiceError(
                f"Product {product.sku} is listed twice; give one line with the total quantity.",
                field=f"products.{i}",
            )
        seen.add(product.pk)
        out.append((product, qty))
    return out


def _value_minor(data: dict) -> tuple[int, str]:
    currency = _text(data, "currency", required=True, max_length=3).upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise ServiceError("Use a three-letter ISO 4217 currency code.", field="currency")
    raw = data.get("estimated_value")
    if raw is None or raw == "":
        raise ServiceError(
            "Give the estimated value of the opportunity: a registration without a value "
            "is not an opportunity.",
            field="estimated_value",
        )
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ServiceError("Must be a number.", field="estimated_value") from None
    if not amount.is_finite():
        raise ServiceError("Must be a number.", field="estimated_value")
    minor = to_minor(amount, currency) if abs(amount) < Decimal(10) ** 18 else MAX_VALUE_MINOR + 1
    if minor <= 0:
        raise ServiceError("The estimated value must be above zero.", field="estimated_value")
    if minor > MAX_VALUE_MINOR:
        raise ServiceError("The estimated value is too large.", field="estimated_value")
    return minor, currency


def _close_date(data: dict, program: Program, on: dt.date) -> dt.date:
    value = data.get("expected_close_date")
    if value is None or value == "":
        raise ServiceError("Give the expected close date.", field="expected_close_date")
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ServiceError("Use a date as YYYY-MM-DD.", field="expected_close_date") from None
    if value < on:
        raise ServiceError(
            f"The expected close date {value} has passed.", field="expected_close_date"
        )
    days = horizon_days(program, on)
    if value > on + dt.timedelta(days=days):
        raise ServiceError(
            f"The expected close date {value} is beyond the program's horizon of {days} days "
            f"(latest {on + dt.timedelta(days=days)}): register a concrete opportunity, "
            "not a whole account.",
            field="expected_close_date",
        )
    return value


def _country(data: dict) -> str:
    from django_countries import countries

    code = _text(data, "customer_country", required=True, max_length=2).upper()
    if code not in dict(countries):
        raise ServiceError(
            f"Unknown country {code!r}: use an ISO 3166 two-letter code.", field="customer_country"
        )
    return code


def _email(data: dict) -> str:
    from django.core.validators import validate_email

    email = _text(data, "contact_email", max_length=254)
    if email:
        try:
            validate_email(email)
        except Exception:
            raise ServiceError("Enter a valid e-mail address.", field="contact_email") from None
    return email.lower()


_HOST_RE = re.compile(
    r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$"
)


def _website(data: dict) -> str:
    """A website: a host name with a dot, optionally with scheme and path. Whether it says who
    the customer is (not a free-mail or social-network domain) is matching's business."""
    website = _text(data, "customer_website", max_length=253)
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.lower()).split("/")[0].split(":")[0]
    try:
        host = host.encode("idna").decode("ascii") if host else host
    except UnicodeError:
        host = ""
    if website and not _HOST_RE.match(host):
        raise ServiceError(
            f"{website!r} is not a website domain (for example acme.com).",
            field="customer_website",
        )
    return website


@dataclass
class Cleaned:
    fields: dict[str, Any]
    products: list[tuple[Product, Decimal]]


def _clean(data: dict, *, program: Program, on: dt.date, partner: Partner) -> Cleaned:
    source = _text(data, "source", required=True, max_length=24)
    if source not in DealSource.values:
        raise ServiceError(f"Use one of: {', '.join(DealSource.values)}.", field="source")
    fields: dict[str, Any] = {
        "customer_name": _text(data, "customer_name", required=True),
        "customer_website": _website(data),
        "customer_country": _country(data),
        "customer_address": _text(data, "customer_address", max_length=1000),
        "contact_name": _text(data, "contact_name"),
        "contact_email": _email(data),
        "expected_close_date": _close_date(data, program, on),
        "source": source,
        "notes": _text(data, "notes", max_length=5000),
    }
    ident = matching.identity(
        fields["customer_name"],
        fields["customer_website"],
        fields["contact_email"],
        fields["customer_country"],
    )
    if not ident.name_key:
        raise ServiceError(
            "The customer name must contain letters or digits.", field="customer_name"
        )
    fields.update(
        name_norm=ident.name_norm[:400],
        name_key=ident.name_key[:400],
        domain_key=ident.domain,
        email_domain_key=ident.email_domain,
    )
    fields["estimated_value_minor"], fields["currency"] = _value_minor(data)
    products = _products(data)
    require_certified(partner=partner, products=[p for p, _ in products], on=on)
    return Cleaned(fields, products)


def identity_of(reg: DealRegistration) -> matching.OrgIdentity:
    return matching.OrgIdentity(
        name=reg.customer_name,
        name_norm=reg.name_norm,
        name_key=reg.name_key,
        domain=reg.domain_key,
        email_domain=reg.email_domain_key,
        country=reg.customer_country,
    )


# --- history, events, e-mails ------------------------------------------------------------------


def _log(reg: DealRegistration, frm: str, to: str, by, reason: str = "", at=None) -> None:
    DealStatusChange.objects.create(
        registration=reg,
        from_status=frm,
        to_status=to,
        at=at or timezone.now(),
        by=by,
        reason=reason,
    )
    emit(
        f"deal.{to}",
        partner=reg.partner,
        payload={
            "registration_id": reg.pk,
            "reference": reg.reference,
            "from_status": frm,
            "to_status": to,
            "reason": reason,
            "customer_name": reg.customer_name,
        },
    )


def _partner_people(reg: DealRegistration) -> list[str]:
    """The registration's author and the partner's admins."""
    emails = set(
        PartnerUser.objects.filter(
            partner=reg.partner, role=PartnerRole.ADMIN, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if reg.created_by_id and reg.created_by and reg.created_by.is_active:
        emails.add(reg.created_by.email)
    return sorted(emails)


def _reviewers(reg: DealRegistration) -> list[str]:
    """The partner's manager, else every program admin."""
    manager = reg.partner.partner_manager
    if manager is not None and manager.is_active:
        return [manager.email]
    return sorted(
        User.objects.filter(staff_role=StaffRole.PROGRAM_ADMIN, is_active=True).values_list(
            "email", flat=True
        )
    )


def _mail(to: list[str], subject: str, body: str) -> None:
    if to:
        link = f"{settings.PARTNERHUB_BASE_URL.rstrip('/')}"
        send_email_on_commit(to=to, subject=subject, body=f"{body}\n\n{link}\n")


def _describe(reg: DealRegistration) -> str:
    value = from_minor(reg.estimated_value_minor, reg.currency)
    return (
        f"{reg.reference}: {reg.customer_name} ({reg.customer_country}), "
        f"{value} {reg.currency}, expected to close {reg.expected_close_date}"
    )


# --- create, edit, submit ----------------------------------------------------------------------


@transaction.atomic
def registration_create(
    *,
    partner: Partner,
    data: dict,
    created_by: User | None,
    submit: bool = False,
    on: dt.date | None = None,
) -> DealRegistration:
    on = on or today()
    if partner.status != PartnerStatus.ACTIVE:
        raise Conflict(
            f"{partner.display_name} is {partner.get_status_display().lower()}: only active "
            "partners register deals.",
            field="partner_id",
        )
    program = program_for(partner, data.get("program"))
    cleaned = _clean(data, program=program, on=on, partner=partner)
    reg = DealRegistration.objects.create(
        partner=partner,
        program=program,
        created_by=created_by,
        external_id=data.get("external_id") or None,
        **cleaned.fields,
    )
    DealProduct.objects.bulk_create(
        DealProduct(registration=reg, product=p, quantity=q) for p, q in cleaned.products
    )
    _log(reg, "", DealStatus.DRAFT, created_by)
    if submit:
        reg = registration_submit(registration=reg, submitted_by=created_by)
    return reg


@transaction.atomic
def registration_update(
    *, registration: DealRegistration, data: dict, updated_by: User | None
) -> DealRegistration:
    reg = DealRegistration.objects.select_for_update().get(pk=registration.pk)
    if reg.status != DealStatus.DRAFT:
        raise Conflict(
            f"{reg.reference} is {reg.get_status_display().lower()}: only drafts can be edited.",
            field="status",
        )
    current = registration_as_input(reg)
    current.update({k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    cleaned = _clean(current, program=reg.program, on=today(), partner=reg.partner)
    for name, value in cleaned.fields.items():
        setattr(reg, name, value)
    reg.save()
    if "products" in data:
        reg.products.all().delete()
        DealProduct.objects.bulk_create(
            DealProduct(registration=reg, product=p, quantity=q) for p, q in cleaned.products
        )
    return reg


def registration_as_input(reg: DealRegistration) -> dict:
    """A registration in the shape the services take (to re-validate it after a change)."""
    return {
        "customer_name": reg.customer_name,
        "customer_website": reg.customer_website,
        "customer_country": reg.customer_country,
        "customer_address": reg.customer_address,
        "contact_name": reg.contact_name,
        "contact_email": reg.contact_email,
        "estimated_value": from_minor(reg.estimated_value_minor, reg.currency),
        "currency": reg.currency,
        "expected_close_date": reg.expected_close_date,
        "source": reg.source,
        "notes": reg.notes,
        "products": [
            {"product_id": dp.product_id, "quantity": dp.quantity} for dp in reg.products.all()
        ],
    }


@dataclass(frozen=True)
class ConflictHit:
    registration: DealRegistration
    result: matching.MatchResult


def conflicts_for(
    ident: matching.OrgIdentity, *, exclude_id: int | None = None
) -> list[ConflictHit]:
    """Active registrations that are the same customer, best match first."""
    from partnerhub.deals.candidates import candidates

    hits = []
    for other in candidates(ident, exclude_id=exclude_id).select_related("partner"):
        result = matching.compare(ident, identity_of(other))
        if result.is_conflict:
            hits.append(ConflictHit(other, result))
    hits.sort(key=lambda h: (-h.result.score, h.registration.submission_seq or 0))
    return hits


def _next_seq() -> int:
    """Serialise submissions: one row, locked for the rest of the transaction (SQLite takes the
    whole database at BEGIN IMMEDIATE anyway). Whoever gets the lock first submits first and
    sees everything submitted before it."""
    SubmissionCounter.objects.bulk_create([SubmissionCounter(pk=1, last=0)], ignore_conflicts=True)
    counter = SubmissionCounter.objects.select_for_update().get(pk=1)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


@transaction.atomic
def registration_submit(
    *, registration: DealRegistration, submitted_by: User | None, at: dt.datetime | None = None
) -> DealRegistration:
    seq = _next_seq()
    reg = DealRegistration.objects.select_for_update().get(pk=registration.pk)
    if reg.status != DealStatus.DRAFT:
        raise Conflict(f"{reg.reference} was already submitted.", field="status")
    at = at or timezone.now()
    on = at.astimezone(dt.UTC).date()
    # Submission re-checks the opportunity rules on the day (a draft may have aged).
    data = registration_as_input(reg)
    _close_date(data, reg.program, on)
    if not data["products"]:
        _products(data)
    hits = conflicts_for(identity_of(reg), exclude_id=reg.pk)
    reg.status = DealStatus.SUBMITTED
    reg.submitted_at = at
    reg.submitted_on = on
    reg.submission_seq = seq
    reg.flagged = bool(hits)
    reg.save()
    DealConflict.objects.bulk_create(
        DealConflict(
            registration=reg,
            other=h.registration,
            score=Decimal(str(round(h.result.score, 1))),
            fields=h.result.as_dict()["fields"],
        )
        for h in hits
    )
    _log(reg, DealStatus.DRAFT, DealStatus.SUBMITTED, submitted_by, at=at)
    if hits:
        emit(
            "deal.conflict_detected",
            partner=reg.partner,
            payload={
                "registration_id": reg.pk,
                "reference": reg.reference,
                "conflicts": [
                    {"registration_id": h.registration.pk, "score": round(h.result.score, 1)}
                    for h in hits
                ],
            },
        )
    flag = (
        f"\nFlagged: {len(hits)} earlier active registration(s) for the same customer "
        f"({', '.join(h.registration.reference for h in hits)})."
        if hits
        else ""
    )
    _mail(
        _reviewers(reg),
        f"Deal registration {reg.reference} to review",
        f"{reg.partner.display_name} registered {_describe(reg)}.{flag}",
    )
    return reg


# --- review ------------------------------------------------------------------------------------


def blocking_conflicts(reg: DealRegistration) -> list[ConflictHit]:
    """Active registrations of the same customer submitted before ``reg`` (they have priority)."""
    hits = conflicts_for(identity_of(reg), exclude_id=reg.pk)
    mine = reg.submission_seq or 0
    return [h for h in hits if (h.registration.submission_seq or 0) < mine]


def _reviewable(reg_id: int) -> DealRegistration:
    reg = (
        DealRegistration.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=reg_id)
    )
    if reg.status != DealStatus.SUBMITTED:
        raise Conflict(
            f"{reg.reference} is {reg.get_status_display().lower()}; only submitted "
            "registrations are approved or rejected.",
            field="status",
        )
    return reg


@transaction.atomic
def registration_approve(
    *,
    registration: DealRegistration,
    approved_by: User | None,
    override_reason: str = "",
    on: dt.date | None = None,
) -> DealRegistration:
    _next_seq()  # same lock as submissions: no registration slips in while we decide
    reg = _reviewable(registration.pk)
    on = on or today()
    override_reason = (override_reason or "").strip()
    blocking = blocking_conflicts(reg)
    if blocking and not override_reason:
        refs = ", ".join(
            f"{h.registration.reference} ({h.registration.get_status_display().lower()}, "
            f"score {h.result.score:.0f})"
            for h in blocking
        )
        raise Conflict(
            f"{reg.reference} conflicts with earlier registration(s) {refs}, which have "
            "priority: approve it only with an override reason.",
            field="override_reason",
        )
    days = protection_days_for(reg.partner, reg.program, on)
    reg.status = DealStatus.APPROVED
    reg.decided_at = timezone.now()
    reg.decided_by = approved_by
    reg.override_reason = override_reason if blocking else ""
    reg.protection_days = days
    reg.approved_on = on
    reg.protected_until = on + dt.timedelta(days=days - 1) if days else on
    reg.save()
    reason = f"Override: {override_reason}" if blocking else ""
    _log(reg, DealStatus.SUBMITTED, DealStatus.APPROVED, approved_by, reason)
    _mail(
        _partner_people(reg),
        f"Deal registration {reg.reference} approved",
        f"Your registration {_describe(reg)} is approved and protected through "
        f"{reg.protected_until} ({days} days).",
    )
    return reg


@transaction.atomic
def registration_reject(
    *, registration: DealRegistration, rejected_by: User | None, reason: str
) -> DealRegistration:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the registration is rejected.", field="reason")
    reg = _reviewable(registration.pk)
    reg.status = DealStatus.REJECTED
    reg.decided_at = timezone.now()
    reg.decided_by = rejected_by
    reg.decision_reason = reason
    reg.closed_on = today()
    reg.save()
    _log(reg, DealStatus.SUBMITTED, DealStatus.REJECTED, rejected_by, reason)
    _mail(
        _partner_people(reg),
        f"Deal registration {reg.reference} rejected",
        f"Your registration {_describe(reg)} was rejected: {reason}",
    )
    return reg


@transaction.atomic
def registration_close(
    *,
    registration: DealRegistration,
    by: User | None,
    outcome: str,
    reason: str = "",
    billing_line: BillingLine | None = None,
    on: dt.date | None = None,
) -> DealRegistration:
    """Close an approved (or expired) registration as won or lost."""
    reason = (reason or "").strip()
    if outcome not in (DealStatus.WON, DealStatus.LOST):
        raise ServiceError("Use won or lost.", field="outcome")
    reg = (
        DealRegistration.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=registration.pk)
    )
    allowed = (DealStatus.APPROVED, DealStatus.EXPIRED)
    if outcome == DealStatus.LOST:
        allowed = (DealStatus.SUBMITTED, DealStatus.APPROVED, DealStatus.EXPIRED)
    if reg.status not in allowed:
        raise Conflict(
            f"{reg.reference} is {reg.get_status_display().lower()}; it cannot be closed "
            f"as {outcome}.",
            field="status",
        )
    if outcome == DealStatus.LOST and not reason:
        raise ServiceError("Say why the opportunity was lost.", field="reason")
    frm = reg.status
    reg.status = outcome
    reg.closed_on = on or (billing_line.invoice_date if billing_line else today())
    reg.close_reason = reason
    reg.won_billing_line = billing_line
    reg.save()
    _log(reg, frm, outcome, by, reason)
    if outcome == DealStatus.WON:
        _mail(
            _partner_people(reg) + _reviewers(reg),
            f"Deal registration {reg.reference} closed-won",
            f"{_describe(reg)} is closed-won"
            + (
                f" (order {billing_line.external_id} of {billing_line.invoice_date})."
                if billing_line
                else "."
            ),
        )
    return reg


# --- extensions --------------------------------------------------------------------------------


@transaction.atomic
def extension_request(
    *, registration: DealRegistration, requested_by: User | None, days: int, reason: str
) -> DealExtension:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the protection should be extended.", field="reason")
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ServiceError(f"Ask for 1 to {MAX_EXTENSION_DAYS} days.", field="days")
    reg = DealRegistration.objects.select_for_update().get(pk=registration.pk)
    if reg.status != DealStatus.APPROVED:
        raise Conflict(
            f"{reg.reference} is {reg.get_status_display().lower()}; only approved, protected "
            "registrations can be extended.",
            field="status",
        )
    if reg.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise Conflict(
            f"{reg.reference} already has an extension request waiting for a decision.",
            field="days",
        )
    ext = DealExtension.objects.create(
        registration=reg,
        days=days,
        reason=reason,
        requested_by=requested_by,
        previous_until=reg.protected_until,
    )
    emit(
        "deal.extension_requested",
        partner=reg.partner,
        payload={"registration_id": reg.pk, "extension_id": ext.pk, "days": days},
    )
    _mail(
        _reviewers(reg),
        f"Extension requested for {reg.reference}",
        f"{reg.partner.display_name} asks for {days} more days of protection on "
        f"{_describe(reg)} (protected through {reg.protected_until}): {reason}",
    )
    return ext


@transaction.atomic
def extension_decide(
    *, extension: DealExtension, decided_by: User | None, approve: bool, reason: str = ""
) -> DealExtension:
    reason = (reason or "").strip()
    ext = (
        DealExtension.objects.select_for_update(of=("self",))
        .select_related("registration")
        .get(pk=extension.pk)
    )
    if ext.status != ExtensionStatus.PENDING:
        raise Conflict("This extension request was already decided.", field="status")
    if not approve and not reason:
        raise ServiceError("Say why the extension is refused.", field="reason")
    reg = DealRegistration.objects.select_for_update().get(pk=ext.registration_id)
    if approve and reg.status != DealStatus.APPROVED:
        raise Conflict(
            f"{reg.reference} is {reg.get_status_display().lower()}: only a protected "
            "registration can be extended.",
            field="status",
        )
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    ext.decided_by = decided_by
    ext.decided_at = timezone.now()
    ext.decision_reason = reason
    if approve:
        ext.previous_until = reg.protected_until
        reg.protected_until = reg.protected_until + dt.timedelta(days=ext.days)
        reg.save(update_fields=["protected_until", "updated_at"])
        ext.new_until = reg.protected_until
    ext.save()
    emit(
        "deal.extension_" + ext.status,
        partner=reg.partner,
        payload={
            "registration_id": reg.pk,
            "extension_id": ext.pk,
            "protected_until": reg.protected_until,
        },
    )
    _mail(
        _partner_people(reg),
        f"Extension {ext.status} for {reg.reference}",
        (
            f"{reg.reference} is now protected through {reg.protected_until}."
            if approve
            else f"The extension of {reg.reference} was refused: {reason}"
        ),
    )
    return ext


# --- expiry ------------------------------------------------------------------------------------


def registrations_expire(*, on: dt.date | None = None) -> int:
    """Expire every approved registration whose protection ended before ``on``. Idempotent:
    running it again the same day (or twice at once) changes nothing more."""
    on = on or today()
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                DealRegistration.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=DealStatus.APPROVED, protected_until__lt=on)
                .select_related("partner", "created_by")
                .order_by("id")[:500]
            )
            if not batch:
                return done
            for reg in batch:
                reg.status = DealStatus.EXPIRED
                reg.closed_on = reg.protected_until + dt.timedelta(days=1)
                reg.save(update_fields=["status", "closed_on", "updated_at"])
                _log(
                    reg,
                    DealStatus.APPROVED,
                    DealStatus.EXPIRED,
                    None,
                    f"Protection ended on {reg.protected_until}.",
                )
                _mail(
                    _partner_people(reg),
                    f"Deal registration {reg.reference} expired",
                    f"The protection of {_describe(reg)} ended on {reg.protected_until}.",
                )
            done += len(batch)


# --- closed-won --------------------------------------------------------------------------------


def orders_match(*, on: dt.date | None = None) -> int:
    """Close as won every approved or expired registration for which a binding order of the
    same customer was invoiced within the program's window of its submission.

    Per partner (one query for its candidate orders) rather than per registration; referrals
    look at every partner's orders of customers with the same normalised name or domain."""
    from partnerhub.sales.models import Customer

    on = on or today()
    open_regs = list(
        DealRegistration.objects.filter(
            status__in=(DealStatus.APPROVED, DealStatus.EXPIRED), won_billing_line__isnull=True
        ).select_related("program", "partner")
    )
    if not open_regs:
        return 0
    windows = {}
    for reg in open_regs:
        months = windows.setdefault(reg.program_id, closed_won_months(reg.program, on))
        reg._window_end = add_months(reg.submitted_on, months)
    customer_ids: set[int] = set()
    lines_by_partner: dict[int, list[tuple]] = {}
    start = min(r.submitted_on for r in open_regs)
    partner_ids = {r.partner_id for r in open_regs if r.source != DealSource.REFERRAL}
    rows = (
        BillingLine.objects.filter(
            partner_id__in=partner_ids, invoice_date__gte=start, net_amount_minor__gt=0
        )
        .values_list("partner_id", "customer_id", "invoice_date", "id")
        .order_by("invoice_date", "id")
    )
    for partner_id, customer_id, invoice_date, line_id in rows.iterator():
        lines_by_partner.setdefault(partner_id, []).append((customer_id, invoice_date, line_id))
        customer_ids.add(customer_id)
    referrals = [r for r in open_regs if r.source == DealSource.REFERRAL]
    referral_lines: list[tuple] = []
    if referrals:
        keys = Q()
        for r in referrals:
            keys |= Q(name_key=r.name_key)
            if r.domain_key:
                keys |= Q(domain_key=r.domain_key)
        ref_customers = set(Customer.objects.filter(keys).values_list("id", flat=True))
        referral_lines = list(
            BillingLine.objects.filter(
                customer_id__in=ref_customers,
                invoice_date__gte=min(r.submitted_on for r in referrals),
                net_amount_minor__gt=0,
            )
            .values_list("customer_id", "invoice_date", "id")
            .order_by("invoice_date", "id")
        )
        customer_ids |= {c for c, _, _ in referral_lines}
    idents = {
        c.pk: matching.identity(c.name, c.website_domain, "", c.country)
        for c in Customer.objects.filter(pk__in=customer_ids)
    }
    won = 0
    for reg in open_regs:
        lines = (
            referral_lines
            if reg.source == DealSource.REFERRAL
            else lines_by_partner.get(reg.partner_id, [])
        )
        ident = identity_of(reg)
        verdicts: dict[int, bool] = {}
        for customer_id, invoice_date, line_id in lines:
            if not reg.submitted_on <= invoice_date <= reg._window_end:
                continue
            if customer_id not in verdicts:
                verdicts[customer_id] = matching.compare(ident, idents[customer_id]).is_conflict
            if verdicts[customer_id]:
                line = BillingLine.objects.get(pk=line_id)
                registration_close(
                    registration=reg,
                    by=None,
                    outcome=DealStatus.WON,
                    reason=f"Order {line.external_id} invoiced on {line.invoice_date}.",
                    billing_line=line,
                )
                won += 1
                break
    return won


# --- attachments -------------------------------------------------------------------------------


@transaction.atomic
def attachment_add(*, registration: DealRegistration, upload, uploaded_by) -> DealAttachment:
    limit = settings.PARTNERHUB_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ServiceError(
            f"The file is {upload.size:,} bytes; the limit is {limit:,}.", field="file"
        )
    if registration.status not in (DealStatus.DRAFT, DealStatus.SUBMITTED, DealStatus.APPROVED):
        raise Conflict(
            f"{registration.reference} is closed; files can no longer be attached.",
            field="status",
        )
    if registration.attachments.count() >= MAX_ATTACHMENTS:
        raise Conflict(f"At most {MAX_ATTACHMENTS} files per registration.", field="file")
    name = (upload.name or "attachment").replace("/", "_").replace("\\", "_")[-200:]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = DealAttachment(
        registration=registration,
        name=name,
        content_type=content_type,
        size=upload.size,
        uploaded_by=uploaded_by,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def registration_delete(*, registration: DealRegistration) -> None:
    if registration.status != DealStatus.DRAFT:
        raise Conflict(
            f"{registration.reference} was submitted; it can be closed as lost, not deleted.",
            field="status",
        )
    for a in registration.attachments.all():
        a.file.delete(save=False)
    registration.delete()


ACTIVE = ACTIVE_STATUSES
