"""Settlement pages of the vendor console (/console/settlements/): site-host contracts, settlement
runs (start, progress, finalise), statements (filters, detail with the per-session lines,
payments) and charging sessions.

Thin views as in ``views.py``: reads through the settlement and charging selectors with
``fetched_by=request.user`` (a partner manager sees their partners only; anything else is a
404), permissions through ``core.permissions`` (``settlements.*``), writes through
``settlements.services`` whose ``ServiceError`` / ``Conflict`` is shown at its field. A run is
queued as a background task on commit; its page shows the status on reload and, with
JavaScript, polls every 2 seconds while it is queued or running.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.charging import session_selectors
from partnerhub.console.picker import picker_from
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor
from partnerhub.core.permissions import require
from partnerhub.core.schemas import MAX_ID
from partnerhub.portal.access import staff_page
from partnerhub.portal.views_sitehost import (
    kwh,
    money,
    percent,
    replaced_draft_redirect,
    statement_context,
)
from partnerhub.portal.views_sitehost import statement_download as _download
from partnerhub.settlements import selectors, services
from partnerhub.settlements.models import (
    PARTNER_OPTIONS,
    REMOTE_PERMISSIONS,
    PaymentDirection,
    RunStatus,
    StatementStatus,
)

PER_PAGE = 25
SESSIONS_PER_PAGE = 50
CONTRACTS_ONLY = gettext_lazy("Only program admins and the partner's manager change contracts.")
FINANCE_ONLY = gettext_lazy("Only program admins and finance run and finalise settlements.")
PAYMENTS_ONLY = gettext_lazy("Only program admins and finance record payments.")


def _id(value: int) -> int:
    from django.http import Http404

    if not 1 <= value <= MAX_ID:
        raise Http404
    return value


def _attach(form, exc: ServiceError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _query_without(request, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _month_text(day: dt.date | None) -> str:
    return f"{day:%Y-%m}" if day else ""


def _last_month() -> dt.date:
    first = timezone.now().astimezone(dt.UTC).date().replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


class MonthField(forms.CharField):
    """A month as YYYY-MM (``<input type="month">``), parsed by ``services.parse_month``."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return services.parse_month(value)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None


# --- contracts ----------------------------------------------------------------------------------


