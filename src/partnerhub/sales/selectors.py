"""Reads for sales: products and categories (catalogue, every user), billing lines (scoped by
``visible_partners``), customers (vendor staff; the caller checks)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import reads_all_partners, visible_partners
from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory


def category_list() -> QuerySet[ProductCategory]:
    return ProductCategory.objects.order_by("key")


def product_list(
    *, q: str | None = None, category: str | None = None, is_active: bool | None = None
) -> QuerySet[Product]:
    qs = Product.objects.select_related("category", "required_certification")
    if q:
        qs = qs.filter(Q(sku__icontains=q) | Q(name__icontains=q))
    if category:
        qs = qs.filter(category__key=category)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("sku")


def product_get(*, product_id: int) -> Product:
    return get_object_or_404(
        Product.objects.select_related("category", "required_certification"), pk=product_id
    )


def billing_line_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    distributor_id: int | None = None,
    customer_id: str | None = None,
    sku: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[BillingLine]:
    """Lines of the partners ``fetched_by`` may see (partner users: their organisation and its
    sub-tree; partner managers: their partners; other staff: all), and the lines sold through
    them as distributor (a distributor sees what its resellers bought through it), oldest
    invoice first. ``partner_id`` is the selling partner, ``distributor_id`` the distributor."""
    visible = visible_partners(fetched_by)
    if reads_all_partners(fetched_by):
        qs = BillingLine.objects.all()
    elif partner_id is not None and visible.filter(pk=partner_id).exists():
        # One visible partner's own lines: the partner key alone, so the tier metrics'
        # covering index (partner, invoice_date, ...) answers the dashboard's sums.
        qs = BillingLine.objects.all()
    else:
        pks = visible.values("pk")
        qs = BillingLine.objects.filter(Q(partner__in=pks) | Q(distributor__in=pks))
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if customer_id:
        qs = qs.filter(customer__external_id=customer_id)
    if sku:
        qs = qs.filter(product__sku=sku)
    if date_from:
        qs = qs.filter(invoice_date__gte=date_from)
    if date_to:
        qs = qs.filter(invoice_date__lte=date_to)
    return qs.select_related("customer", "product").order_by("invoice_date", "id")


def customer_list(*, q: str | None = None) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    return qs.order_by("name", "id")
