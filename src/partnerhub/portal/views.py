"""Partner portal pages (/portal/): thin views over selectors and services.

Every page works without JavaScript; htmx only enhances (live conflict hints on the
registration form, filtering the deal list in place). Objects are read through the app
selectors with ``fetched_by=request.user`` (another partner's id is a 404), every write goes
through the app services, and a ``ServiceError`` is shown at the field it names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, Sum
from django.db.models.functions import TruncMonth
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_countries import countries

from partnerhub.core import charts
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, minor_digits
from partnerhub.core.permissions import member_partner_ids, require
from partnerhub.core.schemas import MAX_ID
from partnerhub.deals import matching
from partnerhub.deals import selectors as deal_selectors
from partnerhub.deals import services as deal_services
from partnerhub.deals.models import DealStatus
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners import services as partner_services
from partnerhub.portal import forms as f
from partnerhub.portal.access import partner_page
from partnerhub.programs.models import Track
from partnerhub.sales import selectors as sales_selectors
from partnerhub.tiers import selectors as tier_selectors
from partnerhub.training import selectors as training_selectors
from partnerhub.training.models import PersonCertification

DEALS_PER_PAGE = 25
PEOPLE_PER_PAGE = 50
EXPIRY_WINDOW_DAYS = 90
# Months of billings in one period of a tier requirement: the monthly pace is threshold / N.
PERIOD_MONTHS = {
    "fiscal_year_to_date": 12,
    "previous_fiscal_year": 12,
    "trailing_12_months": 12,
    "calendar_quarter": 3,
}


# --- shared helpers ----------------------------------------------------------------------------


def _can_manage_users(request) -> bool:
    return request.user.has_perm(
        "partners.change_partneruser", request.partner
    ) and request.user.has_perm("partners.view_invitation", request.partner)


def _page(request, template: str, context: dict, status: int = 200):
    context.setdefault("partner", request.partner)
    context["can_manage_users"] = _can_manage_users(request)
    return render(request, template, context, status=status)


def _number(value, places: int | None = None) -> str:
    return formats.number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


def _money(minor: int | None, currency: str) -> str:
    """``1234567, "EUR"`` → ``12,345.67 EUR`` (grouped and localised)."""
    return f"{_number(from_minor(minor or 0, currency), minor_digits(currency))} {currency}"


def _amount(value: Decimal, currency: str) -> str:
    return f"{_number(value, minor_digits(currency))} {currency}"


def _quantity(value: Decimal) -> str:
    value = Decimal(value)
    return _number(value, 0) if value == value.to_integral() else _number(value.normalize())


def _country(code: str) -> str:
    return countries.name(code) or code


def _status_label(status: str) -> str:
    return str(f.STATUS_LABELS.get(status, status))


def _put_error(exc: ServiceError, form, names=None) -> None:
    """Show a service error at its field when the form has it, else above the form."""
    field = exc.field if exc.field in (names or form.fields) else None
    form.add_error(field, exc.message)


# --- dashboard ---------------------------------------------------------------------------------


def _format_metric(value, unit: str, currency: str) -> str:
    value = Decimal(value)
    if unit == "money":
        return _amount(value, currency)
    if unit == "score":
        return _number(value, 1)
    return _quantity(value)


# What each metric period counts, in the partner's words (the figure resets with it).
PERIOD_WORDS = {
    "fiscal_year_to_date": gettext_lazy("this fiscal year so far"),
    "previous_fiscal_year": gettext_lazy("the last fiscal year"),
    "trailing_12_months": gettext_lazy("the last 12 months"),
    "calendar_quarter": gettext_lazy("this calendar quarter so far"),
    "all_time": gettext_lazy("all time"),
}


def _requirement(req: dict, currency: str) -> dict:
    """A requirement dict of ``tiers.selectors.explain`` with what the page shows."""
    if req["kind"] == "any":
        return {**req, "items": [_requirement(i, currency) for i in req["items"]]}
    value, threshold = Decimal(req["value"]), Decimal(req["threshold"])
    if threshold > 0:
        percent = min(Decimal(100), max(Decimal(0), value * 100 / threshold))
    else:
        percent = Decimal(100) if req["met"] else Decimal(0)
    unit = req["unit"]
    return {
        **req,
        "value_text": _format_metric(value, unit, currency),
        "threshold_text": _format_metric(threshold, unit, currency),
        "gap_text": _format_metric(req["gap"], unit, currency),
        # The bar's width in SVG user units (0-100); never localised (it is an attribute).
        "bar_width": f"{float(percent):.1f}",
        "percent_text": _number(percent, 0),
        "period_text": PERIOD_WORDS.get(req.get("period") or "", ""),
    }


def _track_names(explanations, on: dt.date) -> dict:
    """``(program key, track key) -> Track`` of the versions in force (one query)."""
    keys = {(e.program, e.track) for e in explanations}
    if not keys:
        return {}
    tracks = (
        Track.objects.filter(
            version__program__key__in={p for p, _t in keys},
            key__in={t for _p, t in keys},
            version__effective_from__lte=on,
        )
        .select_related("version__program")
        .order_by("version__effective_from", "version__number")
    )
    return {(t.version.program.key, t.key): t for t in tracks}  # the latest version wins


def _billings_requirement(requirements: list[dict]) -> dict | None:
    for req in requirements:
        if req["kind"] == "any":
            found = _billings_requirement(req["items"])
        else:
            found = req if req["metric"] == "billings" and not req["params"] else None
        if found:
            return found
    return None


def _tier_cards(explanations, on: dt.date) -> list[dict]:
    tracks = _track_names(explanations, on)
    cards = []
    for e in explanations:
        track = tracks.get((e.program, e.track))
        currency = track.version.currency if track else ""
        nxt = e.next
        cards.append(
            {
                "program": track.version.program.name if track else e.program,
                "track": track.name if track else e.track,
                "currency": currency,
                "explanation": e,
                "current": [_requirement(r, currency) for r in e.current.requirements],
                "next_requirements": (
                    [_requirement(r, currency) for r in nxt.requirements] if nxt else []
                ),
                "billings": _billings_requirement(nxt.requirements) if nxt else None,
            }
        )
    return cards


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.year * 12 + day.month - 1 - back
    return dt.date(month // 12, month % 12 + 1, 1)


def _billings_chart(request, on: dt.date, cards: list[dict]) -> dict:
    """Monthly net billings of the last 12 months (one aggregate query) against the monthly
    pace of the next tier's billings requirement, when one has a threshold."""
    start = _month_start(on, 11)
    rows = (
        sales_selectors.billing_line_list(
            fetched_by=request.user, partner_id=request.partner.pk, date_from=start, date_to=on
        )
        .annotate(month=TruncMonth("invoice_date"))
        .values("month", "currency")
        .annotate(total=Sum("net_amount_minor"))
        .order_by()
    )
    totals: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        totals[row["currency"]][month] = row["total"] or 0
    target_card = next((c for c in cards if c["billings"]), None)
    currency = (
        target_card["currency"]
        if target_card
        else next((c["currency"] for c in cards if c["currency"]), "")
    )
    if not currency and totals:
        currency = max(totals, key=lambda cur: len(totals[cur]))
    months = [_month_start(on, back) for back in range(11, -1, -1)]
    amounts = [from_minor(totals.get(currency, {}).get(m, 0), currency or "USD") for m in months]
    target = target_label = None
    if target_card:
        req = target_card["billings"]
        per_month = PERIOD_MONTHS.get(req["period"] or "")
        if per_month:
            target = Decimal(req["threshold"]) / per_month
            target_label = _("%(tier)s pace: %(amount)s a month") % {
                "tier": target_card["explanation"].next.tier_name,
                "amount": _amount(target.quantize(Decimal(1)), currency),
            }
    labels = [formats.date_format(m, "M 'y") for m in months]
    svg = charts.bar_chart(
        list(zip(labels, amounts, strict=True)),
        title=_("Net billings per month (%(currency)s)") % {"currency": currency or "-"},
        target=target,
        target_label=target_label or "",
    )
    return {
        "svg": svg,
        "currency": currency,
        "rows": [
            {"label": formats.date_format(m, "F Y"), "amount": _amount(a, currency or "USD")}
            for m, a in zip(months, amounts, strict=True)
        ],
        "target_text": target_label,
        "other_currencies": sorted(c for c in totals if c != currency),
        "empty": not any(amounts),
    }


