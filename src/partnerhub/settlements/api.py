"""/api/v1/settlements: site-host contracts, settlement runs, statements (lines, per-session
lines, CSV and PDF exports, payments), running figures and end-user receipts. Thin handlers
over selectors and services; every permission question goes to core.permissions."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import require
from partnerhub.core.schemas import ObjectId, Pagination
from partnerhub.partners.selectors import partner_get
from partnerhub.settlements import exports, selectors, services
from partnerhub.settlements.schemas import (
    CONTRACT_FEES,
    ContractIn,
    ContractOut,
    ContractPatch,
    IssuedReceiptOut,
    LineOut,
    MonthText,
    PaymentIn,
    PaymentOut,
    ReceiptOut,
    RunIn,
    RunningOut,
    RunOut,
    SessionLineOut,
    StatementDetailOut,
    StatementOut,
)

router = Router(tags=["settlements"])
R = ERROR_RESPONSES

CONTRACT_KEEPERS = "Only program admins and the partner's manager change its contracts."
FINANCE_ONLY = "Only finance and program admins do this."


class StatementFilter(Schema):
    month: MonthText | None = None
    partner_id: ObjectId | None = None
    status: Literal["draft", "final"] | None = None


class MonthQuery(Schema):
    month: MonthText | None = None


class ReceiptQuery(Schema):
    month: MonthText | None = None
    supplier: Literal["operator", "partner"] | None = None
    partner_id: ObjectId | None = None


class IssuedReceiptQuery(Schema):
    month: MonthText | None = None
    driver_id: ObjectId | None = None
    currency: str | None = Field(default=None, max_length=3)


def _month(value: str | None, field: str = "month") -> dt.date:
    if value is None:
        return timezone.now().date().replace(day=1)
    return services.parse_month(value, field=field)


def _contract_data(payload) -> dict:
    data = payload.dict(exclude_unset=True)
    for name in CONTRACT_FEES:
        if name in data and data[name] is None:
            data.pop(name)
    return data


# --- contracts ---------------------------------------------------------------------------------


@router.get(
    "/partners/{partner_id}/contracts",
    response={200: list[ContractOut], **R},
    summary="A partner's site-host contracts",
)
def contract_list(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "settlements.view_contract", partner)
    return list(selectors.contract_list(fetched_by=request.auth, partner_id=partner.pk))


@router.post(
    "/partners/{partner_id}/contracts",
    response={201: ContractOut, **R},
    summary="Create a site-host contract",
)
def contract_create(request, partner_id: ObjectId, payload: ContractIn):
    """Refused (409) when it overlaps another contract of the partner."""
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "settlements.change_contract", partner, CONTRACT_KEEPERS)
    contract = services.contract_create(
        partner=partner, data=_contract_data(payload), created_by=request.auth
    )
    return Status(201, contract)


@router.get(
    "/contracts/{contract_id}", response={200: ContractOut, **R}, summary="A site-host contract"
)
def contract_get(request, contract_id: ObjectId):
    return selectors.contract_get(fetched_by=request.auth, contract_id=contract_id)


@router.patch(
    "/contracts/{contract_id}", response={200: ContractOut, **R}, summary="Change a contract"
)
def contract_update(request, contract_id: ObjectId, payload: ContractPatch):
    """Final statements keep their figures; later runs (and adjustments) use the new terms."""
    contract = selectors.contract_get(fetched_by=request.auth, contract_id=contract_id)
    require(request.auth, "settlements.change_contract", contract.partner, CONTRACT_KEEPERS)
    data = _contract_data(payload)
    for name, value in list(data.items()):
        if value is None and name != "terminated_after":
            from partnerhub.core.errors import ServiceError

            raise ServiceError("This field cannot be null.", field=name)
    return services.contract_update(contract=contract, data=data, updated_by=request.auth)


# --- runs --------------------------------------------------------------------------------------


@router.get("/runs", response={200: list[RunOut], **R}, summary="Settlement runs")
@paginate(Pagination)
def run_list(request):
    require(request.auth, "settlements.view_settlementrun", None, "Vendor staff only.")
    return selectors.run_list()


@router.post(
    "/runs", response={201: RunOut, **R}, summary="Settle a month (drafts re-run; finalise)"
)
def run_create(request, payload: RunIn):
    """Queues the month's settlement for every partner (a background task); drafts are
    deleted and recomputed, final statements stay. With ``finalise`` the drafts are then
    numbered and frozen; with ``recompute: false`` as well, the drafts are finalised as they
    are (what was reviewed), which at scale writes every per-session line of the month."""
    require(request.auth, "settlements.run_settlement", None, FINANCE_ONLY)
    month = _month(payload.month)
    run = services.settlement_run_create(
        month=month, finalise=payload.finalise, recompute=payload.recompute, by=request.auth
    )
    from partnerhub.settlements.tasks import run_settlement

    transaction.on_commit(lambda: run_settlement.enqueue(run_id=run.pk))
    return Status(201, run)


@router.get("/runs/{run_id}", response={200: RunOut, **R}, summary="A settlement run")
def run_get(request, run_id: ObjectId):
    require(request.auth, "settlements.view_settlementrun", None, "Vendor staff only.")
    return selectors.run_get(run_id)


# --- statements --------------------------------------------------------------------------------


@router.get("/statements", response={200: list[StatementOut], **R}, summary="Statements")
@paginate(Pagination)
def statement_list(request, filters: Query[StatementFilter]):
    month = _month(filters.month) if filters.month else None
    return selectors.statement_list(
        fetched_by=request.auth, month=month, partner_id=filters.partner_id, status=filters.status
    )


@router.get(
    "/partners/{partner_id}/statements",
    response={200: list[StatementOut], **R},
    summary="A partner's statements",
)
@paginate(Pagination)
def partner_statement_list(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "settlements.view_statement", partner)
    return selectors.statement_list(fetched_by=request.auth, partner_id=partner.pk)


def _statement(request, statement_id: int):
    try:
        statement = selectors.statement_get(fetched_by=request.auth, statement_id=statement_id)
    except Http404:
        now = selectors.statement_replacing(fetched_by=request.auth, statement_id=statement_id)
        if now is None:
            raise
        raise Http404(
            f"Statement {statement_id} was a draft that a new run of {now.month:%Y-%m} "
            f"replaced: that partner's statement of the month is now {now.pk}."
        ) from None
    require(request.auth, "settlements.view_statement", statement.partner)
    return statement


@router.get(
    "/statements/{statement_id}", response={200: StatementDetailOut, **R}, summary="A statement"
)
def statement_get(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    if statement.is_final:
        statement.open_balance = from_minor(
            services.open_balance_minor(statement), statement.currency
        )
    return statement


def line_out(data: dict, currency: str) -> dict:
    currency = data.get("currency") or currency

    def money(name: str) -> Decimal:
        return from_minor(data[name], currency)

    month = data.get("original_month")
    return {
        "id": data.get("id"),
        "kind": data["kind"],
        "description": data["description"],
        "currency": currency,
        "current_type": data["current_type"],
        "is_adjustment": data["is_adjustment"],
        "original_month": f"{month:%Y-%m}" if month else None,
        "sessions": data["sessions"],
        "flagged_sessions": data["flagged_sessions"],
        "energy_kwh": Decimal(data["energy_wh"]) / 1000,
        "quantity": data["quantity"],
        "asset_days": data["asset_days"],
        "rate_percent": Decimal(data["rate_bp"]) / 100,
        "unit": money("unit_minor"),
        "revenue": money("revenue_minor"),
        "excluded_connection_fee": money("connection_fee_minor"),
        "electricity_cost": money("electricity_minor"),
        "electricity_deducted": money("deducted_minor"),
        "shareable": money("shareable_minor"),
        "partner_share": money("partner_share_minor"),
        "operator_share": money("operator_share_minor"),
        "reimbursement": money("reimbursement_minor"),
        "fee": money("fee_minor"),
        "discount": money("discount_minor"),
        "charged_excl_vat": money("charged_minor"),
        "vat": money("vat_minor"),
        "amount": money("amount_minor"),
    }


@router.get(
    "/statements/{statement_id}/lines",
    response={200: list[LineOut], **R},
    summary="A statement's lines",
)
def statement_lines(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    out = []
    for line in selectors.statement_lines(statement):
        data = {f.attname: getattr(line, f.attname) for f in type(line)._meta.concrete_fields}
        data["description"] = line.description
        out.append(line_out(data, statement.currency))
    return out


@router.get(
    "/statements/{statement_id}/sessions",
    response={200: list[SessionLineOut], **R},
    summary="A statement's per-session lines",
)
@paginate(Pagination)
def statement_sessions(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    return _SessionLines(selectors.statement_sessions(statement), statement.currency)


class _SessionLines:
    """Lazy page of per-session lines shaped for the API."""

    AMOUNTS = {
        "revenue": "revenue_minor",
        "excluded_connection_fee": "connection_fee_minor",
        "electricity_cost": "electricity_minor",
        "electricity_deducted": "deducted_minor",
        "shareable": "shareable_minor",
        "partner_share": "partner_share_minor",
        "operator_share": "operator_share_minor",
        "reimbursement": "reimbursement_minor",
        "session_fee": "session_fee_minor",
        "kwh_fee": "kwh_fee_minor",
        "handling_fee": "handling_fee_minor",
        "discount": "discount_minor",
        "charged_excl_vat": "charged_minor",
        "vat": "vat_minor",
        "amount": "amount_minor",
    }

    def __init__(self, qs, currency):
        self.qs, self.currency = qs, currency

    def __len__(self):
        return self.qs.count()

    def count(self):
        return self.qs.count()

    def __getitem__(self, item):
        out = []
        for ss in self.qs[item]:
            row = {
                "session_id": ss.session_id,
                "cdr_id": ss.session.cdr_id,
                "start": ss.session.start,
                "kind": ss.kind,
                "currency": ss.session.currency,
                "is_adjustment": ss.is_adjustment,
                "original_month": f"{ss.original_month:%Y-%m}",
                "current_type": ss.current_type,
                "flagged": ss.flagged,
                "energy_kwh": Decimal(ss.energy_wh) / 1000,
                "rate_percent": Decimal(ss.rate_bp) / 100,
            }
            for name, column in self.AMOUNTS.items():
                row[name] = from_minor(getattr(ss, column), ss.session.currency)
            out.append(row)
        return out


@router.post(
    "/statements/{statement_id}/finalise",
    response={200: StatementDetailOut, **R},
    summary="Finalise a draft statement (numbered, then immutable)",
)
def statement_finalise(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    require(request.auth, "settlements.finalise_statement", statement.partner, FINANCE_ONLY)
    statement = services.statement_finalise(statement=statement, by=request.auth)
    statement.open_balance = from_minor(statement.net_minor, statement.currency)
    return statement


@router.get(
    "/statements/{statement_id}/csv",
    response={200: None, **R},
    summary="Export a statement's lines as CSV",
)
def statement_csv(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    response = HttpResponse(exports.statement_csv(statement), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{exports.file_stem(statement)}.csv"'
    return response


@router.get(
    "/statements/{statement_id}/sessions-csv",
    response={200: None, **R},
    summary="Export a statement's per-session lines as CSV",
)
def statement_sessions_csv(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    response = StreamingHttpResponse(exports.sessions_csv(statement), content_type="text/csv")
    name = f"{exports.file_stem(statement)}-sessions.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get(
    "/statements/{statement_id}/pdf",
    response={200: None, **R},
    summary="The statement as PDF",
)
def statement_pdf(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    response = HttpResponse(exports.statement_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{exports.file_stem(statement)}.pdf"'
    return response


@router.get(
    "/statements/{statement_id}/payments",
    response={200: list[PaymentOut], **R},
    summary="Payments recorded against a statement",
)
def payment_list(request, statement_id: ObjectId):
    statement = _statement(request, statement_id)
    return list(selectors.payments(statement).select_related("statement"))


@router.post(
    "/statements/{statement_id}/payments",
    response={201: PaymentOut, **R},
    summary="Record a payment received from or made to the partner",
)
def payment_create(request, statement_id: ObjectId, payload: PaymentIn):
    statement = _statement(request, statement_id)
    require(request.auth, "settlements.add_payment", statement.partner, FINANCE_ONLY)
    payment = services.payment_record(
        statement=statement,
        direction=payload.direction,
        paid_on=payload.paid_on,
        amount=payload.amount,
        note=payload.note,
        allow_excess=payload.allow_excess,
        by=request.auth,
    )
    return Status(201, payment)


# --- running figures and receipts ----------------------------------------------------------------


@router.get(
    "/partners/{partner_id}/running",
    response={200: RunningOut, **R},
    summary="A month's running figures (default: the current month)",
)
def running(request, partner_id: ObjectId, query: Query[MonthQuery]):
    """Computed now exactly as a settlement run would, nothing kept; the final statement
    when the month is already settled."""
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "settlements.view_statement", partner)
    figures = selectors.running_figures(partner=partner, month=_month(query.month))
    cur = figures.currency
    return {
        "partner_id": figures.partner_id,
        "month": f"{figures.month:%Y-%m}",
        "currency": cur,
        "status": figures.status,
        "number": figures.number,
        "warning": figures.warning,
        "totals": {
            name.removesuffix("_minor"): (
                from_minor(value, cur) if name.endswith("_minor") else Decimal(value)
            )
            for name, value in figures.totals.items()
        },
        "lines": [line_out(line, cur) for line in figures.lines],
    }


def _issued(request, partner_id: int, query: IssuedReceiptQuery) -> list:
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "settlements.view_receipts", partner)
    found = selectors.issued_receipts(partner=partner, month=_month(query.month))
    return [
        (driver, receipt)
        for driver, receipt in found
        if query.driver_id in (None, driver.pk) and query.currency in (None, receipt["currency"])
    ]


@router.get(
    "/partners/{partner_id}/issued-receipts",
    response={200: list[IssuedReceiptOut], **R},
    summary="The receipts of a month issued in the partner's name (it is the supplier)",
)
def issued_receipts(request, partner_id: ObjectId, query: Query[IssuedReceiptQuery]):
    """Sessions at the partner's charge points paid by card or corporate billing, while its
    contract makes it the supplier on receipts: one receipt per driver and currency, as the
    driver gets it. Filter with ``driver_id`` and ``currency``."""
    return [
        {**receipt, "driver_id": driver.pk, "driver_external_id": driver.external_id}
        for driver, receipt in _issued(request, partner_id, query)
    ]


def _driver(request, driver_id: int):
    driver = selectors.driver_get(fetched_by=request.auth, driver_id=driver_id)
    if driver.partner is not None:
        require(request.auth, "settlements.view_receipts", driver.partner)
    return driver


@router.get(
    "/drivers/{driver_id}/receipts",
    response={200: list[ReceiptOut], **R},
    summary="A driver's receipts of a month, one per supplier",
)
def receipts(request, driver_id: ObjectId, query: Query[ReceiptQuery]):
    driver = _driver(request, driver_id)
    return selectors.driver_receipts(driver=driver, month=_month(query.month))


@router.get(
    "/drivers/{driver_id}/receipts/pdf",
    response={200: None, **R},
    summary="One receipt of a month as PDF (supplier: operator, or partner with partner_id)",
)
def receipt_pdf(request, driver_id: ObjectId, query: Query[ReceiptQuery]):
    driver = _driver(request, driver_id)
    found = selectors.driver_receipts(driver=driver, month=_month(query.month))
    wanted = query.supplier or (found[0]["supplier"]["kind"] if found else "operator")
    for receipt in found:
        supplier = receipt["supplier"]
        if supplier["kind"] == wanted and (
            wanted == "operator" or query.partner_id in (None, supplier["partner_id"])
        ):
            response = HttpResponse(
                exports.receipt_pdf(receipt, driver), content_type="application/pdf"
            )
            name = f"receipt-{receipt['month']:%Y-%m}-{supplier['partner_id'] or 'operator'}.pdf"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    if wanted == "operator":  # no session this month: an empty receipt of the operator
        empty = {
            "supplier": {"kind": "operator", "partner_id": None, **selectors.operator_identity()},
            "month": _month(query.month),
            "currency": "",
            "sessions": [],
            "total_excl_vat": Decimal(0),
            "vat": Decimal(0),
            "total_incl_vat": Decimal(0),
        }
        response = HttpResponse(exports.receipt_pdf(empty, driver), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="receipt-operator.pdf"'
        return response
    raise Http404("No receipt of this supplier in that month.")
