"""/api/v1/deals: deal registrations for partners (their own) and staff (the review queue with
conflicts), the live conflict check, extensions, attachments and the daily jobs. Thin handlers
over selectors and services; every permission question goes to core.permissions."""

from typing import Literal

from django.db import transaction
from django.http import FileResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import member_partner_ids, membership, require
from partnerhub.core.schemas import ObjectId, Pagination, ShortText
from partnerhub.deals import matching, selectors, services
from partnerhub.deals.models import DealStatus
from partnerhub.deals.schemas import (
    ApproveIn,
    AttachmentOut,
    CloseIn,
    ConflictCheckIn,
    ConflictCheckOut,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    JobOut,
    ReasonIn,
    RegistrationDetailOut,
    RegistrationIn,
    RegistrationOut,
    RegistrationPatch,
    ReviewItemOut,
    Source,
)
from partnerhub.deals.schemas import (
    Status as DealStatusLiteral,
)
from partnerhub.partners.selectors import partner_get

router = Router(tags=["deals"])
R = ERROR_RESPONSES

REVIEWERS_ONLY = "Only the vendor staff who manage this partner review its registrations."
CHANGERS_ONLY = "Only the partner's own people and its vendor managers change its registrations."


class RegistrationFilter(Schema):
    status: DealStatusLiteral | None = None
    partner_id: ObjectId | None = None
    program: ShortText(64) | None = None
    source: Source | None = None
    flagged: bool | None = None
    q: ShortText(200) | None = None


class ExtensionFilter(Schema):
    status: Literal["pending", "approved", "rejected"] | None = None


def _get(request, registration_id: int):
    return selectors.registration_get(fetched_by=request.auth, registration_id=registration_id)


def _detail(request, registration_id: int):
    return _get(request, registration_id)


@router.get(
    "/registrations",
    response={200: list[RegistrationOut], **R},
    summary="List deal registrations",
)
@paginate(Pagination)
def registration_list(request, filters: Query[RegistrationFilter]):
    """Partner users see their organisation's registrations; staff those of partners they see."""
    return selectors.registration_list(fetched_by=request.auth, **filters.dict())


@router.post(
    "/registrations",
    response={201: RegistrationDetailOut, **R},
    summary="Register an opportunity (draft, or submitted with submit=true)",
)
def registration_create(request, payload: RegistrationIn):
    data = payload.dict()
    partner_id = data.pop("partner_id")
    submit = data.pop("submit")
    m = membership(request.auth)
    if m is not None and partner_id is None:
        partner_id = m.partner_id
    if partner_id is None:
        raise ServiceError("Say which partner registers this opportunity.", field="partner_id")
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "deals.add_dealregistration", partner, CHANGERS_ONLY)
    data["products"] = [p.dict() for p in payload.products]
    reg = services.registration_create(
        partner=partner, data=data, created_by=request.auth, submit=submit
    )
    return Status(201, _detail(request, reg.pk))


@router.post(
    "/conflict-check",
    response={200: ConflictCheckOut, **R},
    summary="Check a customer for conflicting registrations (as you type)",
)
def conflict_check(request, payload: ConflictCheckIn):
    """Finds active registrations (submitted or approved) of the same customer. A partner user
    learns that another partner holds a registration and until when it is protected, never
    whose it is; its own organisation's registrations are shown in full."""
    require(request.auth, "deals.check_conflicts", None, "Sign in to check for conflicts.")
    ident = matching.identity(
        payload.customer_name,
        payload.customer_website,
        payload.contact_email,
        payload.customer_country.upper(),
    )
    if not ident.name_key and not ident.domain and not ident.email_domain:
        return {
            "protected": False,
            "message": "Type the customer's name or website.",
            "conflicts": [],
        }
    hits = services.conflicts_for(ident)
    own = member_partner_ids(request.auth)
    conflicts = [selectors.conflict_view(request.auth, h, own) for h in hits[:10]]
    others = [h for h in hits if h.registration.partner_id not in own]
    protected = [h for h in others if h.registration.status == DealStatus.APPROVED]
    if protected:
        until = max(h.registration.protected_until for h in protected)
        message = (
            f"Another partner holds an approved registration of this customer, protected "
            f"through {until}. You can still submit; the earlier registration has priority."
        )
    elif others:
        message = (
            "Another partner has already submitted a registration of this customer; it has "
            "priority if approved. You can still submit, and yours will be flagged for review."
        )
    elif hits:
        message = "Your organisation already has an active registration of this customer."
    else:
        message = "No active registration of this customer."
    return {"protected": bool(protected), "message": message, "conflicts": conflicts}


