"""/api/v1/mdf: market development funds. Partners request funds for an activity and claim
them with proof of performance; the staff who manage the partner decide; program admins and
finance allocate funds and run the expiry. Thin handlers over selectors and services; every
permission question goes to core.permissions."""

from django.http import FileResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import membership, require
from partnerhub.core.schemas import ObjectId, Pagination, ShortText
from partnerhub.mdf import selectors, services
from partnerhub.mdf.schemas import (
    ClaimStatus,
    Key,
    MdfAllocationIn,
    MdfAllocationOut,
    MdfApproveIn,
    MdfClaimOut,
    MdfExpireIn,
    MdfExpiryRunOut,
    MdfFundOut,
    MdfOptionalReasonIn,
    MdfReasonIn,
    MdfRequestIn,
    MdfRequestOut,
    RequestDetailOut,
    RequestStatus,
)
from partnerhub.partners.selectors import partner_get
from partnerhub.programs.models import Program

router = Router(tags=["mdf"])
R = ERROR_RESPONSES

REQUESTERS_ONLY = "Only the partner's own people and its vendor managers request and claim MDF."
REVIEWERS_ONLY = "Only the vendor staff who manage this partner decide on its MDF."
ALLOCATORS_ONLY = "Only program admins and finance allocate MDF."


class MdfRequestFilter(Schema):
    status: RequestStatus | None = None
    partner_id: ObjectId | None = None
    program: ShortText(64) | None = None


class MdfClaimFilter(Schema):
    status: ClaimStatus | None = None
    partner_id: ObjectId | None = None


class MdfFundFilter(Schema):
    program: Key | None = None


def _request(request, request_id: int):
    return selectors.request_get(fetched_by=request.auth, request_id=request_id)


def _claim(request, claim_id: int):
    return selectors.claim_get(fetched_by=request.auth, claim_id=claim_id)


def fund_rows(partner_id: int, program_id: int | None = None) -> list[dict]:
    programs = dict(Program.objects.values_list("pk", "key"))
    return [
        {
            "program": programs.get(f.program_id, ""),
            "currency": f.currency,
            "fund": str(from_minor(f.fund_minor, f.currency)),
            "committed": str(from_minor(f.committed_minor, f.currency)),
            "available": str(from_minor(f.available_minor, f.currency)),
            "reimbursed": str(from_minor(f.reimbursed_minor, f.currency)),
            "payable": str(from_minor(f.payable_minor, f.currency)),
        }
        for f in services.funds(partner_id=partner_id, program_id=program_id)
    ]


@router.get(
    "/partners/{partner_id}/balance",
    response={200: list[MdfFundOut], **R},
    summary="A partner's MDF: fund, committed, available, reimbursed (per program, currency)",
)
def balance(request, partner_id: ObjectId, filters: Query[MdfFundFilter]):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "mdf.view_mdf", partner)
    program_id = None
    if filters.program:
        program_id = Program.objects.filter(key=filters.program).values_list("pk", flat=True)
        program_id = program_id.first() or -1
    return fund_rows(partner.pk, program_id)


@router.get(
    "/partners/{partner_id}/allocations",
    response={200: list[MdfAllocationOut], **R},
    summary="A partner's MDF allocations",
)
@paginate(Pagination)
def allocation_list(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "mdf.view_mdf", partner)
    return selectors.allocation_list(fetched_by=request.auth, partner_id=partner.pk)


@router.post(
    "/allocations",
    response={201: MdfAllocationOut, **R},
    summary="Allocate MDF to a partner for a fiscal quarter",
)
def allocation_create(request, payload: MdfAllocationIn):
    require(request.auth, "mdf.allocate_mdf", None, ALLOCATORS_ONLY)
    partner = partner_get(fetched_by=request.auth, partner_id=payload.partner_id)
    allocation = services.allocation_create(
        partner=partner,
        program=payload.program,
        quarter_start=payload.quarter_start,
        amount=payload.amount,
        currency=payload.currency,
        reason=payload.reason,
        created_by=request.auth,
    )
    return Status(201, allocation)


@router.get("/requests", response={200: list[MdfRequestOut], **R}, summary="List MDF requests")
@paginate(Pagination)
def request_list(request, filters: Query[MdfRequestFilter]):
    """Partner users see their organisation's requests; staff those of partners they see."""
    return selectors.request_list(fetched_by=request.auth, **filters.dict())


@router.post(
    "/requests",
    response={201: RequestDetailOut, **R},
    summary="Request MDF for a marketing activity",
)
def request_create(request, payload: MdfRequestIn):
    """The requested amount is the budget × the vendor share (the program's, 50% unless it
    says otherwise), rounded half-up."""
    data = payload.dict()
    partner_id = data.pop("partner_id")
    m = membership(request.auth)
    if m is not None and partner_id is None:
        partner_id = m.partner_id
    if partner_id is None:
        raise ServiceError("Say which partner requests the funds.", field="partner_id")
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "mdf.request_mdf", partner, REQUESTERS_ONLY)
    req = services.request_create(partner=partner, data=data, submitted_by=request.auth)
    return Status(201, _request(request, req.pk))


