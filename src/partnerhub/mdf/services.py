"""Every write to market development funds: allocations, requests and their decisions, claims
with proof of performance and their decisions, and the period-end expiry.

Services are keyword-only, run in one transaction, validate fully before writing and raise
ServiceError / Conflict naming the field. Permission checks are the caller's job (API, pages
and CLI ask ``core.permissions``). See docs/mdf.md for the rules in the program's words.

The fund is the partner's **held** balance of kind ``mdf`` in the incentives ledger, per
program and currency:

- an allocation posts ``accrual`` +A (``payable=False``, source ``mdf_allocation``) booked on
  the quarter's first day; the lead's accrual engine posts sales accruals the same way;
- approving a request reserves its approved amount (a *commitment*: requests approved or
  claimed, not yet reimbursed); it is refused when it exceeds ``available = fund - committed``;
- approving a claim reimburses ``R = min(approved, actual cost × vendor share)`` (half-up): the
  pair ``release`` -R held / +R payable (source ``mdf_claim``), so R leaves the fund and becomes
  payable to the partner (paid by the payout run);
- at the end of each period (program ``incentives.mdf.expiry``: fiscal quarter, fiscal year or
  never) what is left of the funds booked up to the period's end, after commitments, expires
  with one ``adjustment`` -X (``payable=False``, source ``mdf_expiry``) per partner, program
  and currency.

Every write that takes money out of the fund locks the partner row first and checks the held
balance under the lock, so the fund never goes negative.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from calendar import monthrange
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.events import emit
from partnerhub.core.money import currency_code, from_minor, to_minor
from partnerhub.incentives import ledger
from partnerhub.incentives.models import EntryType, IncentiveKind, LedgerEntry, SourceType
from partnerhub.mdf.models import (
    COMMITTED_STATUSES,
    ActivityType,
    ClaimStatus,
    MdfAllocation,
    MdfClaim,
    MdfExpiryRun,
    MdfProof,
    MdfRequest,
    RequestStatus,
)
from partnerhub.partners.models import Partner
from partnerhub.programs.models import Program, ProgramVersion
from partnerhub.programs.schema import IncentivesSpec, MdfPolicy

MAX_AMOUNT_MINOR = 10**15
MAX_PROOFS = 20
MAX_ACTIVITY_DAYS = 366 * 2
# Proof of performance: documents, images, spreadsheets and archives of them.
PROOF_EXTENSIONS = {
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".txt",
    ".csv",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".odt",
    ".ods",
    ".odp",
    ".zip",
}

# The ledger's one-entry-per-source rule (``ledger_once_per_source``: source, partner, kind,
# entry type, currency) allows a single ``release`` entry per claim, so the payable leg of
# the release pair is booked as an ``accrual`` of the reimbursement (the held leg is the
# ``release``). Both legs carry the claim as their source and sum to zero.
HELD_LEG = EntryType.RELEASE
PAYABLE_LEG = EntryType.RELEASE


# --- figures -----------------------------------------------------------------------------------


def share_of(amount_minor: int, percent: Decimal) -> int:
    """``amount × percent / 100`` in minor units, rounded half-up (exact Decimal arithmetic)."""
    value = Decimal(int(amount_minor)) * Decimal(percent) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reimbursement_for(*, approved_minor: int, actual_cost_minor: int, percent: Decimal) -> int:
    """min(approved amount, actual cost × vendor share), half-up."""
    return min(int(approved_minor), share_of(actual_cost_minor, percent))


def money(minor: int, currency: str) -> str:
    """1234567 EUR → "12,345.67 EUR" (for messages)."""
    return f"{from_minor(minor, currency):,} {currency}"


@dataclass(frozen=True)
class Fund:
    """The MDF figures of one partner in one program and currency (minor units)."""

    program_id: int
    currency: str
    fund_minor: int  # held MDF balance in the ledger
    committed_minor: int  # approved on requests not yet reimbursed
    reimbursed_minor: int  # released to payable, ever
    payable_minor: int  # reimbursements not yet paid out

    @property
    def available_minor(self) -> int:
        return self.fund_minor - self.committed_minor


def committed_minor(*, partner_id: int, program_id: int, currency: str) -> int:
    return int(
        MdfRequest.objects.filter(
            partner_id=partner_id,
            program_id=program_id,
            currency=currency,
            status__in=COMMITTED_STATUSES,
        ).aggregate(s=Coalesce(Sum("approved_minor"), 0))["s"]
    )


def funds(*, partner_id: int, program_id: int | None = None) -> list[Fund]:
    """Every (program, currency) fund of a partner: two grouped queries."""
    entries = LedgerEntry.objects.filter(partner_id=partner_id, kind=IncentiveKind.MDF)
    requests = MdfRequest.objects.filter(partner_id=partner_id, status__in=COMMITTED_STATUSES)
    if program_id is not None:
        entries = entries.filter(program_id=program_id)
        requests = requests.filter(program_id=program_id)
    rows = entries.values("program_id", "currency").annotate(
        held_sum=Coalesce(Sum("amount_minor", filter=Q(payable=False)), 0),
        payable_sum=Coalesce(Sum("amount_minor", filter=Q(payable=True)), 0),
        reimbursed_sum=Coalesce(
            Sum("amount_minor", filter=Q(payable=True, source_type=SourceType.MDF_CLAIM)), 0
        ),
    )
    figures: dict[tuple, dict[str, int]] = {}
    for r in rows:
        if r["program_id"] is None:
            continue
        figures[(r["program_id"], r["currency"])] = {
            "fund": int(r["held_sum"]),
            "payable": int(r["payable_sum"]),
            "reimbursed": int(r["reimbursed_sum"]),
            "committed": 0,
        }
    for r in requests.values("program_id", "currency").annotate(s=Sum("approved_minor")):
        key = (r["program_id"], r["currency"])
        figures.setdefault(key, {"fund": 0, "payable": 0, "reimbursed": 0, "committed": 0})
        figures[key]["committed"] = int(r["s"] or 0)
    return [
        Fund(
            program_id=program,
            currency=currency,
            fund_minor=f["fund"],
            committed_minor=f["committed"],
            reimbursed_minor=f["reimbursed"],
            payable_minor=f["payable"],
        )
        for (program, currency), f in sorted(figures.items())
    ]


def funds_map(partner_ids) -> dict[tuple[int, int, str], Fund]:
    """Funds of many partners keyed by (partner, program, currency): two grouped queries (the
    console's approvals queue shows the figures beside every request and claim)."""
    ids = list(set(partner_ids))
    if not ids:
        return {}
    rows = (
        LedgerEntry.objects.filter(partner_id__in=ids, kind=IncentiveKind.MDF)
        .exclude(program_id=None)
        .values("partner_id", "program_id", "currency")
        .annotate(
            held_sum=Coalesce(Sum("amount_minor", filter=Q(payable=False)), 0),
            payable_sum=Coalesce(Sum("amount_minor", filter=Q(payable=True)), 0),
            reimbursed_sum=Coalesce(
                Sum("amount_minor", filter=Q(payable=True, source_type=SourceType.MDF_CLAIM)), 0
            ),
        )
    )
    figures = {
        (r["partner_id"], r["program_id"], r["currency"]): [
            int(r["held_sum"]),
            0,
            int(r["reimbursed_sum"]),
            int(r["payable_sum"]),
        ]
        for r in rows
    }
    commitments = (
        MdfRequest.objects.filter(partner_id__in=ids, status__in=COMMITTED_STATUSES)
        .values("partner_id", "program_id", "currency")
        .annotate(s=Sum("approved_minor"))
    )
    for r in commitments:
        key = (r["partner_id"], r["program_id"], r["currency"])
        figures.setdefault(key, [0, 0, 0, 0])[1] = int(r["s"] or 0)
    return {
        key: Fund(
            program_id=key[1],
            currency=key[2],
            fund_minor=f[0],
            committed_minor=f[1],
            reimbursed_minor=f[2],
            payable_minor=f[3],
        )
        for key, f in figures.items()
    }


def fund_of(partner_id: int, program_id: int, currency: str, mapping: dict) -> Fund:
    return mapping.get((partner_id, program_id, currency)) or Fund(program_id, currency, 0, 0, 0, 0)


def fund_for(*, partner_id: int, program_id: int, currency: str) -> Fund:
    held = ledger.balances(
        partner=partner_id, kind=IncentiveKind.MDF, currency=currency, program=program_id
    ).get(currency)
    reimbursed = LedgerEntry.objects.filter(
        partner_id=partner_id,
        program_id=program_id,
        kind=IncentiveKind.MDF,
        currency=currency,
        payable=True,
        source_type=SourceType.MDF_CLAIM,
    ).aggregate(s=Coalesce(Sum("amount_minor"), 0))["s"]
    return Fund(
        program_id=program_id,
        currency=currency,
        fund_minor=held.held_minor if held else 0,
        committed_minor=committed_minor(
            partner_id=partner_id, program_id=program_id, currency=currency
        ),
        reimbursed_minor=int(reimbursed),
        payable_minor=held.payable_minor if held else 0,
    )


# --- the program's policy and periods ----------------------------------------------------------


def version_for(program: Program, on: dt.date) -> ProgramVersion | None:
    return program.version_as_of(on) or program.versions.order_by("number").first()


def policy_for(program: Program, on: dt.date) -> MdfPolicy:
    version = version_for(program, on)
    if version is None:
        return MdfPolicy()
    return IncentivesSpec.model_validate(version.definition.get("incentives") or {}).mdf


def _add_months(day: dt.date, months: int, anchor_day: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(anchor_day, monthrange(year, month + 1)[1]))


def quarter_bounds(day: dt.date, version: ProgramVersion | None) -> tuple[dt.date, dt.date]:
    """(first, last) day of the fiscal quarter containing ``day``: quarters start on the
    fiscal year's first day and every three months after it."""
    month = version.fiscal_year_start_month if version else 1
    start_day = version.fiscal_year_start_day if version else 1
    fy_start = dt.date(day.year, month, min(start_day, monthrange(day.year, month)[1]))
    if fy_start > day:
        fy_start = _add_months(fy_start, -12, start_day)
    start = fy_start
    for q in range(1, 5):
        nxt = _add_months(fy_start, 3 * q, start_day)
        if day < nxt:
            return start, nxt - dt.timedelta(days=1)
        start = nxt
    raise AssertionError("unreachable")  # pragma: no cover


def period_bounds(
    day: dt.date, expiry: str, version: ProgramVersion | None
) -> tuple[dt.date, dt.date] | None:
    """The expiry period (fiscal quarter or fiscal year) containing ``day``; None for never."""
    if expiry == "never":
        return None
    if expiry == "quarter":
        return quarter_bounds(day, version)
    first, _ = quarter_bounds(day, version)
    month = version.fiscal_year_start_month if version else 1
    start_day = version.fiscal_year_start_day if version else 1
    # The fiscal year: back to the quarter that starts in the fiscal year's first month.
    while first.month != month:
        first = _add_months(first, -3, start_day)
    return first, _add_months(first, 12, start_day) - dt.timedelta(days=1)


# --- input validation ---------------------------------------------------------------------------


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


def _currency(value: Any, field: str = "currency") -> str:
    return currency_code(value, field=field)


def amount_minor(value: Any, currency: str, *, field: str, allow_zero: bool = False) -> int:
    """A Decimal amount as typed (string or number) → minor units; positive and bounded."""
    if value is None or value == "":
        raise ServiceError("Give an amount.", field=field)
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ServiceError("Must be a number.", field=field) from None
    if not amount.is_finite():
        raise ServiceError("Must be a number.", field=field)
    if abs(amount) >= Decimal(10) ** 16:
        raise ServiceError("The amount is too large.", field=field)
    minor = to_minor(amount, currency)
    if minor < 0 or (minor == 0 and not allow_zero):
        raise ServiceError(
            "The amount must be zero or more." if allow_zero else "The amount must be above zero.",
            field=field,
        )
    if minor > MAX_AMOUNT_MINOR:
        raise ServiceError("The amount is too large.", field=field)
    return minor


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        raise ServiceError("Give a date as YYYY-MM-DD.", field=field) from None


def _percent(value: Any, field: str) -> Decimal:
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise ServiceError("Must be a number.", field=field) from None
    if not percent.is_finite() or not Decimal(0) < percent <= Decimal(100):
        raise ServiceError("Give a percentage above 0 and at most 100.", field=field)
    if percent != percent.quantize(Decimal("0.01")):
        raise ServiceError("Use at most two decimals.", field=field)
    return percent


def _lock_partner(partner_id: int) -> None:
    """Serialise every change of one partner's fund (the held balance is checked under it)."""
    Partner.objects.select_for_update().filter(pk=partner_id).values_list("pk").first()


def _program_for(partner: Partner, key: str | None) -> Program:
    from partnerhub.deals.services import program_for

    return program_for(partner, key or None)


# --- allocations -------------------------------------------------------------------------------


@transaction.atomic
def allocation_create(
    *,
    partner: Partner,
    program: Program | str | None,
    quarter_start: Any,
    amount: Any,
    currency: str | None = None,
    reason: str,
    created_by=None,
) -> MdfAllocation:
    """Grant ``amount`` to the partner's fund for the fiscal quarter starting ``quarter_start``."""
    if not isinstance(program, Program):
        program = _program_for(partner, program)
    start = _date(quarter_start, "quarter_start")
    version = version_for(program, start)
    first, last = quarter_bounds(start, version)
    if first != start:
        raise ServiceError(
            f"{start} is not the first day of a fiscal quarter of {program.name}; the quarter "
            f"containing it runs {first} to {last}.",
            field="quarter_start",
        )
    currency = _currency(currency or (version.currency if version else ""))
    if version is not None and version.currency and currency != version.currency:
        raise ServiceError(
            f"{program.name} keeps its funds in {version.currency}: allocate in "
            f"{version.currency} (requests and claims are in the fund's currency).",
            field="currency",
        )
    minor = amount_minor(amount, currency, field="amount")
    reason = _text({"reason": reason}, "reason", required=True, max_length=2000)
    expired = (
        MdfExpiryRun.objects.filter(program=program, period_end__gte=start)
        .order_by("-period_end")
        .first()
    )
    if expired is not None:
        raise Conflict(
            f"The MDF of {program.name} already expired for the period "
            f"{expired.period_start} to {expired.period_end}; allocate to a later quarter.",
            field="quarter_start",
        )
    _lock_partner(partner.pk)
    allocation = MdfAllocation.objects.create(
        partner=partner,
        program=program,
        quarter_start=start,
        amount_minor=minor,
        currency=currency,
        reason=reason,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    ledger.post(
        partner=partner,
        program=program,
        kind=IncentiveKind.MDF,
        entry_type=EntryType.ACCRUAL,
        amount_minor=minor,
        currency=currency,
        booked_on=start,
        source_type=SourceType.MDF_ALLOCATION,
        source_id=allocation.pk,
        payable=False,
        memo=f"MDF allocation for the quarter from {start}: {reason}"[:300],
        actor=created_by,
    )
    emit(
        "mdf.allocated",
        partner=partner,
        payload={
            "allocation_id": allocation.pk,
            "program": program.key,
            "quarter_start": start,
            "amount": str(from_minor(minor, currency)),
            "currency": currency,
        },
    )
    return allocation


# --- requests ----------------------------------------------------------------------------------


@transaction.atomic
def request_create(*, partner: Partner, data: dict, submitted_by=None) -> MdfRequest:
    """Submit a request for funds. ``data``: program (key, optional when the partner is in one
    program), title, description, activity_type, starts_on, ends_on, budget, currency
    (default the program's), vendor_share_percent (default and maximum the program's)."""
    program = _program_for(partner, data.get("program"))
    title = _text(data, "title", required=True, max_length=200)
    description = _text(data, "description", max_length=5000)
    activity_type = _text(data, "activity_type", required=True, max_length=16)
    if activity_type not in ActivityType.values:
        raise ServiceError(
            f"Choose one of: {', '.join(ActivityType.values)}.", field="activity_type"
        )
    starts_on = _date(data.get("starts_on"), "starts_on")
    ends_on = _date(data.get("ends_on"), "ends_on")
    if ends_on < starts_on:
        raise ServiceError(f"The activity ends before it starts ({starts_on}).", field="ends_on")
    if (ends_on - starts_on).days > MAX_ACTIVITY_DAYS:
        raise ServiceError(
            f"An activity lasts at most {MAX_ACTIVITY_DAYS} days; split longer campaigns.",
            field="ends_on",
        )
    version = version_for(program, starts_on)
    currency = _currency(data.get("currency") or (version.currency if version else ""))
    budget = amount_minor(data.get("budget"), currency, field="budget")
    policy_share = Decimal(policy_for(program, starts_on).vendor_share)
    raw_share = data.get("vendor_share_percent")
    share = policy_share if raw_share in (None, "") else _percent(raw_share, "vendor_share_percent")
    if share > policy_share:
        raise ServiceError(
            f"{program.name} funds at most {policy_share.normalize():f}% of an activity.",
            field="vendor_share_percent",
        )
    requested = share_of(budget, share)
    if requested <= 0:
        raise ServiceError("The vendor's share of this budget rounds to zero.", field="budget")
    req = MdfRequest.objects.create(
        partner=partner,
        program=program,
        title=title,
        description=description,
        activity_type=activity_type,
        starts_on=starts_on,
        ends_on=ends_on,
        budget_minor=budget,
        currency=currency,
        vendor_share_percent=share,
        requested_minor=requested,
        submitted_by=submitted_by if getattr(submitted_by, "pk", None) else None,
    )
    emit(
        "mdf.request_submitted",
        partner=partner,
        payload={
            "request_id": req.pk,
            "requested": str(from_minor(requested, currency)),
            "currency": currency,
        },
    )
    return req


def _locked_request(request: MdfRequest) -> MdfRequest:
    _lock_partner(request.partner_id)
    return (
        MdfRequest.objects.select_for_update()
        .select_related("partner", "program")
        .get(pk=request.pk)
    )


def _decide(req: MdfRequest, to: str, by, reason: str) -> None:
    req.status = to
    req.decided_by = by if getattr(by, "pk", None) else None
    req.decided_at = timezone.now()
    req.decision_reason = reason
    req.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "approved_minor"]
        + ["updated_at"]
    )
    emit(
        f"mdf.request_{to}",
        partner=req.partner,
        payload={"request_id": req.pk, "status": to, "reason": reason},
    )