def _number_field(label, help_text="", required=False):
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class ContractForm(forms.Form):
    """Every option of a contract. Only parses: the service validates (months in order,
    percentages 0-100, reimbursement only with deduction, no overlap) and names the field."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    # Rendered and read by the partner picker (console/picker.py), not by this form.
    partner = forms.CharField(label=gettext_lazy("Partner"), required=False)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="EUR")
    start_month = forms.CharField(
        label=gettext_lazy("First month"), widget=forms.TextInput(attrs={"type": "month"})
    )
    end_month = forms.CharField(
        label=gettext_lazy("Last month"), widget=forms.TextInput(attrs={"type": "month"})
    )
    auto_renew = forms.BooleanField(
        label=gettext_lazy("Renews month by month after the last month"), required=False
    )
    terminated_after = forms.CharField(
        label=gettext_lazy("Terminated after (auto-renewing only)"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
    )
    ac_share_percent = _number_field(gettext_lazy("Partner share of AC revenue, %"), required=True)
    dc_share_percent = _number_field(gettext_lazy("Partner share of DC revenue, %"), required=True)
    exclude_connection_fee = forms.BooleanField(
        label=gettext_lazy("The connection fee stays with the operator"), required=False
    )
    deduct_electricity = forms.BooleanField(
        label=gettext_lazy("Deduct electricity cost before sharing"), required=False
    )
    reimburse_electricity = forms.BooleanField(
        label=gettext_lazy("Reimburse the partner's electricity (needs deduction)"),
        required=False,
    )
    session_fee_ac = _number_field(gettext_lazy("Session fee AC"), gettext_lazy("Per session."))
    session_fee_dc = _number_field(gettext_lazy("Session fee DC"), gettext_lazy("Per session."))
    kwh_fee_ac = _number_field(gettext_lazy("kWh fee AC"), gettext_lazy("Per kWh, 6 places."))
    kwh_fee_dc = _number_field(gettext_lazy("kWh fee DC"), gettext_lazy("Per kWh, 6 places."))
    handling_fee_percent = _number_field(gettext_lazy("Handling fee, % of the share"))
    platform_fee_charge_point = _number_field(
        gettext_lazy("Platform fee per charge point"), gettext_lazy("A month, excl. VAT.")
    )
    platform_fee_ac_evse = _number_field(
        gettext_lazy("Platform fee per AC EVSE"), gettext_lazy("A month, excl. VAT.")
    )
    platform_fee_dc_evse = _number_field(
        gettext_lazy("Platform fee per DC EVSE"), gettext_lazy("A month, excl. VAT.")
    )
    vat_percent = _number_field(gettext_lazy("VAT on the operator's fees, %"))

    GROUPS = (
        (gettext_lazy("Contract"), ("name", "partner", "currency")),
        (
            gettext_lazy("Term"),
            ("start_month", "end_month", "auto_renew", "terminated_after"),
        ),
        (
            gettext_lazy("Revenue sharing"),
            (
                "ac_share_percent",
                "dc_share_percent",
                "exclude_connection_fee",
                "deduct_electricity",
                "reimburse_electricity",
            ),
        ),
        (
            gettext_lazy("Fees taken from the partner's share"),
            (
                "session_fee_ac",
                "session_fee_dc",
                "kwh_fee_ac",
                "kwh_fee_dc",
                "handling_fee_percent",
            ),
        ),
        (
            gettext_lazy("Monthly platform fees"),
            (
                "platform_fee_charge_point",
                "platform_fee_ac_evse",
                "platform_fee_dc_evse",
                "vat_percent",
            ),
        ),
        (gettext_lazy("Remote operations allowed"), tuple(n for n, _label in REMOTE_PERMISSIONS)),
        (gettext_lazy("Partner options"), tuple(n for n, _label in PARTNER_OPTIONS)),
    )

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in REMOTE_PERMISSIONS + PARTNER_OPTIONS:
            self.fields[name] = forms.BooleanField(label=label, required=False)
        if editing:
            del self.fields["partner"]

    def groups(self):
        return [
            (title, [self[n] for n in names if n in self.fields]) for title, names in self.GROUPS
        ]

    def data_for_service(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("partner", None)
        return data


def _contract_initial(contract) -> dict:
    initial = {
        name: getattr(contract, name)
        for name in ContractForm.base_fields
        if name != "partner" and hasattr(contract, name) and not name.endswith("_month")
    }
    for name, _label in REMOTE_PERMISSIONS + PARTNER_OPTIONS:
        initial[name] = getattr(contract, name)
    for name in ("start_month", "end_month", "terminated_after"):
        initial[name] = _month_text(getattr(contract, name))
    for name in services.MINOR_FEES:
        initial[name] = from_minor(getattr(contract, f"{name}_minor"), contract.currency)
    return initial


@staff_page
@require_GET
def contract_list(request):
    user = request.user
    qs = selectors.contract_list(fetched_by=user).order_by("partner__display_name", "start_month")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(partner__display_name__icontains=q) | Q(name__icontains=q))
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate().replace(day=1)
    for c in page.object_list:
        last = c.terminated_after if c.auto_renew else c.end_month
        c.in_force = c.start_month <= today and (last is None or last >= today)
        c.shares = f"{percent(c.ac_share_percent)} / {percent(c.dc_share_percent)}"
    return render(
        request,
        "console/settlements/contracts.html",
        {
            "page": page,
            "q": q,
            "query": _query_without(request, "page"),
            "can_add": user.has_perm("settlements.change_contract", None),
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def contract_new(request):
    user = request.user
    if not user.has_perm("settlements.change_contract", None):
        raise PermissionDenied(CONTRACTS_ONLY)
    # The partner is the picker's (console/picker.py): never a list of every partner.
    picker = picker_from(
        request, label=_("Partner"), data=request.POST if request.method == "POST" else None
    )
    if request.method == "POST":
        form = ContractForm(request.POST)
        valid = form.is_valid()
        partner = picker.partner
        if partner is not None and not user.has_perm("settlements.change_contract", partner):
            partner, picker.partner = None, None
            picker.error = _("Choose one of your partners.")
        elif partner is None and not picker.error:
            picker.error = _("Choose a partner from the list.")
        if valid and partner is not None:
            try:
                contract = services.contract_create(
                    partner=partner, data=form.data_for_service(), created_by=user
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(
                    request, _("Contract %(name)s is saved.") % {"name": contract.name}
                )
                return redirect("console:contract", contract.pk)
        status = 400
    else:
        first = timezone.localdate().replace(day=1)
        form = ContractForm(
            initial={
                "start_month": _month_text(first),
                "end_month": _month_text(first.replace(year=first.year + 2)),
                "ac_share_percent": "",
                "dc_share_percent": "",
            },
        )
        status = 200
    return render(
        request,
        "console/settlements/contract_form.html",
        {"form": form, "contract": None, "picker": picker},
        status=status,
    )


@staff_page
@require_GET
def contract_detail(request, contract_id: int):
    user = request.user
    contract = selectors.contract_get(fetched_by=user, contract_id=_id(contract_id))
    c = contract.currency
    fees = [
        (
            _("Session fee AC / DC"),
            " / ".join(
                money(m, c) for m in (contract.session_fee_ac_minor, contract.session_fee_dc_minor)
            ),
        ),
        (
            _("kWh fee AC / DC"),
            f"{contract.kwh_fee_ac.normalize():f} / {contract.kwh_fee_dc.normalize():f} "
            f"{c} per kWh",
        ),
        (_("Handling fee"), percent(contract.handling_fee_percent)),
        (_("Platform fee per charge point"), money(contract.platform_fee_charge_point_minor, c)),
        (_("Platform fee per AC EVSE"), money(contract.platform_fee_ac_evse_minor, c)),
        (_("Platform fee per DC EVSE"), money(contract.platform_fee_dc_evse_minor, c)),
        (_("VAT on the operator's fees"), percent(contract.vat_percent)),
    ]
    statements = list(
        selectors.statement_list(fetched_by=user, partner_id=contract.partner_id).filter(
            contract=contract
        )[:24]
    )
    for st in statements:
        st.net_text = money(st.net_minor, st.currency)
    return render(
        request,
        "console/settlements/contract_detail.html",
        {
            "contract": contract,
            "shares": (percent(contract.ac_share_percent), percent(contract.dc_share_percent)),
            "fees": fees,
            "remote": [(label, getattr(contract, n)) for n, label in REMOTE_PERMISSIONS],
            "options": [(label, getattr(contract, n)) for n, label in PARTNER_OPTIONS],
            "statements": statements,
            "can_change": user.has_perm("settlements.change_contract", contract.partner),
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def contract_edit(request, contract_id: int):
    user = request.user
    contract = selectors.contract_get(fetched_by=user, contract_id=_id(contract_id))
    require(user, "settlements.change_contract", contract.partner, CONTRACTS_ONLY)
    status = 200
    if request.method == "POST":
        form = ContractForm(request.POST, editing=True)
        if form.is_valid():
            try:
                services.contract_update(
                    contract=contract, data=form.data_for_service(), updated_by=user
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(
                    request, _("Contract %(name)s is saved.") % {"name": contract.name}
                )
                return redirect("console:contract", contract.pk)
        status = 400
        contract.refresh_from_db()
    else:
        form = ContractForm(editing=True, initial=_contract_initial(contract))
    return render(
        request,
        "console/settlements/contract_form.html",
        {"form": form, "contract": contract},
        status=status,
    )


# --- settlement runs ----------------------------------------------------------------------------


class RunForm(forms.Form):
    month = MonthField(label=gettext_lazy("Month"))
    finalise = forms.BooleanField(
        label=gettext_lazy("Finalise the statements when the run succeeds"),
        required=False,
        help_text=gettext_lazy("Final statements are numbered and never change."),
    )


RUN_BADGES = {
    RunStatus.QUEUED: "",
    RunStatus.RUNNING: "warn",
    RunStatus.SUCCEEDED: "ok",
    RunStatus.FAILED: "bad",
}


def _decorate_run(run):
    run.badge = RUN_BADGES.get(run.status, "")
    run.active = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    return run


@staff_page
@require_http_methods(["GET", "POST"])
def run_list(request):
    user = request.user
    require(user, "settlements.view_settlementrun", None, _("Vendor staff only."))
    can_run = user.has_perm("settlements.run_settlement")
    status = 200
    form = RunForm(initial={"month": _month_text(_last_month())})
    if request.method == "POST":
        require(user, "settlements.run_settlement", None, FINANCE_ONLY)
        form = RunForm(request.POST)
        if form.is_valid():
            try:
                run = services.settlement_run_create(
                    month=form.cleaned_data["month"],
                    finalise=form.cleaned_data["finalise"],
                    by=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                from partnerhub.settlements.tasks import run_settlement

                transaction.on_commit(lambda: run_settlement.enqueue(run_id=run.pk))
                messages.success(
                    request,
                    _("The settlement of %(month)s is queued.") % {"month": f"{run.month:%Y-%m}"},
                )
                return redirect("console:settlement-run", run.pk)
        status = 400
    page = Paginator(selectors.run_list().select_related("created_by"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    for run in page.object_list:
        _decorate_run(run)
    return render(
        request,
        "console/settlements/runs.html",
        {"page": page, "form": form, "can_run": can_run},
        status=status,
    )


@staff_page
@require_GET
def run_detail(request, run_id: int):
    user = request.user
    require(user, "settlements.view_settlementrun", None, _("Vendor staff only."))
    run = _decorate_run(selectors.run_get(_id(run_id)))
    drafts = selectors.statement_list(
        fetched_by=user, month=run.month, status=StatementStatus.DRAFT
    )
    context = {
        "run": run,
        "drafts": drafts.count() if run.status == RunStatus.SUCCEEDED else 0,
        "can_finalise": user.has_perm("settlements.finalise_statement", None),
        "finalise_from": services.finalisable_from(run.month),
    }
    if request.htmx and request.htmx.target == "run-status":
        return render(request, "console/settlements/run_detail.html#status", context)
    return render(request, "console/settlements/run_detail.html", context)


# --- statements ---------------------------------------------------------------------------------


class StatementFilterForm(forms.Form):
    """The statement filters; the partner is the picker's (``console/picker.py``)."""

    month = MonthField(label=gettext_lazy("Month"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *StatementStatus.choices],
    )


def _partner_filter(request, label):
    """The partner picker of a filter form: never a list of every partner."""
    return picker_from(request, label=label, any_label=_("Any partner"))


def _by_picker(qs, picker, field: str = "partner"):
    """Without a chosen partner (JavaScript off), the rows of the partners whose name contains
    the typed text (the chosen partner is the selectors' ``partner_id``)."""
    if picker.name_filter:
        return qs.filter(**{f"{field}__display_name__icontains": picker.name_filter})
    return qs


@staff_page
@require_GET
def statement_list(request):
    user = request.user
    form = StatementFilterForm(request.GET or None)
    picker = _partner_filter(request, _("Partner"))
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.statement_list(
        fetched_by=user,
        month=filters.get("month"),
        partner_id=picker.partner_id,
        status=filters.get("status") or None,
    )
    qs = _by_picker(qs, picker)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    for st in page.object_list:
        st.net_text = money(st.net_minor, st.currency)
        st.revenue_text = money(st.revenue_minor, st.currency)
    month = filters.get("month")
    drafts, drafts_month = 0, month
    if user.has_perm("settlements.finalise_statement", None):
        open_drafts = selectors.statement_list(fetched_by=user, status=StatementStatus.DRAFT)
        if drafts_month is None:
            # No month chosen: the oldest month that is over and still has drafts, so that
            # finance sees what waits without filtering first (one query either way).
            this_month = services.today().replace(day=1)
            oldest = (
                open_drafts.filter(month__lt=this_month)
                .values("month")
                .annotate(n=Count("id"))
                .order_by("month")
                .first()
            )
            drafts_month, drafts = (oldest["month"], oldest["n"]) if oldest else (None, 0)
        else:
            drafts = open_drafts.filter(month=drafts_month).count()
    context = {
        "form": form,
        "picker": picker,
        "page": page,
        "query": _query_without(request, "page"),
        "month": month,
        "drafts": drafts,
        "drafts_month": drafts_month,
        "finalise_from": services.finalisable_from(drafts_month) if drafts_month else None,
    }
    if request.htmx and request.htmx.target == "statement-results":
        return render(request, "console/settlements/statements.html#results", context)
    return render(request, "console/settlements/statements.html", context)


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("Yes, finalise: final statements are numbered and never change."),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


@staff_page
@require_http_methods(["GET", "POST"])
def month_finalise(request):
    """Finalise every draft of a month, after a confirmation page."""
    user = request.user
    require(user, "settlements.finalise_statement", None, FINANCE_ONLY)
    month_field = MonthField()
    try:
        month = month_field.clean(request.POST.get("month") or request.GET.get("month"))
    except forms.ValidationError:
        month = None
    if month is None:
        messages.error(request, _("Choose a month first."))
        return redirect("console:settlement-statements")
    try:
        services.refuse_unfinished(month)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('console:settlement-statements')}?month={month:%Y-%m}")
    drafts = selectors.statement_list(fetched_by=user, month=month, status=StatementStatus.DRAFT)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Queued, not done in the request: at scale the finalisation writes every
        # per-session line of the month (minutes for millions of sessions).
        run = services.settlement_run_create(month=month, finalise=True, recompute=False, by=user)
        from partnerhub.settlements.tasks import run_settlement

        transaction.on_commit(lambda: run_settlement.enqueue(run_id=run.pk))
        messages.success(
            request,
            _("Finalising the drafts of %(month)s is queued.") % {"month": _month_text(month)},
        )
        return redirect("console:settlement-run", run.pk)
    return render(
        request,
        "console/settlements/confirm.html",
        {
            "form": form,
            "action": reverse("console:settlement-month-finalise"),
            "month": _month_text(month),
            "title": _("Finalise every draft of %(month)s") % {"month": _month_text(month)},
            "count": drafts.count(),
            # What is finalised is what the last run computed: say when that was.
            "computed_by": selectors.run_list()
            .filter(month=month, status=RunStatus.SUCCEEDED, recompute=True)
            .select_related("created_by")
            .first(),
            "cancel": f"{reverse('console:settlement-statements')}?month={_month_text(month)}",
        },
        status=400 if request.method == "POST" else 200,
    )


class PaymentForm(forms.Form):
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), choices=PaymentDirection.choices)
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.CharField(
        label=gettext_lazy("Amount"), widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("The partner sees it with the payment on its statement."),
    )
    allow_excess = forms.BooleanField(
        label=gettext_lazy(
            "Record it anyway, although it is more than the open balance or goes the other "
            "way (an overpayment, or the refund of one)"
        ),
        required=False,
    )


def _statement(request, statement_id: int):
    statement = selectors.statement_get(fetched_by=request.user, statement_id=_id(statement_id))
    require(request.user, "settlements.view_statement", statement.partner)
    return statement


def _statement_page(request, statement, *, payment_form=None, status=200):
    user = request.user
    context = statement_context(request, statement, vendor=True)
    can_pay = statement.is_final and user.has_perm("settlements.add_payment", statement.partner)
    if can_pay and payment_form is None:
        direction = (
            PaymentDirection.MADE if (context["balance"] or 0) >= 0 else PaymentDirection.RECEIVED
        )
        payment_form = PaymentForm(
            initial={
                "direction": direction,
                "paid_on": timezone.localdate(),
                "amount": from_minor(abs(context["balance"] or 0), statement.currency),
            }
        )
    context.update(
        {
            "payment_form": payment_form,
            "payment_template": "console/settlements/_payment_form.html" if can_pay else "",
            "finalise_from": None
            if statement.is_final
            else services.finalisable_from(statement.month),
            "can_finalise": not statement.is_final
            and user.has_perm("settlements.finalise_statement", statement.partner),
            "pdf_url": reverse("console:settlement-statement-pdf", args=[statement.pk]),
            "csv_url": reverse("console:settlement-statement-csv", args=[statement.pk]),
            "sessions_csv_url": reverse(
                "console:settlement-statement-sessions-csv", args=[statement.pk]
            ),
        }
    )
    return render(request, "console/settlements/statement_detail.html", context, status=status)


@staff_page
@require_GET
def statement_detail(request, statement_id: int):
    try:
        statement = _statement(request, statement_id)
    except Http404:
        return replaced_draft_redirect(request, statement_id, "console:settlement-statement")
    return _statement_page(request, statement)


@staff_page
@require_http_methods(["GET", "POST"])
def statement_finalise(request, statement_id: int):
    user = request.user
    statement = _statement(request, statement_id)
    require(user, "settlements.finalise_statement", statement.partner, FINANCE_ONLY)
    detail = reverse("console:settlement-statement", args=[statement.pk])
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            statement = services.statement_finalise(statement=statement, by=user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Statement %(number)s is final.") % {"number": statement.number}
            )
        return redirect(detail)
    return render(
        request,
        "console/settlements/confirm.html",
        {
            "form": form,
            "action": reverse("console:settlement-statement-finalise", args=[statement.pk]),
            "title": _("Finalise the statement of %(partner)s for %(month)s")
            % {"partner": statement.partner.display_name, "month": _month_text(statement.month)},
            "statement": statement,
            "net_text": money(statement.net_minor, statement.currency),
            "cancel": detail,
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_POST
def payment_create(request, statement_id: int):
    user = request.user
    statement = _statement(request, statement_id)
    require(user, "settlements.add_payment", statement.partner, PAYMENTS_ONLY)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(
                statement=statement,
                direction=form.cleaned_data["direction"],
                paid_on=form.cleaned_data["paid_on"],
                amount=form.cleaned_data["amount"].strip(),
                note=form.cleaned_data["note"],
                allow_excess=form.cleaned_data["allow_excess"],
                by=user,
            )
        except ServiceError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("The payment is recorded."))
            return redirect("console:settlement-statement", statement.pk)
    return _statement_page(request, statement, payment_form=form, status=400)


@staff_page
@require_GET
def statement_pdf(request, statement_id: int):
    return _download(_statement(request, statement_id), "pdf")


@staff_page
@require_GET
def statement_csv(request, statement_id: int):
    return _download(_statement(request, statement_id), "csv")


@staff_page
@require_GET
def statement_sessions_csv(request, statement_id: int):
    return _download(_statement(request, statement_id), "sessions")


# --- charging sessions --------------------------------------------------------------------------


class SessionFilterForm(forms.Form):
    """The session filters; the host partner is the picker's (``console/picker.py``)."""

    month = MonthField(label=gettext_lazy("Month"), required=False)
    flagged = forms.ChoiceField(
        label=gettext_lazy("Flagged"),
        required=False,
        choices=[
            ("", gettext_lazy("All sessions")),
            ("yes", gettext_lazy("Flagged only")),
            ("no", gettext_lazy("Not flagged")),
        ],
    )


@staff_page
@require_GET
def session_list(request):
    user = request.user
    form = SessionFilterForm(request.GET or None)
    picker = _partner_filter(request, _("Host partner"))
    filters = form.cleaned_data if form.is_valid() else {}
    flagged = {"yes": True, "no": False}.get(filters.get("flagged") or "")
    qs = session_selectors.session_list(
        fetched_by=user,
        partner_id=picker.partner_id,
        month=filters.get("month"),
        flagged=flagged,
    ).select_related("charge_point", "partner")
    qs = _by_picker(qs, picker)
    page = Paginator(qs.order_by("-start", "-id"), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for s in page.object_list:
        s.energy_text = kwh(s.energy_wh)
        s.excl_text = money(s.total_excl_vat_minor, s.currency)
        s.incl_text = money(s.total_incl_vat_minor, s.currency)
    context = {
        "form": form,
        "picker": picker,
        "page": page,
        "query": _query_without(request, "page"),
    }
    if request.htmx and request.htmx.target == "session-results":
        return render(request, "console/settlements/sessions.html#results", context)
    return render(request, "console/settlements/sessions.html", context)