def _pipeline(request) -> list[dict]:
    """Registrations by status with their count and estimated value (one aggregate query)."""
    rows = (
        deal_selectors.registration_list(fetched_by=request.user)
        .prefetch_related(None)
        .order_by()
        .values("status", "currency")
        .annotate(n=Count("id"), value=Sum("estimated_value_minor"))
    )
    by_status: dict[str, dict] = {}
    for row in rows:
        entry = by_status.setdefault(row["status"], {"count": 0, "values": []})
        entry["count"] += row["n"]
        entry["values"].append(_money(row["value"] or 0, row["currency"]))
    return [
        {
            "status": status,
            "label": _status_label(status),
            "count": by_status[status]["count"],
            "values": sorted(by_status[status]["values"]),
        }
        for status in f.STATUS_ORDER
        if status in by_status
    ]


def _decorate(registrations) -> list:
    regs = list(registrations)
    for reg in regs:
        reg.status_label = _status_label(reg.status)
        reg.value_text = _money(reg.estimated_value_minor, reg.currency)
    return regs


@partner_page
@require_GET
def home(request):
    on = timezone.localdate()
    cards = _tier_cards(tier_selectors.explain(partner=request.partner, as_of=on), on)
    expiring = training_selectors.expiring_certifications(
        on=on, days=EXPIRY_WINDOW_DAYS, fetched_by=request.user, partner=request.partner
    )
    recent = deal_selectors.registration_list(fetched_by=request.user)[:5]
    return _page(
        request,
        "portal/home.html",
        {
            "today": on,
            "cards": cards,
            "billings": _billings_chart(request, on, cards),
            "pipeline": _pipeline(request),
            "expiring": list(expiring),
            "expiry_days": EXPIRY_WINDOW_DAYS,
            "recent": _decorate(recent),
            "balances": _incentive_balances(request.partner),
        },
    )


def _incentive_balances(partner) -> dict:
    """The dashboard's money card: payable and held balance per incentive kind and currency
    (one grouped query), and the MDF fund with what is committed and available (two)."""
    from django.db.models import Q

    from partnerhub.incentives.models import IncentiveKind, LedgerEntry
    from partnerhub.mdf.services import funds

    labels = dict(IncentiveKind.choices)
    rows = (
        LedgerEntry.objects.filter(partner_id=partner.pk)
        .exclude(kind=IncentiveKind.MDF)
        .values("kind", "currency")
        .annotate(
            payable_minor=Sum("amount_minor", filter=Q(payable=True)),
            held_minor=Sum("amount_minor", filter=Q(payable=False)),
        )
        .order_by("kind", "currency")
    )

    incentives = [
        {
            "label": labels.get(r["kind"], r["kind"]),
            "payable": _money(r["payable_minor"], r["currency"]),
            "held": _money(r["held_minor"], r["currency"]),
        }
        for r in rows
        if r["payable_minor"] or r["held_minor"]
    ]
    mdf = [
        {
            "fund": _money(f.fund_minor, f.currency),
            "committed": _money(f.committed_minor, f.currency),
            "available": _money(f.available_minor, f.currency),
        }
        for f in funds(partner_id=partner.pk)
    ]
    return {"incentives": incentives, "mdf": mdf}


# --- deal registrations: list ------------------------------------------------------------------


