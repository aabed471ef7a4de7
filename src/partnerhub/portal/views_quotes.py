"""Quote pages of the partner portal (/portal/quotes/): the partner's quotes, a new quote with
its price steps previewed before it is saved, a quote's detail (accept), and NFR orders.

Thin views, as in ``views.py``: objects are read through the quotes selectors with
``fetched_by=request.user`` (another partner's quote answers 404), permissions through
``core.permissions``, every write through a service whose ``ServiceError`` is shown with the
field it names. The pages work with JavaScript off.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partnerhub.core.errors import ServiceError
from partnerhub.core.money import to_minor
from partnerhub.core.permissions import require
from partnerhub.deals.models import DealRegistration, DealStatus
from partnerhub.portal.access import partner_page
from partnerhub.portal.views import _id, _money, _page
from partnerhub.quotes import selectors, services
from partnerhub.sales.models import Product

QUOTES_PER_PAGE = 25
LINE_ROWS = 5
QUOTERS_ONLY = "Only the partner's own people ask for its quotes."


def _amount(value: str, currency: str) -> str:
    """A decimal amount of ``as_input`` as the pages write money: 38,500.00 USD."""
    return _money(to_minor(Decimal(value), currency), currency)


def _shown(preview: dict) -> dict:
    """The price preview with its amounts written as money (it carries bare decimals)."""
    cur = preview["currency"]
    for line in preview["lines"]:
        for name in ("list_price", "unit_net", "line_total"):
            line[f"{name}_text"] = _amount(line[name], cur)
    for name in ("total", "list_total"):
        preview[f"{name}_text"] = _amount(preview[name], cur)
    return preview


def field_words(field: str | None) -> str:
    """A service's field path in the form's words: "lines.0.quantity" → "line 1, quantity"."""
    if not field:
        return ""
    match = re.fullmatch(r"lines\.(\d+)\.(\w+)", field)
    if match:
        return _("line %(n)s, %(field)s") % {
            "n": int(match.group(1)) + 1,
            "field": match.group(2).replace("_", " "),
        }
    return field.replace("_", " ")


def _decorate(quotes):
    for q in quotes:
        q.total_text = _money(q.total_minor, q.currency)
        q.list_total_text = _money(q.list_total_minor, q.currency)
    return quotes


@partner_page
def quote_list(request):
    qs = selectors.quote_list(fetched_by=request.user)
    page = Paginator(qs, QUOTES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _decorate(list(page.object_list))
    credit = selectors.credit_status(request.partner)
    line = credit["credit_line"]
    if line:
        credit["limit_text"] = _money(line.limit_minor, line.currency)
        credit["used_text"] = _money(credit["used_minor"], line.currency)
        credit["available_text"] = _money(credit["available_minor"], line.currency)
    return _page(request, "portal/quotes/list.html", {"page": page, "credit": credit})


def _form_data(post) -> dict:
    lines = []
    for i in range(LINE_ROWS):
        sku = (post.get(f"sku_{i}") or "").strip()
        if sku:
            lines.append({"sku": sku, "quantity": (post.get(f"quantity_{i}") or "1").strip()})
    data = {
        "purchase_path": post.get("purchase_path") or "direct",
        "lines": lines,
    }
    if post.get("distributor_id") and data["purchase_path"] == "distributor":
        data["distributor_id"] = post.get("distributor_id")
    if post.get("registration_id"):
        data["registration_id"] = post.get("registration_id")
    return data


def _form_context(request, post=None) -> dict:
    partner = request.partner
    program = None
    with contextlib.suppress(ServiceError):
        program = services.program_for(partner, None)
    rows = [
        {
            "i": i,
            "sku": (post.get(f"sku_{i}") if post else "") or "",
            "quantity": (post.get(f"quantity_{i}") if post else "") or "1",
        }
        for i in range(LINE_ROWS)
    ]
    return {
        "products": Product.objects.filter(is_active=True).order_by("sku"),
        "distributors": list(services.authorised_distributors(program)) if program else [],
        "registrations": DealRegistration.objects.filter(
            partner=partner, status__in=[DealStatus.APPROVED, DealStatus.WON]
        ).order_by("-id")[:50],
        "rows": rows,
        "values": post or {},
    }


@partner_page
@require_http_methods(["GET", "POST"])
def quote_new(request):
    require(request.user, "quotes.add_quote", request.partner, _(QUOTERS_ONLY))
    context = _form_context(request, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        data = _form_data(request.POST)
        try:
            if request.POST.get("action") == "create":
                quote = services.quote_create(
                    partner=request.partner, data=data, created_by=request.user
                )
                messages.success(
                    request, _("Quote %(number)s is saved.") % {"number": quote.number}
                )
                return redirect("portal:quote-detail", quote.pk)
            context["preview"] = _shown(
                services.as_input(services.quote_price(partner=request.partner, data=data))
            )
        except ServiceError as exc:
            context["error"] = exc.message
            context["error_field"] = field_words(exc.field)
            return _page(request, "portal/quotes/form.html", context, status=400)
    return _page(request, "portal/quotes/form.html", context)


def _quote(request, pk: int):
    return selectors.quote_get(fetched_by=request.user, quote_id=_id(pk))


def _detail(request, quote, error=None, status=200):
    _decorate([quote])
    lines = list(quote.lines.all())
    for line in lines:
        line.list_text = _money(line.list_price_minor, quote.currency)
        line.net_text = _money(line.unit_net_minor, quote.currency)
        line.total_text = _money(line.line_total_minor, quote.currency)
    return _page(
        request,
        "portal/quotes/detail.html",
        {"quote": quote, "lines": lines, "error": error},
        status=status,
    )


@partner_page
def quote_detail(request, pk: int):
    return _detail(request, _quote(request, pk))


@partner_page
@require_POST
def quote_accept(request, pk: int):
    quote = _quote(request, pk)
    require(request.user, "quotes.change_quote", quote.partner, _(QUOTERS_ONLY))
    try:
        services.quote_accept(quote=quote, accepted_by=request.user)
    except ServiceError as exc:
        return _detail(request, _quote(request, pk), error=exc.message, status=409)
    messages.success(request, _("Quote %(number)s is accepted.") % {"number": quote.number})
    return redirect("portal:quote-detail", quote.pk)


@partner_page
@require_http_methods(["GET", "POST"])
def nfr(request):
    """The partner's NFR purchases and the order form (new unit with its bundle, or renewal)."""
    error = error_field = None
    status = 200
    if request.method == "POST":
        require(request.user, "quotes.add_nfrpurchase", request.partner, _(QUOTERS_ONLY))
        post = request.POST
        data = {
            "sku": (post.get("sku") or "").strip(),
            "quantity": post.get("quantity") or 1,
            "is_renewal": bool(post.get("renews_id")),
            "renews_id": post.get("renews_id") or None,
            "bundle": [s for s in post.getlist("bundle") if s],
        }
        try:
            purchase = services.nfr_order(
                partner=request.partner, data=data, created_by=request.user
            )
        except ServiceError as exc:
            error, error_field, status = exc.message, field_words(exc.field), 400
        else:
            messages.success(
                request,
                _("%(quantity)s × %(sku)s ordered for %(price)s.")
                % {
                    "quantity": purchase.quantity,
                    "sku": purchase.product.sku,
                    "price": _money(purchase.price_minor, purchase.currency),
                },
            )
            return redirect("portal:quote-nfr")
    purchases = list(selectors.nfr_list(fetched_by=request.user)[:100])
    for p in purchases:
        p.price_text = _money(p.price_minor, p.currency)
    own = [p for p in purchases if p.partner_id == request.partner.pk and not p.is_renewal]
    # Only what the program's NFR offer allows: its NFR category, and for the bundle the
    # categories it requires (listing every product made every order but NFR ones fail).
    try:
        policy = services.nfr_policy(services.program_for(request.partner, None), services.today())
    except ServiceError as exc:
        policy, no_offer = None, exc.message
    else:
        no_offer = ""
    active = Product.objects.filter(is_active=True).select_related("category")
    return _page(
        request,
        "portal/quotes/nfr.html",
        {
            "purchases": purchases,
            "renewable": own,
            "policy": policy,
            "no_offer": no_offer,
            "products": active.filter(category__key=policy.category).order_by("sku")
            if policy
            else [],
            "bundle_products": active.filter(category__key__in=policy.required_bundle).order_by(
                "category__key", "sku"
            )
            if policy
            else [],
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )
