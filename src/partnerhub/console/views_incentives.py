"""Incentive pages of the vendor console (/console/incentives/): the liability per kind and
currency, accrual runs ("Run accrual now"), payout runs (reference, as of), rebate closes,
SPIFF campaigns (create) and the claims queue (approve / reject with a reason), and a
partner's statement for a period (CSV, PDF).

Thin views as in ``views_settlements.py``: reads through ``incentives.selectors`` with
``fetched_by=request.user`` (a partner manager sees their partners only; anything else is a
404), permissions through ``core.permissions`` (``incentives.*``), writes through
``incentives.services`` whose ``ServiceError`` / ``Conflict`` is shown at its field. Every page
reads with JavaScript off; the number of SQL queries does not grow with the lists.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.console.picker import picker_from
from partnerhub.console.views_settlements import _attach, _id
from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import require
from partnerhub.incentives import selectors, services
from partnerhub.incentives.api import download
from partnerhub.incentives.models import ClaimStatus, EntryType, IncentiveKind, SpiffCampaign
from partnerhub.partners.selectors import partner_get
from partnerhub.portal.access import staff_page
from partnerhub.portal.views_incentives import period_of, statement_context
from partnerhub.portal.views_sitehost import money

PER_PAGE = 25
STAFF_ONLY = gettext_lazy("Vendor staff only.")
FINANCE_ONLY = gettext_lazy("Only program admins and finance do this.")


def _date_widget():
    return forms.DateInput(attrs={"type": "date"})


@staff_page
@require_GET
def overview(request):
    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    picker = picker_from(request, label=_("Partner"))
    if picker.partner is not None:
        return redirect("console:incentives-statement", picker.partner.pk)
    rows = [
        {
            "b": b,
            "total": money(b.total_minor, b.currency),
            "payable": money(b.payable_minor, b.currency),
            "held": money(b.held_minor, b.currency),
        }
        for b in selectors.liability(fetched_by=user)
    ]
    return render(
        request,
        "console/incentives/overview.html",
        {
            "rows": rows,
            "submitted": selectors.claim_list(
                fetched_by=user, status=ClaimStatus.SUBMITTED
            ).count(),
            "last_run": selectors.accrual_runs().first(),
            "picker": picker,
        },
        status=400 if picker.error else 200,
    )


# --- accrual runs ------------------------------------------------------------------------------


@staff_page
@require_http_methods(["GET", "POST"])
def accruals(request):
    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    if request.method == "POST":
        require(user, "incentives.run_accrual", None, FINANCE_ONLY)
        run = services.accrual_run(actor=user)
        messages.success(
            request,
            _("Accrual run #%(id)s: %(lines)s new lines, %(entries)s entries.")
            % {"id": run.pk, "lines": run.lines, "entries": run.entries},
        )
        return redirect("console:incentives-accruals")
    page = Paginator(selectors.accrual_runs(), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/incentives/accruals.html",
        {"page": page, "can_run": user.has_perm("incentives.run_accrual")},
    )


# --- payout runs ---------------------------------------------------------------------------------


class PayoutForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=64)
    as_of = forms.DateField(
        label=gettext_lazy("Pay what is booked up to"),
        widget=_date_widget(),
        help_text=gettext_lazy("Today at the latest."),
    )
    currency = forms.CharField(
        label=gettext_lazy("Currency (empty: every currency)"), max_length=3, required=False
    )


@staff_page
@require_http_methods(["GET", "POST"])
def payouts(request):
    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    can_pay = user.has_perm("incentives.run_payout")
    status = 200
    form = PayoutForm(initial={"as_of": timezone.localdate()})
    if request.method == "POST":
        require(user, "incentives.run_payout", None, FINANCE_ONLY)
        form = PayoutForm(request.POST)
        if form.is_valid():
            try:
                run, created = services.payout_run(
                    reference=form.cleaned_data["reference"],
                    as_of=form.cleaned_data["as_of"],
                    currency=form.cleaned_data["currency"].upper(),
                    actor=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                if created:
                    messages.success(
                        request,
                        _("Payout %(ref)s pays %(n)s partners.")
                        % {"ref": run.reference, "n": run.partners},
                    )
                else:
                    messages.warning(
                        request,
                        _("Payout %(ref)s was already made; nothing more is paid.")
                        % {"ref": run.reference},
                    )
                return redirect("console:incentives-payouts")
        status = 400
    page = Paginator(selectors.payout_runs(), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/incentives/payouts.html",
        {"page": page, "form": form, "can_pay": can_pay},
        status=status,
    )


# --- rebate closes ---------------------------------------------------------------------------


class RebateCloseForm(forms.Form):
    program = forms.CharField(label=gettext_lazy("Program key"), max_length=64)
    rebate = forms.CharField(label=gettext_lazy("Rebate key"), max_length=64)
    period_day = forms.DateField(
        label=gettext_lazy("Any day of the ended period"), widget=_date_widget()
    )


@staff_page
@require_http_methods(["GET", "POST"])
def rebates(request):
    from partnerhub.programs.models import Program

    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    status = 200
    form = RebateCloseForm()
    if request.method == "POST":
        require(user, "incentives.close_rebate", None, FINANCE_ONLY)
        form = RebateCloseForm(request.POST)
        if form.is_valid():
            try:
                program = Program.objects.filter(key=form.cleaned_data["program"]).first()
                if program is None:
                    raise ServiceError(_("No such program."), field="program")
                close = services.rebate_close(
                    program=program,
                    rebate_key=form.cleaned_data["rebate"],
                    period_day=form.cleaned_data["period_day"],
                    actor=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(
                    request,
                    _("Rebate %(key)s closed for %(n)s partners.")
                    % {"key": close.rebate_key, "n": close.partners},
                )
                return redirect("console:incentives-rebates")
        status = 400
    page = Paginator(selectors.rebate_closes(), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/incentives/rebates.html",
        {"page": page, "form": form, "can_close": user.has_perm("incentives.close_rebate")},
        status=status,
    )


# --- SPIFF campaigns and claims ------------------------------------------------------------------


class SpiffForm(forms.Form):
    program = forms.CharField(label=gettext_lazy("Program key"), max_length=64)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    basis = forms.ChoiceField(label=gettext_lazy("Basis"), choices=SpiffCampaign.Basis.choices)
    products = forms.CharField(
        label=gettext_lazy("Product SKUs (comma-separated, sale campaigns)"), required=False
    )
    eligible_tiers = forms.CharField(
        label=gettext_lazy("Tier keys (comma-separated; empty: every tier)"), required=False
    )
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=_date_widget())
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=_date_widget())
    bounty = forms.DecimalField(label=gettext_lazy("Bounty"), max_digits=15, decimal_places=4)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="USD")
    max_claims_per_partner = forms.IntegerField(
        label=gettext_lazy("At most claims per partner"), required=False, min_value=1
    )


def _split(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


@staff_page
@require_http_methods(["GET", "POST"])
def spiffs(request):
    from partnerhub.programs.models import Program
    from partnerhub.sales.models import Product

    user = request.user
    can_create = user.has_perm("incentives.add_spiffcampaign")
    status = 200
    form = SpiffForm()
    if request.method == "POST":
        require(user, "incentives.add_spiffcampaign", None, FINANCE_ONLY)
        form = SpiffForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                program = Program.objects.filter(key=data["program"]).first()
                if program is None:
                    raise ServiceError(_("No such program."), field="program")
                skus = _split(data["products"])
                products = list(Product.objects.filter(sku__in=skus))
                unknown = sorted(set(skus) - {p.sku for p in products})
                if unknown:
                    raise ServiceError(
                        _("No products %(skus)s.") % {"skus": ", ".join(unknown)},
                        field="products",
                    )
                campaign = services.spiff_campaign_create(
                    program=program,
                    name=data["name"],
                    description=data["description"],
                    basis=data["basis"],
                    products=products,
                    eligible_tiers=_split(data["eligible_tiers"]),
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    bounty=data["bounty"],
                    currency=data["currency"].upper(),
                    max_claims_per_partner=data["max_claims_per_partner"],
                    actor=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(request, _("Campaign %(name)s is open.") % {"name": campaign.name})
                return redirect("console:incentives-spiffs")
        status = 400
    page = Paginator(selectors.campaign_list(), PER_PAGE).get_page(request.GET.get("page"))
    for c in page.object_list:
        c.bounty_text = money(c.bounty_minor, c.currency)
        c.skus = ", ".join(p.sku for p in c.products.all())
    return render(
        request,
        "console/incentives/spiffs.html",
        {"page": page, "form": form, "can_create": can_create},
        status=status,
    )


@staff_page
@require_GET
def claims(request):
    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    status_filter = request.GET.get("status", ClaimStatus.SUBMITTED)
    if status_filter not in ClaimStatus.values:
        status_filter = ""
    qs = selectors.claim_list(fetched_by=user, status=status_filter or None)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    labels = dict(ClaimStatus.choices)
    for cl in page.object_list:
        cl.status_label = labels.get(cl.status, cl.status)
        cl.can_decide = cl.status == ClaimStatus.SUBMITTED and user.has_perm(
            "incentives.decide_spiffclaim", cl.partner
        )
    return render(
        request,
        "console/incentives/claims.html",
        {
            "page": page,
            "status": status_filter,
            "statuses": ClaimStatus.choices,
            "query": f"status={status_filter}",
        },
    )


@staff_page
@require_POST
def claim_decide(request, claim_id: int):
    user = request.user
    claim = selectors.claim_get(fetched_by=user, claim_id=_id(claim_id))
    require(
        user,
        "incentives.decide_spiffclaim",
        claim.partner,
        _("Only the vendor staff who manage this partner decide its claims."),
    )
    approve = request.POST.get("decision") == "approve"
    try:
        services.spiff_claim_decide(
            claim=claim, approve=approve, reason=request.POST.get("reason", ""), actor=user
        )
    except ServiceError as exc:
        messages.error(request, _("Claim #%(id)s: %(msg)s") % {"id": claim.pk, "msg": exc.message})
    else:
        messages.success(
            request,
            (_("Claim #%(id)s approved.") if approve else _("Claim #%(id)s rejected."))
            % {"id": claim.pk},
        )
    return redirect("console:incentives-claims")


# --- a partner's statement ---------------------------------------------------------------------


@staff_page
@require_GET
def statement(request, partner_id: int):
    user = request.user
    partner = partner_get(fetched_by=user, partner_id=_id(partner_id))
    require(user, "incentives.view_incentives", partner)
    form, date_from, date_to, status = period_of(request)
    st = selectors.statement(partner, date_from, date_to)
    return render(
        request,
        "console/incentives/statement.html",
        {
            "form": form,
            "shown": partner,
            "query": f"date_from={date_from.isoformat()}&date_to={date_to.isoformat()}",
            **statement_context(st),
        },
        status=status,
    )


def _download(request, partner_id: int, kind: str):
    user = request.user
    partner = partner_get(fetched_by=user, partner_id=_id(partner_id))
    require(user, "incentives.view_incentives", partner)
    _form, date_from, date_to, status = period_of(request)
    if status != 200:
        return redirect("console:incentives-statement", partner.pk)
    return download(selectors.statement(partner, date_from, date_to), kind)


@staff_page
@require_GET
def statement_csv(request, partner_id: int):
    return _download(request, partner_id, "csv")


@staff_page
@require_GET
def statement_pdf(request, partner_id: int):
    return _download(request, partner_id, "pdf")


# --- adjustments ---------------------------------------------------------------------------------


class AdjustmentForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Incentive"), choices=IncentiveKind.choices)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=18,
        decimal_places=6,
        help_text=gettext_lazy("Signed: negative takes money back (e.g. -150.00)."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), min_length=3, max_length=3)
    booked_on = forms.DateField(label=gettext_lazy("Booked on"), widget=_date_widget())
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Shown on the partner's statement."),
    )


@staff_page
@require_http_methods(["GET", "POST"])
def adjustments(request):
    """Manual ledger entries: finance books a signed, reasoned correction for a partner
    (never an edit of an entry); everyone on staff reads the latest ones they may see."""
    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    can_adjust = user.has_perm("incentives.add_adjustment", None)
    data = request.POST if request.method == "POST" else None
    picker = picker_from(request, label=_("Partner"), data=data)
    form = AdjustmentForm(data, initial={"booked_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        require(user, "incentives.add_adjustment", None, FINANCE_ONLY)
        if form.is_valid() and picker.partner is not None:
            try:
                entry = services.adjustment_create(
                    partner=picker.partner,
                    kind=form.cleaned_data["kind"],
                    amount=form.cleaned_data["amount"],
                    currency=form.cleaned_data["currency"].upper(),
                    booked_on=form.cleaned_data["booked_on"],
                    reason=form.cleaned_data["reason"],
                    actor=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(
                    request,
                    _("Adjustment of %(amount)s booked for %(partner)s.")
                    % {
                        "amount": money(entry.amount_minor, entry.currency),
                        "partner": picker.partner.display_name,
                    },
                )
                return redirect("console:incentives-adjustments")
        elif picker.partner is None and not picker.error:
            picker.error = _("Choose the partner from the list.")
        status = 400
    entries = selectors.entry_list(fetched_by=user, entry_type=EntryType.ADJUSTMENT)
    page = Paginator(entries.select_related("created_by"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    for entry in page.object_list:
        entry.amount_text = money(entry.amount_minor, entry.currency)
    return render(
        request,
        "console/incentives/adjustments.html",
        {"page": page, "form": form, "picker": picker, "can_adjust": can_adjust},
        status=status,
    )


# --- customer payments ---------------------------------------------------------------------

MAX_SHOWN_ERRORS = 100


@staff_page
@require_http_methods(["GET", "POST"])
def payments(request):
    """Customer payments (CSV: external_id, billing_line, amount, paid_on), all or nothing,
    every refused row named; they release the commissions held until the customer pays."""
    from partnerhub.sales.imports import CsvError, CsvRows

    user = request.user
    require(user, "incentives.view_runs", None, STAFF_ONLY)
    can_import = user.has_perm("incentives.import_customerpayment", None)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        require(user, "incentives.import_customerpayment", None, FINANCE_ONLY)
        upload = request.FILES.get("file")
        if upload is None:
            errors = [_("Choose a CSV file to import.")]
        else:
            try:
                rows = list(CsvRows(upload, columns=services.PAYMENT_COLUMNS))
            except CsvError as exc:
                errors = [f"{upload.name}: {exc}"]
            else:
                report = services.customer_payments_import(rows=rows, actor=user)
                if report.refused:
                    errors = [
                        _("Row %(row)s, %(column)s: %(message)s") % e
                        for e in report.errors[:MAX_SHOWN_ERRORS]
                    ]
                    if len(report.errors) > MAX_SHOWN_ERRORS:
                        errors.append(
                            _("… and %(n)s more.") % {"n": len(report.errors) - MAX_SHOWN_ERRORS}
                        )
                else:
                    messages.success(
                        request,
                        _("%(rows)s rows: %(created)s imported, %(unchanged)s already there.")
                        % {
                            "rows": report.rows,
                            "created": report.created,
                            "unchanged": report.unchanged,
                        },
                    )
                    return redirect("console:incentives-payments")
        status = 400
    page = Paginator(selectors.payment_list(fetched_by=user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    for payment in page.object_list:
        payment.amount_text = money(payment.amount_minor, payment.currency)
    return render(
        request,
        "console/incentives/payments.html",
        {"page": page, "errors": errors, "can_import": can_import},
        status=status,
    )