@partner_page
@require_GET
def deal_list(request):
    filters = f.StatusFilterForm(request.GET or None)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    qs = deal_selectors.registration_list(fetched_by=request.user, status=status or None)
    page = Paginator(qs, DEALS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _decorate(page.object_list)
    context = {
        "filters": filters,
        "status": status,
        "page": page,
        "several_partners": len(member_partner_ids(request.user)) > 1,
    }
    if request.htmx and request.htmx.target == "deal-results":
        response = _page(request, "portal/deals/list.html#results", context)
    else:
        response = _page(request, "portal/deals/list.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- deal registrations: the form, and the live conflict hints ----------------------------------


def _conflict_hints(user, *, name="", website="", email="", country="") -> dict:
    """The API's conflict check (``deals.api.conflict_check``) in the portal's words: another
    partner's registration is never named; the partner's own are shown in full."""
    ident = matching.identity(name or "", website or "", email or "", (country or "").upper())
    if not ident.name_key and not ident.domain and not ident.email_domain:
        return {"level": "", "message": _("Type the customer's name or website."), "items": []}
    hits = deal_services.conflicts_for(ident)
    own = member_partner_ids(user)
    others = [h for h in hits if h.registration.partner_id not in own]
    protected = [h for h in others if h.registration.status == DealStatus.APPROVED]
    if protected:
        until = max(h.registration.protected_until for h in protected)
        level = "bad"
        message = _(
            "Another partner holds an approved registration of this customer, protected "
            "through %(until)s. You can still submit; the earlier registration has priority."
        ) % {"until": formats.date_format(until)}
    elif others:
        level = "warn"
        message = _(
            "Another partner has already submitted a registration of this customer; it has "
            "priority if approved. You can still submit, and yours will be flagged for review."
        )
    elif hits:
        level = ""
        message = _("Your organisation already has an active registration of this customer.")
    else:
        level = "ok"
        message = _("No active registration of this customer.")
    items = []
    for hit in hits[:10]:
        view = deal_selectors.conflict_view(user, hit, own)
        matched = [m for m in view["fields"] if m["score"] > 0]
        items.append(
            {
                **view,
                "status_label": _status_label(view["status"]),
                "matched": (
                    [m["detail"] for m in matched]
                    if view["own"]
                    else list(
                        dict.fromkeys(
                            str(f.MATCH_FIELD_LABELS.get(m["field"], m["field"].replace("_", " ")))
                            for m in matched
                        )
                    )
                ),
            }
        )
    return {"level": level, "message": message, "items": items, "checked": True}


@partner_page
@require_POST
def conflict_hints(request):
    """The hint area of the registration form, refreshed by htmx as the user types."""
    require(request.user, "deals.check_conflicts", None, _("Sign in to check for conflicts."))
    form = f.ConflictHintForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    hints = _conflict_hints(
        request.user,
        name=data.get("customer_name", ""),
        website=data.get("customer_website", ""),
        email=data.get("contact_email", ""),
        country=data.get("customer_country", ""),
    )
    template = "portal/deals/form.html#hints" if request.htmx else "portal/deals/hints_page.html"
    return _page(request, template, {"hints": hints})


def _programs(partner) -> list[tuple[str, str]]:
    memberships = partner_selectors.track_memberships(partner=partner)
    return sorted({(m.program.key, m.program.name) for m in memberships})


def _product_choices() -> list[tuple[int, str]]:
    choices = []
    for p in sales_selectors.product_list(is_active=True):
        label = f"{p.sku} · {p.name}"
        if p.required_certification_id:
            label += " " + _("(requires %(certification)s)") % {
                "certification": p.required_certification.name
            }
        choices.append((p.pk, label))
    return choices


def _registration_form(*args, **kwargs) -> f.RegistrationForm:
    return f.RegistrationForm(*args, hints_url=reverse("portal:deal-conflict-hints"), **kwargs)


def _formset(products, *, data=None, initial=None, extra=None):
    formset = f.ProductFormSet(
        data, prefix="products", initial=initial, form_kwargs={"product_choices": products}
    )
    if extra is not None:
        formset.extra = extra
    return formset


def _unbound_copy(form, formset, programs, products, *, add_row: bool):
    """The same inputs as an unbound form (no errors shown): for "add a product row" and
    "check for conflicts", which save nothing."""
    initial = {name: form[name].value() for name in form.fields}
    rows = [
        {"product": row["product"].value(), "quantity": row["quantity"].value()}
        for row in formset.forms
    ]
    return (
        _registration_form(initial=initial, programs=programs),
        _formset(products, initial=rows, extra=1 if add_row else 0),
    )


def _save_registration(request, form, formset, reg, action: str, products_errors: list):
    """Create or update through the services; on a ServiceError, put it at its field and
    return None."""
    lines, rows = f.product_lines(formset)
    if any(row.errors for row in formset.forms):
        return None
    data = form.service_data()
    data["products"] = lines
    submit = action == "submit"
    try:
        if reg is None:
            require(request.user, "deals.add_dealregistration", request.partner)
            return deal_services.registration_create(
                partner=request.partner, data=data, created_by=request.user, submit=submit
            )
        data.pop("program", None)
        require(request.user, "deals.change_dealregistration", reg.partner)
        with transaction.atomic():
            deal_services.registration_update(registration=reg, data=data, updated_by=request.user)
            if submit:
                deal_services.registration_submit(registration=reg, submitted_by=request.user)
        return reg
    except ServiceError as exc:
        field = exc.field or ""
        parts = field.split(".")
        if parts[0] == "products" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(rows):
                row = formset.forms[rows[index]]
                row.add_error("quantity" if parts[-1] == "quantity" else "product", exc.message)
            else:
                products_errors.append(exc.message)
        elif parts[0] == "products":
            products_errors.append(exc.message)
        else:
            _put_error(exc, form)
        return None


def _deal_form(request, reg=None):
    programs = [] if reg is not None else _programs(request.partner)
    products = _product_choices()
    products_errors: list[str] = []
    hints = None
    if request.method == "POST":
        action = request.POST.get("action", "draft")
        form = _registration_form(request.POST, programs=programs)
        formset = _formset(products, data=request.POST)
        if action in ("add_row", "check"):
            form, formset = _unbound_copy(
                form, formset, programs, products, add_row=action == "add_row"
            )
        elif form.is_valid() & formset.is_valid():
            saved = _save_registration(request, form, formset, reg, action, products_errors)
            if saved is not None:
                if saved.status == DealStatus.SUBMITTED:
                    messages.success(
                        request,
                        _("%(reference)s is submitted for review.")
                        % {"reference": saved.reference},
                    )
                else:
                    messages.success(
                        request,
                        _("%(reference)s is saved as a draft.") % {"reference": saved.reference},
                    )
                return redirect("portal:deal-detail", saved.pk)
        typed = {name: form[name].value() or "" for name in form.fields}
        hints = _conflict_hints(
            request.user,
            name=typed.get("customer_name", "")[:200],
            website=typed.get("customer_website", "")[:253],
            email=typed.get("contact_email", "")[:254],
            country=typed.get("customer_country", "")[:2],
        )
    elif reg is not None:
        current = deal_services.registration_as_input(reg)
        form = _registration_form(initial=current, programs=programs)
        formset = _formset(products, initial=f.product_initial(current["products"]))
        hints = _conflict_hints(
            request.user,
            name=reg.customer_name,
            website=reg.customer_website,
            email=reg.contact_email,
            country=reg.customer_country,
        )
    else:
        form = _registration_form(initial=_new_initial(request.partner), programs=programs)
        formset = _formset(products)
    return _page(
        request,
        "portal/deals/form.html",
        {
            "form": form,
            "formset": formset,
            "products_errors": products_errors,
            "registration": reg,
            "hints": hints,
        },
    )


def _new_initial(partner) -> dict:
    on = timezone.localdate()
    tracks = partner_selectors.track_memberships(partner=partner)
    currency = ""
    for membership in tracks:
        version = membership.program.version_as_of(on)
        if version is not None:
            currency = version.currency
            break
    return {"currency": currency, "source": "partner_sourced"}


@partner_page
@require_http_methods(["GET", "POST"])
def deal_new(request):
    require(
        request.user,
        "deals.add_dealregistration",
        request.partner,
        _("Only the partner's own people register its deals."),
    )
    return _deal_form(request)


def _id(value: int) -> int:
    """An id from the URL: larger than any stored id is simply not found (no overflow)."""
    if not 1 <= value <= MAX_ID:
        raise Http404
    return value


def _registration(request, pk: int):
    return deal_selectors.registration_get(fetched_by=request.user, registration_id=_id(pk))


def _require_change(request, reg) -> None:
    require(
        request.user,
        "deals.change_dealregistration",
        reg.partner,
        _("Only the partner's own people change its registrations."),
    )


@partner_page
@require_http_methods(["GET", "POST"])
def deal_edit(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    if reg.status != DealStatus.DRAFT:
        messages.error(request, _("Only drafts can be edited."))
        return redirect("portal:deal-detail", reg.pk)
    return _deal_form(request, reg)


# --- deal registrations: detail and actions ----------------------------------------------------


def _detail(request, reg, status: int = 200, **forms):
    own = member_partner_ids(request.user)
    conflicts = list(
        reg.conflicts.filter(other__partner_id__in=own).select_related("other__partner")
    )
    for conflict in conflicts:
        conflict.other.status_label = _status_label(conflict.other.status)
    history = list(reg.history.all())
    for change in history:
        change.from_label = _status_label(change.from_status) if change.from_status else ""
        change.to_label = _status_label(change.to_status)
    extensions = list(reg.extensions.all())
    for ext in extensions:
        ext.status_label = str(f.EXTENSION_LABELS.get(ext.status, ext.status))
    products = list(reg.products.all())
    for line in products:
        line.quantity_text = _quantity(line.quantity)
    reg.status_label = _status_label(reg.status)
    reg.value_text = _money(reg.estimated_value_minor, reg.currency)
    pending = any(e.status == "pending" for e in extensions)
    active = reg.status in (DealStatus.DRAFT, DealStatus.SUBMITTED, DealStatus.APPROVED)
    context = {
        "registration": reg,
        "country": _country(reg.customer_country),
        "source_label": dict(f.SOURCE_CHOICES).get(reg.source, reg.source),
        "products": products,
        "history": history,
        "extensions": extensions,
        "conflicts": conflicts,
        "attachments": list(reg.attachments.all()),
        "can_change": request.user.has_perm("deals.change_dealregistration", reg.partner),
        "is_draft": reg.status == DealStatus.DRAFT,
        "can_close": reg.status in (DealStatus.SUBMITTED, DealStatus.APPROVED, DealStatus.EXPIRED),
        "can_extend": reg.status == DealStatus.APPROVED and not pending,
        "extension_pending": pending,
        "can_attach": active and len(reg.attachments.all()) < deal_services.MAX_ATTACHMENTS,
        "close_form": forms.get("close_form") or f.CloseLostForm(),
        "extension_form": forms.get("extension_form") or f.ExtensionForm(),
        "attachment_form": forms.get("attachment_form") or f.AttachmentForm(),
        "action_error": forms.get("action_error"),
    }
    return _page(request, "portal/deals/detail.html", context, status=status)


@partner_page
@require_GET
def deal_detail(request, pk: int):
    return _detail(request, _registration(request, pk))


@partner_page
@require_POST
def deal_submit(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    try:
        deal_services.registration_submit(registration=reg, submitted_by=request.user)
    except ServiceError as exc:
        return _detail(request, _registration(request, pk), action_error=exc.message)
    messages.success(
        request, _("%(reference)s is submitted for review.") % {"reference": reg.reference}
    )
    return redirect("portal:deal-detail", reg.pk)


@partner_page
@require_http_methods(["GET", "POST"])
def deal_delete(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    error = None
    if request.method == "POST":
        reference = reg.reference
        try:
            deal_services.registration_delete(registration=reg)
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, _("%(reference)s is deleted.") % {"reference": reference})
            return redirect("portal:deals")
    reg.status_label = _status_label(reg.status)
    return _page(request, "portal/deals/delete.html", {"registration": reg, "error": error})


@partner_page
@require_POST
def deal_close(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    form = f.CloseLostForm(request.POST)
    if form.is_valid():
        try:
            deal_services.registration_close(
                registration=reg,
                by=request.user,
                outcome=DealStatus.LOST,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            _put_error(exc, form)
        else:
            messages.success(
                request, _("%(reference)s is closed as lost.") % {"reference": reg.reference}
            )
            return redirect("portal:deal-detail", reg.pk)
    return _detail(request, _registration(request, pk), close_form=form)


@partner_page
@require_POST
def deal_extend(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    form = f.ExtensionForm(request.POST)
    if form.is_valid():
        try:
            deal_services.extension_request(
                registration=reg,
                requested_by=request.user,
                days=form.cleaned_data["days"],
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            _put_error(exc, form)
        else:
            messages.success(
                request,
                _("Your extension request for %(reference)s is sent to your partner manager.")
                % {"reference": reg.reference},
            )
            return redirect("portal:deal-detail", reg.pk)
    return _detail(request, _registration(request, pk), extension_form=form)


@partner_page
@require_POST
def deal_attach(request, pk: int):
    reg = _registration(request, pk)
    _require_change(request, reg)
    form = f.AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = deal_services.attachment_add(
                registration=reg, upload=form.cleaned_data["file"], uploaded_by=request.user
            )
        except ServiceError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, _("%(name)s is attached.") % {"name": attachment.name})
            return redirect("portal:deal-detail", reg.pk)
    return _detail(request, _registration(request, pk), attachment_form=form)


@partner_page
@require_GET
def deal_attachment(request, pk: int, attachment_id: int):
    reg = _registration(request, pk)
    attachment = next((a for a in reg.attachments.all() if a.pk == _id(attachment_id)), None)
    if attachment is None:
        raise Http404(_("No such attachment."))
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


# --- users and invitations ---------------------------------------------------------------------


def _require_user_admin(request) -> None:
    if not _can_manage_users(request):
        raise PermissionDenied(_("Only your organisation's admins manage its users."))


def _users_page(request, *, invite_form=None, member_errors=None, status: int = 200):
    partner = request.partner
    members = list(partner_selectors.partner_users(partner=partner))
    member_errors = member_errors or {}
    for member in members:
        member.form = f.MemberForm(initial={"role": member.role}, prefix=f"member-{member.user_id}")
        member.role_label = str(f.ROLE_LABELS.get(member.role, member.role))
        member.error = member_errors.get(member.user_id)
        member.is_me = member.user_id == request.user.pk
    invitations = (
        partner_selectors.invitation_list(partner=partner)
        .filter(accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )
    invitations = list(invitations)
    for invitation in invitations:
        invitation.role_label = str(f.ROLE_LABELS.get(invitation.role, invitation.role))
    return _page(
        request,
        "portal/users.html",
        {
            "members": members,
            "invitations": invitations,
            "can_invite": request.user.has_perm("partners.invite_user", partner),
            "invite_form": invite_form or f.InvitationForm(),
            "invitation_days": settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS,
        },
        status=status,
    )


@partner_page
@require_GET
def users(request):
    _require_user_admin(request)
    return _users_page(request)


@partner_page
@require_POST
def user_update(request, user_id: int):
    _require_user_admin(request)
    member = partner_selectors.partner_user_get(partner=request.partner, user_id=_id(user_id))
    action = request.POST.get("action", "role")
    kwargs: dict = {}
    if action == "deactivate":
        kwargs["is_active"] = False
    elif action == "activate":
        kwargs["is_active"] = True
    else:
        form = f.MemberForm(request.POST, prefix=f"member-{user_id}")
        if not form.is_valid():
            return _users_page(request, member_errors={user_id: _("Choose a role.")})
        kwargs["role"] = form.cleaned_data["role"]
    try:
        partner_services.partner_user_update(actor=request.user, member=member, **kwargs)
    except ServiceError as exc:
        return _users_page(request, member_errors={user_id: exc.message})
    messages.success(request, _("%(email)s is updated.") % {"email": member.user.email})
    return redirect("portal:users")


@partner_page
@require_POST
def invitation_create(request):
    _require_user_admin(request)
    require(
        request.user,
        "partners.invite_user",
        request.partner,
        _("Your organisation may not invite users; ask your partner manager."),
    )
    form = f.InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = partner_services.invitation_create(
                actor=request.user,
                partner=request.partner,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ServiceError as exc:
            _put_error(exc, form)
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(
                request,
                _("An invitation is on its way to %(email)s.") % {"email": invitation.email},
            )
            return redirect("portal:users")
    return _users_page(request, invite_form=form)


@partner_page
@require_POST
def invitation_revoke(request, invitation_id: int):
    _require_user_admin(request)
    invitation = partner_selectors.invitation_get(
        partner=request.partner, invitation_id=_id(invitation_id)
    )
    require(request.user, "partners.change_invitation", request.partner)
    try:
        partner_services.invitation_revoke(invitation=invitation)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The invitation of %(email)s is revoked.") % {"email": invitation.email}
        )
    return redirect("portal:users")


# --- training ----------------------------------------------------------------------------------


@partner_page
@require_GET
def training(request):
    on = timezone.localdate()
    require(request.user, "training.view_person", request.partner)
    people = training_selectors.person_list(partner=request.partner).prefetch_related(
        Prefetch(
            "certifications",
            queryset=PersonCertification.objects.select_related("certification").order_by(
                "-earned_on", "-id"
            ),
        )
    )
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    badges = {"current": "ok", "expired": "warn", "revoked": "bad"}
    labels = {"current": _("Current"), "expired": _("Expired"), "revoked": _("Revoked")}
    rows = list(page.object_list)
    for person in rows:
        person.certs = list(person.certifications.all())
        for pc in person.certs:
            pc.status = training_selectors.status_on(pc, on)
            pc.status_label = labels[pc.status]
            pc.badge = badges[pc.status]
    page.object_list = rows
    catalogue = list(training_selectors.certification_list())
    for cert in catalogue:
        cert.courses = list(cert.required_courses.all())
        cert.fee_text = _money(cert.fee_minor, cert.currency) if cert.fee_minor else ""
    return _page(
        request, "portal/training.html", {"page": page, "catalogue": catalogue, "today": on}
    )
