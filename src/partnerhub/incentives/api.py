"""/api/v1/incentives: the ledger, balances and statements (JSON, CSV, PDF) of the partners
the caller sees; accrual runs, customer payments, rebate closes, adjustments and payout runs
(finance and program admins); referral elections (a partner's admins, staff for any partner
they change); SPIFF campaigns (staff create, everyone reads), claims (the partner's people)
and decisions (the staff who manage the partner). Thin handlers over selectors and services;
every permission question goes to core.permissions (``incentives.*``)."""

import datetime as dt

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES, api
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import membership, require
from partnerhub.core.schemas import ObjectId, Pagination
from partnerhub.incentives import exports, selectors, services
from partnerhub.incentives.schemas import (
    AccrualRunIn,
    AccrualRunOut,
    AdjustmentIn,
    BalanceFilter,
    BalanceOut,
    ElectionFilter,
    ElectionIn,
    ElectionOut,
    IncentiveStatementOut,
    IncentiveStatementQuery,
    LedgerEntryOut,
    LedgerFilter,
    PaymentsImportIn,
    PaymentsReportOut,
    PayoutIn,
    PayoutOut,
    RebateCloseIn,
    RebateCloseOut,
    SpiffClaimFilter,
    SpiffClaimIn,
    SpiffClaimOut,
    SpiffDecisionIn,
    SpiffFilter,
    SpiffIn,
    SpiffOut,
)
from partnerhub.partners.selectors import partner_get

router = Router(tags=["incentives"])
R = ERROR_RESPONSES

FINANCE_ONLY = "Only program admins and finance do this."
STAFF_ONLY = "Vendor staff only."
ELECTORS_ONLY = "Only the partner's admins and the vendor staff who manage it elect."
CLAIMERS_ONLY = "Only the partner's own people and its vendor managers claim SPIFFs."
DECIDERS_ONLY = "Only the vendor staff who manage this partner decide its claims."
MAX_REPORTED_ERRORS = 100


def _program(key: str | None, field: str = "program"):
    from partnerhub.programs.models import Program

    if not key:
        return None
    program = Program.objects.filter(key=key).first()
    if program is None:
        raise ServiceError(f"No program '{key}'.", field=field)
    return program


def _acting_partner(request, partner_id: int | None):
    """The partner a write is for: the caller's own organisation for partner users (unless
    they name one of their sub-tree), the named (visible) partner for staff."""
    if partner_id is None:
        m = membership(request.auth)
        if m is None:
            raise ServiceError("Say which partner this is for.", field="partner_id")
        partner_id = m.partner_id
    return partner_get(fetched_by=request.auth, partner_id=partner_id)


# --- ledger, balances, statements -------------------------------------------------------------


@router.get("/ledger", response={200: list[LedgerEntryOut], **R}, summary="List ledger entries")
@paginate(Pagination)
def ledger_list(request, filters: Query[LedgerFilter]):
    """Newest first; partner users see their organisation's entries, staff those of the
    partners they see. Filters never widen the scope."""
    require(request.auth, "incentives.view_incentives", None)
    return selectors.entry_list(fetched_by=request.auth, **filters.dict())


def _balance_out(row) -> dict:
    cur = row["currency"]
    total, payable = int(row["total"]), int(row["payable_sum"])
    return {
        "partner_id": row["partner_id"],
        "kind": row["kind"],
        "currency": cur,
        "total": from_minor(total, cur),
        "payable": from_minor(payable, cur),
        "held": from_minor(total - payable, cur),
        "total_minor": total,
        "payable_minor": payable,
        "held_minor": total - payable,
    }


class _Balances:
    """A lazily paginated list of balance rows (one GROUP BY per page)."""

    def __init__(self, qs):
        self.qs = qs

    def __len__(self):
        return self.qs.count()

    def count(self):
        return self.qs.count()

    def __getitem__(self, item):
        return [_balance_out(r) for r in self.qs[item]]


@router.get(
    "/balances",
    response={200: list[BalanceOut], **R},
    summary="Balances per partner, kind and currency (payable and held)",
)
@paginate(Pagination)
def balance_list(request, filters: Query[BalanceFilter]):
    require(request.auth, "incentives.view_incentives", None)
    return _Balances(selectors.balance_rows(fetched_by=request.auth, partner_id=filters.partner_id))


