"""Reads of market development funds, always through what the acting user may see: another
partner's request, claim or proof answers 404 (existence never leaks)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import scope_to_visible_partners
from partnerhub.mdf.models import (
    ClaimStatus,
    MdfAllocation,
    MdfClaim,
    MdfProof,
    MdfRequest,
    RequestStatus,
)


def _requests(user) -> QuerySet[MdfRequest]:
    return scope_to_visible_partners(MdfRequest.objects.all(), user).select_related(
        "partner", "program"
    )


def _claims(user) -> QuerySet[MdfClaim]:
    return (
        scope_to_visible_partners(MdfClaim.objects.all(), user)
        .select_related("request", "request__partner", "request__program", "partner")
        .prefetch_related("proofs")
    )


def request_list(
    *,
    fetched_by,
    status: str | None = None,
    partner_id: int | None = None,
    program: str | None = None,
) -> QuerySet[MdfRequest]:
    qs = _requests(fetched_by)
    if status:
        qs = qs.filter(status=status)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if program:
        qs = qs.filter(program__key=program)
    return qs.order_by("-id")


def request_get(*, fetched_by, request_id: int) -> MdfRequest:
    qs = _requests(fetched_by).prefetch_related(
        Prefetch(
            "claims",
            queryset=MdfClaim.objects.order_by("-id").prefetch_related(
                Prefetch("proofs", queryset=MdfProof.objects.order_by("id"))
            ),
        )
    )
    return get_object_or_404(qs, pk=request_id)


def claim_list(
    *, fetched_by, status: str | None = None, partner_id: int | None = None
) -> QuerySet[MdfClaim]:
    qs = _claims(fetched_by)
    if status:
        qs = qs.filter(status=status)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("-id")


def claim_get(*, fetched_by, claim_id: int) -> MdfClaim:
    return get_object_or_404(_claims(fetched_by), pk=claim_id)


def proof_get(*, fetched_by, claim_id: int, proof_id: int) -> MdfProof:
    claim = claim_get(fetched_by=fetched_by, claim_id=claim_id)
    return get_object_or_404(MdfProof.objects.filter(claim=claim), pk=proof_id)


def allocation_list(*, fetched_by, partner_id: int | None = None) -> QuerySet[MdfAllocation]:
    qs = scope_to_visible_partners(MdfAllocation.objects.all(), fetched_by).select_related(
        "partner", "program", "created_by"
    )
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("-quarter_start", "-id")


def pending_requests(*, fetched_by) -> QuerySet[MdfRequest]:
    """Submitted requests waiting for a decision, oldest first."""
    return _requests(fetched_by).filter(status=RequestStatus.SUBMITTED).order_by("id")


def pending_claims(*, fetched_by) -> QuerySet[MdfClaim]:
    """Submitted claims waiting for a decision, oldest first."""
    return _claims(fetched_by).filter(status=ClaimStatus.SUBMITTED).order_by("id")