@transaction.atomic
def request_approve(
    *, request: MdfRequest, approved_by=None, amount: Any = None, reason: str = ""
) -> MdfRequest:
    """Approve a submitted request for ``amount`` (default: the requested amount), at most the
    requested amount and at most the partner's available MDF (fund − commitments)."""
    req = _locked_request(request)
    if req.status != RequestStatus.SUBMITTED:
        raise Conflict(f"{req.reference} is {req.get_status_display().lower()}.", field="status")
    reason = _text({"reason": reason}, "reason", max_length=2000)
    approved = (
        req.requested_minor
        if amount in (None, "")
        else amount_minor(amount, req.currency, field="amount")
    )
    if approved > req.requested_minor:
        raise ServiceError(
            f"Approve at most the requested {money(req.requested_minor, req.currency)}.",
            field="amount",
        )
    fund = fund_for(partner_id=req.partner_id, program_id=req.program_id, currency=req.currency)
    if approved > fund.available_minor:
        raise Conflict(
            f"Approving {money(approved, req.currency)} would exceed the available MDF of "
            f"{req.partner.display_name}: {money(max(fund.available_minor, 0), req.currency)} "
            f"(fund {money(fund.fund_minor, req.currency)} − committed "
            f"{money(fund.committed_minor, req.currency)}).",
            field="amount",
        )
    req.approved_minor = approved
    _decide(req, RequestStatus.APPROVED, approved_by, reason)
    return req


@transaction.atomic
def request_reject(*, request: MdfRequest, rejected_by=None, reason: str) -> MdfRequest:
    req = _locked_request(request)
    reason = _text({"reason": reason}, "reason", required=True, max_length=2000)
    if req.status != RequestStatus.SUBMITTED:
        raise Conflict(f"{req.reference} is {req.get_status_display().lower()}.", field="status")
    _decide(req, RequestStatus.REJECTED, rejected_by, reason)
    return req


@transaction.atomic
def request_close(*, request: MdfRequest, closed_by=None, reason: str = "") -> MdfRequest:
    """Withdraw a submitted request, or give back an approved one that will not be claimed
    (its commitment returns to the available funds)."""
    req = _locked_request(request)
    reason = _text({"reason": reason}, "reason", max_length=2000)
    if req.status not in (RequestStatus.SUBMITTED, RequestStatus.APPROVED):
        raise Conflict(
            f"{req.reference} is {req.get_status_display().lower()}; only submitted or approved "
            "requests can be closed.",
            field="status",
        )
    _decide(req, RequestStatus.CLOSED, closed_by, reason)
    return req


# --- claims ------------------------------------------------------------------------------------


def _check_upload(upload, index: int) -> tuple[str, str]:
    field = "files"
    name = (getattr(upload, "name", "") or "proof").replace("/", "_").replace("\\", "_")[-200:]
    limit = settings.PARTNERHUB_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ServiceError(f"{name} is {upload.size:,} bytes; the limit is {limit:,}.", field=field)
    if upload.size == 0:
        raise ServiceError(f"{name} is empty.", field=field)
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if ext not in PROOF_EXTENSIONS:
        raise ServiceError(
            f"{name}: proof of performance must be one of {', '.join(sorted(PROOF_EXTENSIONS))}.",
            field=field,
        )
    return name, mimetypes.guess_type(name)[0] or "application/octet-stream"


