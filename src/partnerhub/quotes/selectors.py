"""Reads of quotes, credit lines and NFR purchases, always through what the acting user may see
(404 otherwise). Partner users see their organisation's (and sub-tree's) rows only."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import scope_to_visible_partners
from partnerhub.quotes.models import CreditLine, NfrPurchase, Quote, QuoteLine


def _visible_quotes(user) -> QuerySet[Quote]:
    return scope_to_visible_partners(Quote.objects.all(), user)


def quote_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    status: str | None = None,
    purchase_path: str | None = None,
) -> QuerySet[Quote]:
    qs = _visible_quotes(fetched_by).select_related("partner", "program", "distributor")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if status:
        qs = qs.filter(status=status)
    if purchase_path:
        qs = qs.filter(purchase_path=purchase_path)
    return qs.order_by("-id")


def quote_get(*, fetched_by, quote_id: int) -> Quote:
    qs = (
        _visible_quotes(fetched_by)
        .select_related("partner", "program", "distributor", "registration")
        .prefetch_related(Prefetch("lines", queryset=QuoteLine.objects.select_related("product")))
    )
    return get_object_or_404(qs, pk=quote_id)


def credit_line_list(*, fetched_by) -> QuerySet[CreditLine]:
    return (
        scope_to_visible_partners(CreditLine.objects.all(), fetched_by)
        .select_related("partner", "approved_by")
        .order_by("partner__display_name", "partner_id")
    )


def credit_line_of(partner) -> CreditLine | None:
    return CreditLine.objects.filter(partner=partner).select_related("approved_by").first()


def credit_status(partner, *, on: dt.date | None = None) -> dict:
    """The partner's credit line (or None) with what is used and available on ``on``."""
    from partnerhub.quotes.services import credit_used, today

    on = on or today()
    line = credit_line_of(partner)
    used = credit_used(partner=partner, currency=line.currency, on=on) if line else 0
    expired = bool(line and line.expires_on and line.expires_on < on)
    return {
        "partner_id": partner.pk,
        "credit_line": line,
        "on": on,
        "used_minor": used,
        "available_minor": max(0, line.limit_minor - used) if line and not expired else 0,
        "expired": expired,
    }


def nfr_list(*, fetched_by, partner_id: int | None = None) -> QuerySet[NfrPurchase]:
    qs = scope_to_visible_partners(NfrPurchase.objects.all(), fetched_by).select_related(
        "partner", "program", "product"
    )
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("-ordered_on", "-id")