@router.get(
    "/requests/{request_id}",
    response={200: RequestDetailOut, **R},
    summary="An MDF request with its claims",
)
def request_get(request, request_id: ObjectId):
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/approve",
    response={200: RequestDetailOut, **R},
    summary="Approve an MDF request (at most the available funds)",
)
def request_approve(request, request_id: ObjectId, payload: MdfApproveIn):
    """409 with the figures when the amount exceeds the partner's available MDF (fund minus
    the amounts approved on requests not yet reimbursed)."""
    req = _request(request, request_id)
    require(request.auth, "mdf.review_mdf", req.partner, REVIEWERS_ONLY)
    services.request_approve(
        request=req, approved_by=request.auth, amount=payload.amount, reason=payload.reason
    )
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/reject",
    response={200: RequestDetailOut, **R},
    summary="Reject an MDF request (reason required)",
)
def request_reject(request, request_id: ObjectId, payload: MdfReasonIn):
    req = _request(request, request_id)
    require(request.auth, "mdf.review_mdf", req.partner, REVIEWERS_ONLY)
    services.request_reject(request=req, rejected_by=request.auth, reason=payload.reason)
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/close",
    response={200: RequestDetailOut, **R},
    summary="Withdraw a request, or give back an approved one that will not be claimed",
)
def request_close(request, request_id: ObjectId, payload: MdfOptionalReasonIn):
    req = _request(request, request_id)
    require(request.auth, "mdf.request_mdf", req.partner, REQUESTERS_ONLY)
    services.request_close(request=req, closed_by=request.auth, reason=payload.reason)
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/claims",
    response={201: MdfClaimOut, **R},
    summary="Claim an approved request: actual cost and proof-of-performance files",
)
def claim_submit(
    request,
    request_id: ObjectId,
    file: File[list[UploadedFile]],
    actual_cost: Form[str],
    notes: Form[str] = "",
):
    """Multipart form: ``actual_cost`` (in the request's currency), optional ``notes`` and one
    or more ``file`` parts (PDF, images, office documents, CSV, text or ZIP; each within the
    upload limit). The reimbursement, decided by the staff, is min(approved amount, actual
    cost × vendor share)."""
    req = _request(request, request_id)
    require(request.auth, "mdf.request_mdf", req.partner, REQUESTERS_ONLY)
    claim = services.claim_submit(
        request=req, actual_cost=actual_cost, notes=notes, files=file, submitted_by=request.auth
    )
    return Status(201, _claim(request, claim.pk))


@router.get("/claims", response={200: list[MdfClaimOut], **R}, summary="List MDF claims")
@paginate(Pagination)
def claim_list(request, filters: Query[MdfClaimFilter]):
    return selectors.claim_list(fetched_by=request.auth, **filters.dict())


@router.get("/claims/{claim_id}", response={200: MdfClaimOut, **R}, summary="An MDF claim")
def claim_get(request, claim_id: ObjectId):
    return _claim(request, claim_id)


@router.post(
    "/claims/{claim_id}/approve",
    response={200: MdfClaimOut, **R},
    summary="Approve a claim: reimburse min(approved, actual cost × vendor share)",
)
def claim_approve(request, claim_id: ObjectId, payload: MdfOptionalReasonIn):
    claim = _claim(request, claim_id)
    require(request.auth, "mdf.review_mdf", claim.request.partner, REVIEWERS_ONLY)
    services.claim_approve(claim=claim, approved_by=request.auth, reason=payload.reason)
    return _claim(request, claim_id)


@router.post(
    "/claims/{claim_id}/reject",
    response={200: MdfClaimOut, **R},
    summary="Reject a claim (reason required); the request can be claimed again",
)
def claim_reject(request, claim_id: ObjectId, payload: MdfReasonIn):
    claim = _claim(request, claim_id)
    require(request.auth, "mdf.review_mdf", claim.request.partner, REVIEWERS_ONLY)
    services.claim_reject(claim=claim, rejected_by=request.auth, reason=payload.reason)
    return _claim(request, claim_id)


@router.get(
    "/claims/{claim_id}/proofs/{proof_id}",
    response={200: None, **R},
    summary="Download a proof-of-performance file",
)
def proof_download(request, claim_id: ObjectId, proof_id: ObjectId):
    proof = selectors.proof_get(fetched_by=request.auth, claim_id=claim_id, proof_id=proof_id)
    return FileResponse(
        proof.file.open("rb"),
        as_attachment=True,
        filename=proof.name,
        content_type=proof.content_type,
    )


@router.post(
    "/jobs/expire",
    response={200: list[MdfExpiryRunOut], **R},
    summary="Expire the unused MDF of the periods that ended (idempotent)",
)
def job_expire(request, payload: MdfExpireIn):
    require(request.auth, "mdf.run_mdf_jobs", None, ALLOCATORS_ONLY.replace("allocate", "expire"))
    return services.mdf_expire(as_of=payload.as_of, triggered_by=request.auth)