@router.get(
    "/registrations/review-queue",
    response={200: list[ReviewItemOut], **R},
    summary="Submitted registrations to review, with their conflicts",
)
@paginate(Pagination)
def review_queue(request):
    """Oldest submission first. Each item carries the active registrations of the same customer
    found now, with the matched fields and score, and whether it has priority."""
    require(request.auth, "deals.view_review_queue", None, REVIEWERS_ONLY)
    return _ReviewItems(selectors.review_queue(fetched_by=request.auth), request.auth)


class _ReviewItems:
    """Lazy page of the review queue: conflicts are computed only for the page's items."""

    def __init__(self, qs, user):
        self.qs, self.user = qs, user

    def __len__(self):
        return self.qs.count()

    def count(self):
        return self.qs.count()

    def __getitem__(self, item):
        regs = list(self.qs[item])
        for reg in regs:
            hits = services.conflicts_for(services.identity_of(reg), exclude_id=reg.pk)
            reg.conflicts_now = [selectors.conflict_view(self.user, h, set()) for h in hits]
            reg.priority = not any(
                (h.registration.submission_seq or 0) < (reg.submission_seq or 0) for h in hits
            )
        return regs


@router.get(
    "/registrations/{registration_id}",
    response={200: RegistrationDetailOut, **R},
    summary="A deal registration with its history",
)
def registration_get(request, registration_id: ObjectId):
    return _get(request, registration_id)


@router.patch(
    "/registrations/{registration_id}",
    response={200: RegistrationDetailOut, **R},
    summary="Change a draft registration",
)
def registration_update(request, registration_id: ObjectId, payload: RegistrationPatch):
    reg = _get(request, registration_id)
    require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    data = payload.dict(exclude_unset=True)
    for name, value in data.items():
        if value is None:
            raise ServiceError("This field cannot be null.", field=name)
    if "products" in data:
        data["products"] = [p.dict() for p in payload.products]
    services.registration_update(registration=reg, data=data, updated_by=request.auth)
    return _detail(request, reg.pk)


@router.delete(
    "/registrations/{registration_id}",
    response={204: None, **R},
    summary="Delete a draft registration",
)
def registration_delete(request, registration_id: ObjectId):
    reg = _get(request, registration_id)
    require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    services.registration_delete(registration=reg)
    return Status(204, None)


@router.post(
    "/registrations/{registration_id}/submit",
    response={200: RegistrationDetailOut, **R},
    summary="Submit a draft for review",
)
def registration_submit(request, registration_id: ObjectId):
    reg = _get(request, registration_id)
    require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    services.registration_submit(registration=reg, submitted_by=request.auth)
    return _detail(request, reg.pk)


@router.post(
    "/registrations/{registration_id}/approve",
    response={200: RegistrationDetailOut, **R},
    summary="Approve a submitted registration",
)
def registration_approve(request, registration_id: ObjectId, payload: ApproveIn):
    """Protects it for the partner's tier's ``deal_protection_days``. While an earlier active
    registration of the same customer has priority, answers 409 unless ``override_reason``."""
    reg = _get(request, registration_id)
    require(request.auth, "deals.review_dealregistration", reg.partner, REVIEWERS_ONLY)
    services.registration_approve(
        registration=reg, approved_by=request.auth, override_reason=payload.override_reason
    )
    return _detail(request, reg.pk)


