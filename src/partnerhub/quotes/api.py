"""/api/v1/quotes: price previews, quotes (create, list, detail, accept), credit lines (staff
keep them, partners read their own) and NFR purchases. Thin handlers over selectors and
services; every permission question goes to core.permissions."""

from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import membership, require
from partnerhub.core.schemas import ObjectId, Pagination
from partnerhub.partners.selectors import partner_get
from partnerhub.quotes import selectors, services
from partnerhub.quotes.schemas import (
    CreditLineIn,
    CreditLineOut,
    CreditStatusOut,
    NfrIn,
    NfrOut,
    PurchasePathLiteral,
    QuoteDetailOut,
    QuoteIn,
    QuoteOut,
    QuotePreviewOut,
    QuoteStatusLiteral,
)

router = Router(tags=["quotes"])
R = ERROR_RESPONSES

QUOTERS_ONLY = "Only the partner's own people and its vendor managers ask for its quotes."
CREDIT_KEEPERS = "Only program admins and finance keep credit lines."


class QuoteFilter(Schema):
    partner_id: int | None = None
    status: QuoteStatusLiteral | None = None
    purchase_path: PurchasePathLiteral | None = None


class NfrFilter(Schema):
    partner_id: int | None = None


def _partner(request, partner_id: int | None):
    """The partner a request acts for: the one named (if visible), else the caller's own."""
    m = membership(request.auth)
    if partner_id is None and m is not None:
        partner_id = m.partner_id
    if partner_id is None:
        raise ServiceError("Say which partner this is for.", field="partner_id")
    return partner_get(fetched_by=request.auth, partner_id=partner_id)


def _quote_data(payload: QuoteIn) -> dict:
    data = payload.dict()
    data.pop("partner_id")
    data["lines"] = [line.dict() for line in payload.lines]
    return data


@router.post(
    "/price",
    response={200: QuotePreviewOut, **R},
    summary="Price a quote without saving it (every discount step shown)",
)
def quote_price(request, payload: QuoteIn):
    """The price the partner's tier (held on the quote date), its protected registration and
    the purchase path entitle it to. A direct purchase without enough credit is priced and
    answered with ``direct_allowed: false`` and the authorised distributors."""
    partner = _partner(request, payload.partner_id)
    require(request.auth, "quotes.view_quote", partner)
    priced = services.quote_price(partner=partner, data=_quote_data(payload))
    return services.as_input(priced)


@router.post("", response={201: QuoteDetailOut, **R}, summary="Create a quote")
def quote_create(request, payload: QuoteIn):
    partner = _partner(request, payload.partner_id)
    require(request.auth, "quotes.add_quote", partner, QUOTERS_ONLY)
    quote = services.quote_create(
        partner=partner, data=_quote_data(payload), created_by=request.auth
    )
    return Status(201, selectors.quote_get(fetched_by=request.auth, quote_id=quote.pk))


@router.get("", response={200: list[QuoteOut], **R}, summary="List quotes")
@paginate(Pagination)
def quote_list(request, filters: Query[QuoteFilter]):
    """Partner users see their organisation's quotes; staff those of the partners they see."""
    return selectors.quote_list(fetched_by=request.auth, **filters.dict())


@router.get(
    "/credit-lines",
    response={200: list[CreditLineOut], **R},
    summary="List credit lines",
)
@paginate(Pagination)
def credit_line_list(request):
    return selectors.credit_line_list(fetched_by=request.auth)


@router.get(
    "/partners/{partner_id}/credit",
    response={200: CreditStatusOut, **R},
    summary="A partner's credit line and the credit used",
)
def credit_status(request, partner_id: ObjectId):
    """``credit_line`` is null when the partner has none. Used = direct billing lines of the
    last 90 days (net) + accepted direct quotes of the last 30 days, in its currency."""
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "quotes.view_creditline", partner)
    status = selectors.credit_status(partner)
    line = status["credit_line"]
    return {
        "partner_id": partner.pk,
        "on": status["on"],
        "credit_line": line,
        "used": str(from_minor(status["used_minor"], line.currency)) if line else None,
        "available": str(from_minor(status["available_minor"], line.currency)) if line else None,
        "expired": status["expired"],
    }


@router.post(
    "/partners/{partner_id}/credit-line",
    response={200: CreditLineOut, **R},
    summary="Record or change a partner's credit line (DUNS required)",
)
def credit_line_set(request, partner_id: ObjectId, payload: CreditLineIn):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "quotes.change_creditline", partner, CREDIT_KEEPERS)
    line = services.credit_line_set(partner=partner, data=payload.dict(), approved_by=request.auth)
    return selectors.credit_line_of(line.partner)


@router.delete(
    "/partners/{partner_id}/credit-line",
    response={204: None, **R},
    summary="Remove a partner's credit line",
)
def credit_line_remove(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "quotes.change_creditline", partner, CREDIT_KEEPERS)
    services.credit_line_remove(partner=partner)
    return Status(204, None)


@router.post("/nfr", response={201: NfrOut, **R}, summary="Order not-for-resale units")
def nfr_order(request, payload: NfrIn):
    """Under the program's NFR policy: products of its NFR category, at most ``max_units``
    per partner (renewals excepted), a required bundle, the NFR and renewal discounts."""
    partner = _partner(request, payload.partner_id)
    require(request.auth, "quotes.add_nfrpurchase", partner, QUOTERS_ONLY)
    data = payload.dict()
    data.pop("partner_id")
    purchase = services.nfr_order(partner=partner, data=data, created_by=request.auth)
    return Status(201, selectors.nfr_list(fetched_by=request.auth).get(pk=purchase.pk))


@router.get("/nfr", response={200: list[NfrOut], **R}, summary="List NFR purchases")
@paginate(Pagination)
def nfr_list(request, filters: Query[NfrFilter]):
    return selectors.nfr_list(fetched_by=request.auth, partner_id=filters.partner_id)


@router.get("/{quote_id}", response={200: QuoteDetailOut, **R}, summary="A quote with its lines")
def quote_get(request, quote_id: ObjectId):
    return selectors.quote_get(fetched_by=request.auth, quote_id=quote_id)


@router.post(
    "/{quote_id}/accept",
    response={200: QuoteDetailOut, **R},
    summary="Accept a draft quote within its validity",
)
def quote_accept(request, quote_id: ObjectId):
    """A direct quote needs the credit at acceptance: 409 with the figures otherwise."""
    quote = selectors.quote_get(fetched_by=request.auth, quote_id=quote_id)
    require(request.auth, "quotes.change_quote", quote.partner, QUOTERS_ONLY)
    services.quote_accept(quote=quote, accepted_by=request.auth)
    return selectors.quote_get(fetched_by=request.auth, quote_id=quote_id)