@transaction.atomic
def claim_submit(
    *,
    request: MdfRequest,
    actual_cost: Any,
    files: list,
    notes: str = "",
    submitted_by=None,
    on: dt.date | None = None,
) -> MdfClaim:
    """Claim an approved request after its activity ended, with the actual cost (in the
    request's currency) and at least one proof-of-performance file."""
    on = on or timezone.localdate()
    req = _locked_request(request)
    if req.status != RequestStatus.APPROVED:
        raise Conflict(
            f"{req.reference} is {req.get_status_display().lower()}; only approved requests "
            "can be claimed.",
            field="status",
        )
    if on < req.ends_on:
        raise Conflict(
            f"The activity runs until {req.ends_on}; claim it once it has taken place.",
            field="status",
        )
    cost = amount_minor(actual_cost, req.currency, field="actual_cost")
    notes = _text({"notes": notes}, "notes", max_length=5000)
    files = [f for f in (files or []) if f is not None]
    if not files:
        raise ServiceError("Attach the proof of performance (at least one file).", field="files")
    if len(files) > MAX_PROOFS:
        raise ServiceError(f"At most {MAX_PROOFS} files per claim.", field="files")
    checked = [_check_upload(f, i) for i, f in enumerate(files)]
    claim = MdfClaim.objects.create(
        request=req,
        partner_id=req.partner_id,
        actual_cost_minor=cost,
        currency=req.currency,
        notes=notes,
        submitted_by=submitted_by if getattr(submitted_by, "pk", None) else None,
    )
    for upload, (name, content_type) in zip(files, checked, strict=True):
        proof = MdfProof(
            claim=claim,
            name=name,
            content_type=content_type,
            size=upload.size,
            uploaded_by=submitted_by if getattr(submitted_by, "pk", None) else None,
        )
        proof.file.save(name, upload, save=False)
        proof.save()
    req.status = RequestStatus.CLAIMED
    req.save(update_fields=["status", "updated_at"])
    emit(
        "mdf.claim_submitted",
        partner=req.partner,
        payload={"request_id": req.pk, "claim_id": claim.pk},
    )
    return claim


