"""Quote pages of the vendor console: credit lines (/console/credit-lines/: list, record,
change, remove; program admins and finance) and every visible quote, read-only
(/console/quotes/). Thin views over the quotes selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from partnerhub.console.picker import picker_from
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, minor_digits
from partnerhub.core.permissions import require, visible_partners
from partnerhub.core.schemas import MAX_ID
from partnerhub.portal.access import staff_page
from partnerhub.quotes import selectors, services

PER_PAGE = 50
CREDIT_KEEPERS = "Only program admins and finance keep credit lines."


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):,.{minor_digits(currency)}f} {currency}"


@staff_page
def credit_line_list(request):
    can_edit = request.user.has_perm("quotes.change_creditline", None)
    picker = picker_from(
        request,
        label=_("Grant a credit line to"),
        scope="credit-line",
        help_text=_("Type part of a name and choose a partner with a DUNS number."),
    )
    if can_edit and picker.partner is not None:
        return redirect("console:credit-line", picker.partner.pk)
    qs = selectors.credit_line_list(fetched_by=request.user)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    lines = list(page.object_list)
    used = services.credit_used_many(lines)
    for line in lines:
        line.limit_text = _money(line.limit_minor, line.currency)
        line.used_text = _money(used.get(line.partner_id, 0), line.currency)
    page.object_list = lines
    return render(
        request,
        "console/quotes/credit_lines.html",
        {"page": page, "can_edit": can_edit, "picker": picker},
        status=400 if can_edit and picker.error else 200,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def credit_line_edit(request, partner_id: int):
    if not 1 <= partner_id <= MAX_ID:
        raise Http404
    partner = get_object_or_404(visible_partners(request.user), pk=partner_id)
    require(request.user, "quotes.change_creditline", partner, _(CREDIT_KEEPERS))
    line = selectors.credit_line_of(partner)
    error = error_field = None
    values = {
        "limit": from_minor(line.limit_minor, line.currency) if line else "",
        "currency": line.currency if line else "",
        "approved_on": line.approved_on.isoformat() if line else "",
        "expires_on": line.expires_on.isoformat() if line and line.expires_on else "",
        "notes": line.notes if line else "",
    }
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "remove":
                services.credit_line_remove(partner=partner)
                messages.success(
                    request, _("The credit line of %(name)s is removed.") % {"name": partner}
                )
            else:
                values = {k: request.POST.get(k, "").strip() for k in values}
                services.credit_line_set(partner=partner, data=values, approved_by=request.user)
                messages.success(
                    request, _("The credit line of %(name)s is saved.") % {"name": partner}
                )
            return redirect("console:credit-lines")
        except ServiceError as exc:
            error, error_field, status = exc.message, exc.field, 400
    return render(
        request,
        "console/quotes/credit_line_form.html",
        {
            "partner": partner,
            "line": line,
            "values": values,
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )


@staff_page
def quote_list(request):
    qs = selectors.quote_list(fetched_by=request.user)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    quotes = list(page.object_list)
    for q in quotes:
        q.total_text = _money(q.total_minor, q.currency)
    page.object_list = quotes
    return render(request, "console/quotes/quotes.html", {"page": page})