def _statement(request, partner_id: int, query: IncentiveStatementQuery):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "incentives.view_incentives", partner)
    today = timezone.localdate()
    date_to = query.date_to or today
    date_from = query.date_from or dt.date(date_to.year, 1, 1)
    if date_from > date_to:
        raise ServiceError("The period starts after it ends.", field="date_from")
    return selectors.statement(partner, date_from, date_to)


@router.get(
    "/statements/{partner_id}",
    response={200: IncentiveStatementOut, **R},
    summary="A partner's incentive statement for a period",
)
def statement_get(request, partner_id: ObjectId, query: Query[IncentiveStatementQuery]):
    """Per currency: the opening balance (entries booked before ``date_from``), the entries
    of the period with a description of their source, totals per kind, the closing balance
    (opening + the period) and its payable and held parts."""
    st = _statement(request, partner_id, query)
    currencies = []
    for cs in st.currencies:
        cur = cs.currency
        currencies.append(
            {
                "currency": cur,
                "opening": from_minor(cs.opening_minor, cur),
                "opening_minor": cs.opening_minor,
                "entries": [
                    {**e.__dict__, "amount": from_minor(e.amount_minor, cur)} for e in cs.entries
                ],
                "totals_by_kind": [
                    {"kind": k, "amount": from_minor(v, cur), "amount_minor": v}
                    for k, v in cs.kind_totals.items()
                ],
                "period_total": from_minor(cs.period_minor, cur),
                "closing": from_minor(cs.closing_minor, cur),
                "closing_minor": cs.closing_minor,
                "closing_payable": from_minor(cs.closing_payable_minor, cur),
                "closing_held": from_minor(cs.closing_held_minor, cur),
            }
        )
    return {
        "partner_id": st.partner.pk,
        "partner_name": st.partner.display_name,
        "date_from": st.date_from,
        "date_to": st.date_to,
        "currencies": currencies,
    }


def download(st, kind: str) -> HttpResponse:
    """The statement as CSV or PDF, as an attachment."""
    stem = exports.file_stem(st)
    if kind == "pdf":
        response = HttpResponse(exports.statement_pdf(st), content_type="application/pdf")
    else:
        response = HttpResponse(exports.statement_csv(st), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{kind}"'
    return response


@router.get(
    "/statements/{partner_id}/csv",
    response={200: None, **R},
    summary="A partner's incentive statement as CSV",
)
def statement_csv(request, partner_id: ObjectId, query: Query[IncentiveStatementQuery]):
    return download(_statement(request, partner_id, query), "csv")


@router.get(
    "/statements/{partner_id}/pdf",
    response={200: None, **R},
    summary="A partner's incentive statement as PDF",
)
def statement_pdf(request, partner_id: ObjectId, query: Query[IncentiveStatementQuery]):
    return download(_statement(request, partner_id, query), "pdf")


# --- accrual runs and customer payments ---------------------------------------------------------


@router.post(
    "/accrual-runs", response={201: AccrualRunOut, **R}, summary="Accrue everything new now"
)
def accrual_run_create(request, payload: AccrualRunIn):
    """Commissions, credit-note reversals, MDF accruals, commission releases and referral
    fees for every billing line and customer payment since the last run."""
    require(request.auth, "incentives.run_accrual", None, FINANCE_ONLY)
    run = services.accrual_run(actor=request.auth, on=payload.on)
    return Status(201, selectors.accrual_runs().get(pk=run.pk))


@router.get("/accrual-runs", response={200: list[AccrualRunOut], **R}, summary="Accrual runs")
@paginate(Pagination)
def accrual_run_list(request):
    require(request.auth, "incentives.view_runs", None, STAFF_ONLY)
    return selectors.accrual_runs()


@router.post(
    "/customer-payments",
    response={200: PaymentsReportOut, **R},
    summary="Import customer payments (JSON rows)",
)
def customer_payments_import(request, payload: PaymentsImportIn):
    """Rows: external_id, billing_line (its external id), amount, paid_on. All or nothing:
    any bad row answers 400 with one entry per error, ``loc`` = ``["body", "rows", <index>,
    <column>]`` (index from 0) and ``msg`` naming the row (counted from 1); nothing is
    stored. Idempotent by external_id (identical rows count as unchanged)."""
    require(request.auth, "incentives.import_customerpayment", None, FINANCE_ONLY)
    rows = [{k: v for k, v in r.dict().items() if v is not None} for r in payload.rows]
    report = services.customer_payments_import(rows=rows, actor=request.auth)
    if report.refused:
        details = [
            {
                "loc": ["body", "rows", e["row"] - 1, e["column"]],
                "msg": f"Row {e['row']}, {e['column']}: {e['message']}",
                "type": "invalid_row",
            }
            for e in report.errors[:MAX_REPORTED_ERRORS]
        ]
        if len(report.errors) > MAX_REPORTED_ERRORS:
            details.append(
                {
                    "loc": ["body", "rows"],
                    "msg": f"... and {len(report.errors) - MAX_REPORTED_ERRORS} more errors.",
                    "type": "too_many_errors",
                }
            )
        return api.create_response(request, {"detail": details}, status=400)
    return {"rows": report.rows, "created": report.created, "unchanged": report.unchanged}


# --- referral elections ---------------------------------------------------------------------


@router.get(
    "/referral-elections",
    response={200: list[ElectionOut], **R},
    summary="Referral benefit elections (history, newest first)",
)
@paginate(Pagination)
def election_list(request, filters: Query[ElectionFilter]):
    require(request.auth, "incentives.view_incentives", None)
    return selectors.election_list(fetched_by=request.auth, partner_id=filters.partner_id)


@router.post(
    "/referral-elections",
    response={201: ElectionOut, **R},
    summary="Elect referral fees or a customer discount (for later referrals only)",
)
def election_create(request, payload: ElectionIn):
    """Applies to referrals submitted on or after ``effective_from`` (today by default, never
    in the past); earlier referrals keep the benefit elected when they were made."""
    partner = _acting_partner(request, payload.partner_id)
    require(request.auth, "incentives.elect_referral", partner, ELECTORS_ONLY)
    election = services.referral_election_create(
        partner=partner,
        choice=payload.choice,
        effective_from=payload.effective_from,
        program_key=payload.program,
        reason=payload.reason,
        actor=request.auth,
    )
    return Status(201, selectors.election_list(fetched_by=request.auth).get(pk=election.pk))


# --- rebates ------------------------------------------------------------------------------------


@router.post("/rebates/close", response={201: RebateCloseOut, **R}, summary="Close a rebate period")
def rebate_close(request, payload: RebateCloseIn):
    """Accrues the rebate of every partner for the ended period containing ``period_day``;
    once per period (409 when already closed)."""
    require(request.auth, "incentives.close_rebate", None, FINANCE_ONLY)
    program = _program(payload.program)
    close = services.rebate_close(
        program=program,
        rebate_key=payload.rebate,
        period_day=payload.period_day,
        actor=request.auth,
    )
    return Status(201, selectors.rebate_closes().get(pk=close.pk))


@router.get("/rebates/closes", response={200: list[RebateCloseOut], **R}, summary="Rebate closes")
@paginate(Pagination)
def rebate_close_list(request):
    require(request.auth, "incentives.view_runs", None, STAFF_ONLY)
    return selectors.rebate_closes()


# --- SPIFFs ---------------------------------------------------------------------------------


@router.get("/spiffs", response={200: list[SpiffOut], **R}, summary="SPIFF campaigns")
@paginate(Pagination)
def spiff_list(request, filters: Query[SpiffFilter]):
    require(request.auth, "incentives.view_spiffcampaign", None)
    return selectors.campaign_list(open_on=filters.open_on)


@router.post("/spiffs", response={201: SpiffOut, **R}, summary="Create a SPIFF campaign")
def spiff_create(request, payload: SpiffIn):
    require(request.auth, "incentives.add_spiffcampaign", None, FINANCE_ONLY)
    from partnerhub.sales.models import Product

    program = _program(payload.program)
    products = list(Product.objects.filter(sku__in=payload.products))
    unknown = sorted(set(payload.products) - {p.sku for p in products})
    if unknown:
        raise ServiceError(f"No products {', '.join(unknown)}.", field="products")
    campaign = services.spiff_campaign_create(
        program=program,
        name=payload.name,
        description=payload.description,
        basis=payload.basis,
        products=products,
        eligible_tiers=payload.eligible_tiers,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        bounty=payload.bounty,
        currency=payload.currency,
        max_claims_per_partner=payload.max_claims_per_partner,
        actor=request.auth,
    )
    return Status(201, selectors.campaign_list().get(pk=campaign.pk))


@router.post(
    "/spiffs/{spiff_id}/claims",
    response={201: SpiffClaimOut, **R},
    summary="Claim a SPIFF bounty for a sale or an activity",
)
def spiff_claim(request, spiff_id: ObjectId, payload: SpiffClaimIn):
    from partnerhub.sales.models import BillingLine

    campaign = selectors.campaign_get(campaign_id=spiff_id)
    partner = _acting_partner(request, payload.partner_id)
    require(request.auth, "incentives.claim_spiff", partner, CLAIMERS_ONLY)
    line = None
    if payload.billing_line:
        line = BillingLine.objects.filter(partner=partner, external_id=payload.billing_line).first()
        if line is None:
            raise ServiceError(
                f"{partner.display_name} has no billing line {payload.billing_line!r}.",
                field="billing_line",
            )
    claim = services.spiff_claim_submit(
        campaign=campaign,
        partner=partner,
        billing_line=line,
        activity=payload.activity,
        activity_on=payload.activity_on,
        actor=request.auth,
    )
    return Status(201, selectors.claim_get(fetched_by=request.auth, claim_id=claim.pk))


@router.get("/spiff-claims", response={200: list[SpiffClaimOut], **R}, summary="SPIFF claims")
@paginate(Pagination)
def spiff_claim_list(request, filters: Query[SpiffClaimFilter]):
    require(request.auth, "incentives.view_incentives", None)
    return selectors.claim_list(fetched_by=request.auth, **filters.dict())


@router.post(
    "/spiff-claims/{spiff_claim_id}/decision",
    response={200: SpiffClaimOut, **R},
    summary="Approve (accrue the bounty) or reject (with a reason) a SPIFF claim",
)
def spiff_claim_decision(request, spiff_claim_id: ObjectId, payload: SpiffDecisionIn):
    claim = selectors.claim_get(fetched_by=request.auth, claim_id=spiff_claim_id)
    require(request.auth, "incentives.decide_spiffclaim", claim.partner, DECIDERS_ONLY)
    services.spiff_claim_decide(
        claim=claim, approve=payload.approve, reason=payload.reason, actor=request.auth
    )
    return selectors.claim_get(fetched_by=request.auth, claim_id=claim.pk)


# --- adjustments and payouts --------------------------------------------------------------


@router.post(
    "/adjustments",
    response={201: LedgerEntryOut, **R},
    summary="A manual, signed, reasoned ledger entry",
)
def adjustment_create(request, payload: AdjustmentIn):
    partner = partner_get(fetched_by=request.auth, partner_id=payload.partner_id)
    require(request.auth, "incentives.add_adjustment", partner, FINANCE_ONLY)
    entry = services.adjustment_create(
        partner=partner,
        kind=payload.kind,
        amount=payload.amount,
        currency=payload.currency,
        booked_on=payload.booked_on,
        reason=payload.reason,
        program=_program(payload.program),
        actor=request.auth,
    )
    return Status(201, selectors.entry_list(fetched_by=request.auth).get(pk=entry.pk))


@router.post(
    "/payout-runs",
    response={200: PayoutOut, 201: PayoutOut, **R},
    summary="Pay every payable balance up to a day (once per reference)",
)
def payout_run_create(request, payload: PayoutIn):
    """201 with the new run; the same reference again answers 200 with the first run and
    pays nothing (409 when it was made for another day or currency)."""
    require(request.auth, "incentives.run_payout", None, FINANCE_ONLY)
    run, created = services.payout_run(
        reference=payload.reference,
        as_of=payload.as_of,
        currency=payload.currency or "",
        actor=request.auth,
    )
    return Status(201 if created else 200, selectors.payout_runs().get(pk=run.pk))


@router.get("/payout-runs", response={200: list[PayoutOut], **R}, summary="Payout runs")
@paginate(Pagination)
def payout_run_list(request):
    require(request.auth, "incentives.view_runs", None, STAFF_ONLY)
    return selectors.payout_runs()