def _locked_claim(claim: MdfClaim) -> tuple[MdfClaim, MdfRequest]:
    _lock_partner(claim.partner_id)
    claim = MdfClaim.objects.select_for_update().get(pk=claim.pk)
    req = (
        MdfRequest.objects.select_for_update()
        .select_related("partner", "program")
        .get(pk=claim.request_id)
    )
    if claim.status != ClaimStatus.SUBMITTED:
        raise Conflict(f"The claim was already {claim.status}.", field="status")
    return claim, req


@transaction.atomic
def claim_approve(
    *, claim: MdfClaim, approved_by=None, reason: str = "", on: dt.date | None = None
) -> MdfClaim:
    """Reimburse ``min(approved, actual cost × vendor share)``: released from the fund to
    payable (two ledger entries summing to zero)."""
    on = on or timezone.localdate()
    claim, req = _locked_claim(claim)
    reason = _text({"reason": reason}, "reason", max_length=2000)
    amount = reimbursement_for(
        approved_minor=req.approved_minor or 0,
        actual_cost_minor=claim.actual_cost_minor,
        percent=req.vendor_share_percent,
    )
    fund = fund_for(partner_id=req.partner_id, program_id=req.program_id, currency=req.currency)
    if amount > fund.fund_minor:
        # Only when sales accruals were reversed below what is committed.
        raise Conflict(
            f"The reimbursement of {money(amount, req.currency)} exceeds the MDF fund of "
            f"{req.partner.display_name} ({money(fund.fund_minor, req.currency)}).",
            field="status",
        )
    if amount:
        common = {
            "partner": req.partner_id,
            "program": req.program_id,
            "kind": IncentiveKind.MDF,
            "currency": req.currency,
            "booked_on": on,
            "source_type": SourceType.MDF_CLAIM,
            "source_id": claim.pk,
            "basis_minor": claim.actual_cost_minor,
            "rate_bp": int(req.vendor_share_percent * 100),
            "actor": approved_by,
        }
        memo = f"MDF reimbursement of {req.reference} ({req.title})"[:300]
        ledger.post(entry_type=HELD_LEG, amount_minor=-amount, payable=False, memo=memo, **common)
        ledger.post(entry_type=PAYABLE_LEG, amount_minor=amount, payable=True, memo=memo, **common)
    claim.status = ClaimStatus.APPROVED
    claim.reimbursed_minor = amount
    claim.decided_by = approved_by if getattr(approved_by, "pk", None) else None
    claim.decided_at = timezone.now()
    claim.decision_reason = reason
    claim.save()
    req.status = RequestStatus.PAID
    req.save(update_fields=["status", "updated_at"])
    emit(
        "mdf.claim_approved",
        partner=req.partner,
        payload={
            "request_id": req.pk,
            "claim_id": claim.pk,
            "reimbursed": str(from_minor(amount, req.currency)),
            "currency": req.currency,
        },
    )
    return claim


