"""Reads of deal registrations, always through what the acting user may see (404 otherwise).

Partner users see their organisation's (and sub-tree's) registrations only. A partner's
conflict check tells that *another* registration protects the customer, never whose it is.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import is_partner_user, scope_to_visible_partners
from partnerhub.deals.models import (
    DealConflict,
    DealExtension,
    DealProduct,
    DealRegistration,
    DealStatus,
)


def _visible(user) -> QuerySet[DealRegistration]:
    return scope_to_visible_partners(DealRegistration.objects.all(), user)


def _with_details(qs: QuerySet[DealRegistration]) -> QuerySet[DealRegistration]:
    return qs.select_related("partner", "program").prefetch_related(
        Prefetch("products", queryset=DealProduct.objects.select_related("product")),
        "attachments",
    )


def registration_list(
    *,
    fetched_by,
    status: str | None = None,
    partner_id: int | None = None,
    program: str | None = None,
    source: str | None = None,
    flagged: bool | None = None,
    q: str | None = None,
) -> QuerySet[DealRegistration]:
    qs = _with_details(_visible(fetched_by))
    if status:
        qs = qs.filter(status=status)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if program:
        qs = qs.filter(program__key=program)
    if source:
        qs = qs.filter(source=source)
    if flagged is not None:
        qs = qs.filter(flagged=flagged)
    if q:
        qs = qs.filter(customer_name__icontains=q)
    return qs.order_by("-id")


def registration_get(*, fetched_by, registration_id: int) -> DealRegistration:
    qs = _with_details(_visible(fetched_by)).prefetch_related(
        "history__by",
        Prefetch("extensions", queryset=DealExtension.objects.order_by("-id")),
    )
    return get_object_or_404(qs, pk=registration_id)


def review_queue(*, fetched_by) -> QuerySet[DealRegistration]:
    """Submitted registrations waiting for a decision, oldest submission first (priority)."""
    return (
        _with_details(_visible(fetched_by))
        .filter(status=DealStatus.SUBMITTED)
        .prefetch_related(
            Prefetch(
                "conflicts",
                queryset=DealConflict.objects.select_related("other__partner"),
            )
        )
        .order_by("submission_seq")
    )


def extension_get(*, fetched_by, extension_id: int) -> DealExtension:
    return get_object_or_404(
        scope_to_visible_partners(
            DealExtension.objects.all(), fetched_by, "registration__partner"
        ).select_related("registration__partner"),
        pk=extension_id,
    )


def extension_list(*, fetched_by, status: str | None = None) -> QuerySet[DealExtension]:
    qs = scope_to_visible_partners(
        DealExtension.objects.all(), fetched_by, "registration__partner"
    ).select_related("registration__partner")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def conflict_view(user, hit, own_partner_ids: set[int]) -> dict:
    """A conflict as the user may see it: staff see everything; a partner user sees the
    other registration's details only when it is its own organisation's."""
    reg = hit.registration
    mine = reg.partner_id in own_partner_ids
    full = not is_partner_user(user) or mine
    return {
        "registration_id": reg.pk if full else None,
        "reference": reg.reference if full else None,
        "partner_id": reg.partner_id if full else None,
        "partner_name": reg.partner.display_name if full else None,
        "own": mine,
        "customer_name": reg.customer_name if full else None,
        "status": reg.status,
        "submitted_at": reg.submitted_at,
        "protected_until": reg.protected_until,
        "score": round(hit.result.score, 1),
        # Another partner's record is not shown: only which fields matched, and how well.
        "fields": [
            f if full else {**f, "detail": f"the {f['field'].replace('_', ' ')} matches"}
            for f in hit.result.as_dict()["fields"]
            if full or f["score"] > 0
        ],
    }