@router.post(
    "/registrations/{registration_id}/reject",
    response={200: RegistrationDetailOut, **R},
    summary="Reject a submitted registration (reason required)",
)
def registration_reject(request, registration_id: ObjectId, payload: ReasonIn):
    reg = _get(request, registration_id)
    require(request.auth, "deals.review_dealregistration", reg.partner, REVIEWERS_ONLY)
    services.registration_reject(registration=reg, rejected_by=request.auth, reason=payload.reason)
    return _detail(request, reg.pk)


@router.post(
    "/registrations/{registration_id}/close",
    response={200: RegistrationDetailOut, **R},
    summary="Close a registration as won (staff) or lost",
)
def registration_close(request, registration_id: ObjectId, payload: CloseIn):
    """Partners close their registrations as lost (with a reason). Closed-won is set by the
    order matching, or by the staff who manage the partner."""
    reg = _get(request, registration_id)
    if payload.outcome == "won":
        require(
            request.auth,
            "deals.review_dealregistration",
            reg.partner,
            "A registration becomes closed-won when its order arrives; only the vendor staff "
            "who manage the partner can close it as won by hand.",
        )
    else:
        require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    services.registration_close(
        registration=reg, by=request.auth, outcome=payload.outcome, reason=payload.reason
    )
    return _detail(request, reg.pk)


@router.post(
    "/registrations/{registration_id}/extensions",
    response={201: ExtensionOut, **R},
    summary="Ask for a longer protection",
)
def extension_request(request, registration_id: ObjectId, payload: ExtensionIn):
    reg = _get(request, registration_id)
    require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    ext = services.extension_request(
        registration=reg, requested_by=request.auth, days=payload.days, reason=payload.reason
    )
    return Status(201, ext)


@router.get(
    "/extensions",
    response={200: list[ExtensionOut], **R},
    summary="List extension requests",
)
@paginate(Pagination)
def extension_list(request, filters: Query[ExtensionFilter]):
    return selectors.extension_list(fetched_by=request.auth, status=filters.status)


@router.post(
    "/extensions/{extension_id}/decide",
    response={200: ExtensionOut, **R},
    summary="Approve or refuse an extension request",
)
def extension_decide(request, extension_id: ObjectId, payload: ExtensionDecisionIn):
    ext = selectors.extension_get(fetched_by=request.auth, extension_id=extension_id)
    require(request.auth, "deals.review_dealregistration", ext.registration.partner, REVIEWERS_ONLY)
    return services.extension_decide(
        extension=ext, decided_by=request.auth, approve=payload.approve, reason=payload.reason
    )


@router.post(
    "/registrations/{registration_id}/attachments",
    response={201: AttachmentOut, **R},
    summary="Attach a file",
)
def attachment_add(request, registration_id: ObjectId, file: File[UploadedFile]):
    reg = _get(request, registration_id)
    require(request.auth, "deals.change_dealregistration", reg.partner, CHANGERS_ONLY)
    return Status(
        201, services.attachment_add(registration=reg, upload=file, uploaded_by=request.auth)
    )


@router.get(
    "/registrations/{registration_id}/attachments/{attachment_id}",
    response={200: None, **R},
    summary="Download an attached file",
)
def attachment_download(request, registration_id: ObjectId, attachment_id: ObjectId):
    reg = _get(request, registration_id)
    attachment = next((a for a in reg.attachments.all() if a.pk == attachment_id), None)
    if attachment is None:
        from django.http import Http404

        raise Http404("No such attachment.")
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


@router.post(
    "/jobs/expire",
    response={200: JobOut, **R},
    summary="Expire registrations whose protection ended (idempotent)",
)
def job_expire(request):
    require(request.auth, "deals.run_deal_jobs", None, "Only program admins run deal jobs.")
    return {"expired": services.registrations_expire()}


@router.post(
    "/jobs/match-orders",
    response={200: JobOut, **R},
    summary="Close as won the registrations whose customer ordered",
)
def job_match_orders(request):
    require(request.auth, "deals.run_deal_jobs", None, "Only program admins run deal jobs.")
    with transaction.atomic():
        return {"won": services.orders_match()}