@transaction.atomic
def claim_reject(*, claim: MdfClaim, rejected_by=None, reason: str) -> MdfClaim:
    """Refuse a claim (reason required); the request is approved again, so the partner can
    claim once more with better proof, or close it."""
    reason = _text({"reason": reason}, "reason", required=True, max_length=2000)
    claim, req = _locked_claim(claim)
    claim.status = ClaimStatus.REJECTED
    claim.decided_by = rejected_by if getattr(rejected_by, "pk", None) else None
    claim.decided_at = timezone.now()
    claim.decision_reason = reason
    claim.save()
    req.status = RequestStatus.APPROVED
    req.save(update_fields=["status", "updated_at"])
    emit(
        "mdf.claim_rejected",
        partner=req.partner,
        payload={"request_id": req.pk, "claim_id": claim.pk, "reason": reason},
    )
    return claim


# --- expiry ------------------------------------------------------------------------------------


def last_ended_period(program: Program, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    """The latest expiry period of the program that ended before ``as_of`` (None: never)."""
    yesterday = as_of - dt.timedelta(days=1)
    version = version_for(program, yesterday)
    policy = policy_for(program, yesterday)
    bounds = period_bounds(yesterday, policy.expiry, version)
    if bounds is None:
        return None
    first, last = bounds
    if last == yesterday:
        return first, last
    return period_bounds(first - dt.timedelta(days=1), policy.expiry, version)


@transaction.atomic
def mdf_expire(*, as_of: dt.date | None = None, triggered_by=None) -> list[MdfExpiryRun]:
    """Expire, for every program whose MDF expires, the unused funds of the latest period that
    ended before ``as_of`` (default today). Idempotent: a period is expired once.

    Per partner and currency: ``X = min(fund booked up to the period's end, fund now)
    − commitments``; when X > 0 one entry −X is booked on the period's last day. Spending and
    commitments use the oldest funds first, so funds of a later period never expire early.
    Set-based: two grouped queries and one bulk insert per program."""
    as_of = as_of or timezone.localdate()
    runs = []
    for program in Program.objects.order_by("pk"):
        period = last_ended_period(program, as_of)
        if period is None:
            continue
        first, last = period
        if MdfExpiryRun.objects.filter(program=program, period_end=last).exists():
            continue
        run = MdfExpiryRun.objects.create(
            program=program,
            period_start=first,
            period_end=last,
            triggered_by=triggered_by if getattr(triggered_by, "pk", None) else None,
        )
        runs.append(run)
        # Lock every partner with MDF in the program, in one statement, in id order.
        partner_ids = list(
            LedgerEntry.objects.filter(program=program, kind=IncentiveKind.MDF)
            .values_list("partner_id", flat=True)
            .distinct()
            .order_by("partner_id")
        )
        if not partner_ids:
            continue
        list(
            Partner.objects.select_for_update()
            .filter(pk__in=partner_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        held = (
            LedgerEntry.objects.filter(program=program, kind=IncentiveKind.MDF, payable=False)
            .values("partner_id", "currency")
            .annotate(
                now=Coalesce(Sum("amount_minor"), 0),
                upto=Coalesce(Sum("amount_minor", filter=Q(booked_on__lte=last)), 0),
            )
        )
        commitments = {
            (r["partner_id"], r["currency"]): int(r["s"] or 0)
            for r in MdfRequest.objects.filter(program=program, status__in=COMMITTED_STATUSES)
            .values("partner_id", "currency")
            .annotate(s=Sum("approved_minor"))
        }
        entries = []
        for r in held:
            amount = min(int(r["now"]), int(r["upto"])) - commitments.get(
                (r["partner_id"], r["currency"]), 0
            )
            if amount <= 0:
                continue
            entries.append(
                LedgerEntry(
                    partner_id=r["partner_id"],
                    program=program,
                    kind=IncentiveKind.MDF,
                    entry_type=EntryType.ADJUSTMENT,
                    amount_minor=-amount,
                    currency=r["currency"],
                    booked_on=last,
                    payable=False,
                    source_type=SourceType.MDF_EXPIRY,
                    source_id=run.pk,
                    memo=f"Unused MDF expired at the end of {first} to {last}",
                    created_by=run.triggered_by,
                )
            )
        LedgerEntry.objects.bulk_create(entries, batch_size=2000)
        run.partners = len({e.partner_id for e in entries})
        run.total_minor = -sum(e.amount_minor for e in entries)
        run.save(update_fields=["partners", "total_minor"])
        if entries:
            emit(
                "mdf.expired",
                payload={
                    "run_id": run.pk,
                    "program": program.key,
                    "period_start": first,
                    "period_end": last,
                    "partners": run.partners,
                },
            )
    return runs
