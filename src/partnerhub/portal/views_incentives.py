"""Incentive pages of the partner portal (/portal/incentives/): balances per kind (payable and
held), the ledger with filters and pagination, a statement for a period (CSV and PDF), the
referral benefit election (partner admins) and SPIFF campaigns with a claim form and the
partner's claims.

Thin views as in ``views.py``: reads through ``incentives.selectors`` scoped to the partner
user's organisation (a sub-operator may name one of its children with ``?partner=``; any
other partner answers 404), permissions through ``core.permissions`` (``incentives.*``),
writes through ``incentives.services`` whose ``ServiceError`` is shown at its field. Every page
reads with JavaScript off; the number of SQL queries does not grow with the lists.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import require
from partnerhub.incentives import selectors, services
from partnerhub.incentives.api import download
from partnerhub.incentives.models import (
    ClaimStatus,
    EntryType,
    IncentiveKind,
    ReferralChoice,
    SpiffCampaign,
)
from partnerhub.partners.selectors import partner_get
from partnerhub.portal.access import partner_page
from partnerhub.portal.views import _id, _page
from partnerhub.portal.views_sitehost import money

ENTRIES_PER_PAGE = 50
CLAIMS_PER_PAGE = 25


def _partner(request):
    """The partner the page is about: the user's organisation, or a partner of its sub-tree
    named with ``?partner=`` (404 for any other)."""
    raw = request.GET.get("partner") or request.POST.get("partner")
    if not raw:
        return request.partner
    try:
        pk = _id(int(raw))
    except ValueError:
        from django.http import Http404

        raise Http404 from None
    return partner_get(fetched_by=request.user, partner_id=pk)


def _acting(request, shown) -> dict:
    """The "Show for" chooser of a sub-operator (its organisation and its sub-tree), the partner
    shown, and the query string that keeps it across links and forms."""
    from partnerhub.core.permissions import member_partner_ids
    from partnerhub.partners.models import Partner

    ids = member_partner_ids(request.user)
    choices = []
    if len(ids) > 1:
        choices = list(
            Partner.objects.filter(pk__in=ids).order_by("display_name").only("id", "display_name")
        )
        choices.sort(key=lambda p: p.pk != request.partner.pk)  # own organisation first
    other = shown.pk != request.partner.pk
    return {
        "shown": shown,
        "other": other,
        "acting_choices": choices,
        "acting_query": f"?partner={shown.pk}" if other else "",
    }


def _again(name: str, shown, request):
    """Redirect to a page of the same partner (``?partner=`` kept for a child)."""
    url = reverse(name)
    return redirect(f"{url}?partner={shown.pk}" if shown.pk != request.partner.pk else url)


def _attach(form, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("Every kind")), *IncentiveKind.choices],
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _decorate(entries):
    kinds, types = dict(IncentiveKind.choices), dict(EntryType.choices)
    for e in entries:
        e.kind_label = kinds.get(e.kind, e.kind)
        e.type_label = types.get(e.entry_type, e.entry_type)
        e.amount_text = money(e.amount_minor, e.currency)
    return entries


@partner_page
@require_GET
def overview(request):
    partner = _partner(request)
    require(request.user, "incentives.view_incentives", partner)
    form = LedgerFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.entry_list(
        fetched_by=request.user,
        partner_id=partner.pk,
        kind=filters.get("kind") or None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = Paginator(qs, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    _decorate(page.object_list)
    balances = [
        {
            "b": b,
            **{
                k: money(getattr(b, f"{k}_minor"), b.currency) for k in ("total", "payable", "held")
            },
        }
        for b in selectors.partner_balances(partner)
    ]
    return _page(
        request,
        "portal/incentives/overview.html",
        {
            **_acting(request, partner),
            "form": form,
            "page": page,
            "balances": balances,
        },
    )


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_from", _("The period starts after it ends."))
        return data


def period_of(request) -> tuple[PeriodForm, dt.date, dt.date, int]:
    """The period asked for (default: this year up to today) and the page status."""
    today = timezone.localdate()
    default = {"date_from": dt.date(today.year, 1, 1), "date_to": today}
    if "date_from" in request.GET or "date_to" in request.GET:
        form = PeriodForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"], 200
        return form, default["date_from"], default["date_to"], 400
    return PeriodForm(initial=default), default["date_from"], default["date_to"], 200


def statement_context(st) -> dict:
    """The figures of a statement formatted for the portal's and the console's pages."""
    sections = []
    for cs in st.currencies:
        cur = cs.currency
        balance = cs.opening_minor
        rows = []
        for e in cs.entries:
            balance += e.amount_minor
            rows.append(
                {"e": e, "amount": money(e.amount_minor, cur), "balance": money(balance, cur)}
            )
        sections.append(
            {
                "currency": cur,
                "opening": money(cs.opening_minor, cur),
                "rows": rows,
                "kinds": [(label, money(v, cur)) for _k, label, v in cs.kind_rows],
                "period": money(cs.period_minor, cur),
                "closing": money(cs.closing_minor, cur),
                "payable": money(cs.closing_payable_minor, cur),
                "held": money(cs.closing_held_minor, cur),
            }
        )
    return {"st": st, "sections": sections}


@partner_page
@require_GET
def statement(request):
    partner = _partner(request)
    require(request.user, "incentives.view_incentives", partner)
    form, date_from, date_to, status = period_of(request)
    st = selectors.statement(partner, date_from, date_to)
    query = f"date_from={date_from.isoformat()}&date_to={date_to.isoformat()}"
    if partner.pk != request.partner.pk:
        query += f"&partner={partner.pk}"
    return _page(
        request,
        "portal/incentives/statement.html",
        {**_acting(request, partner), "form": form, "query": query, **statement_context(st)},
        status=status,
    )


def _download(request, kind: str):
    partner = _partner(request)
    require(request.user, "incentives.view_incentives", partner)
    form, date_from, date_to, status = period_of(request)
    if status != 200:
        return redirect(f"{reverse('portal:incentives-statement')}?{request.GET.urlencode()}")
    return download(selectors.statement(partner, date_from, date_to), kind)


@partner_page
@require_GET
def statement_csv(request):
    return _download(request, "csv")


@partner_page
@require_GET
def statement_pdf(request):
    return _download(request, "pdf")


# --- referral election ---------------------------------------------------------------------------


class ElectionForm(forms.Form):
    program = forms.ChoiceField(label=gettext_lazy("Program"))
    choice = forms.ChoiceField(
        label=gettext_lazy("Referral benefit"),
        choices=ReferralChoice.choices,
        widget=forms.RadioSelect,
    )
    effective_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Today or later; empty means today."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [(p.key, p.name) for p in programs]


def _programs(partner):
    from partnerhub.partners.models import TrackMembership

    seen = {}
    for m in TrackMembership.objects.filter(partner=partner).select_related("program"):
        seen.setdefault(m.program.key, m.program)
    return sorted(seen.values(), key=lambda p: p.key)


@partner_page
@require_http_methods(["GET", "POST"])
def referral(request):
    partner = _partner(request)
    user = request.user
    require(user, "incentives.view_incentives", partner)
    can_elect = user.has_perm("incentives.elect_referral", partner)
    programs = _programs(partner)
    status = 200
    form = ElectionForm(programs=programs, initial={"program": programs[0].key if programs else ""})
    if request.method == "POST":
        if not can_elect:
            raise PermissionDenied(_("Only your organisation's admins elect the referral benefit."))
        form = ElectionForm(request.POST, programs=programs)
        if form.is_valid():
            try:
                services.referral_election_create(
                    partner=partner,
                    choice=form.cleaned_data["choice"],
                    effective_from=form.cleaned_data["effective_from"],
                    program_key=form.cleaned_data["program"],
                    reason=form.cleaned_data["reason"],
                    actor=user,
                )
            except ServiceError as exc:
                _attach(form, exc)
            else:
                messages.success(request, _("Your referral benefit election is saved."))
                return _again("portal:incentives-referral", partner, request)
        status = 400
    today = timezone.localdate()
    current = selectors.current_elections(partner, today)
    choices = dict(ReferralChoice.choices)
    rows = [
        {
            "program": p,
            "election": current.get(p.pk),
            "label": choices[current[p.pk].choice]
            if p.pk in current
            else _("Referral fee (default)"),
        }
        for p in programs
    ]
    history = list(selectors.election_list(fetched_by=user, partner_id=partner.pk)[:50])
    for e in history:
        e.label = choices.get(e.choice, e.choice)
    return _page(
        request,
        "portal/incentives/referral.html",
        {
            **_acting(request, partner),
            "form": form,
            "rows": rows,
            "history": history,
            "can_elect": can_elect,
        },
        status=status,
    )


# --- SPIFFs --------------------------------------------------------------------------------------


class ClaimForm(forms.Form):
    billing_line = forms.CharField(
        label=gettext_lazy("Invoice line (external id)"), required=False, max_length=100
    )
    activity = forms.CharField(label=gettext_lazy("Activity"), required=False, max_length=300)
    activity_on = forms.DateField(
        label=gettext_lazy("Day of the activity"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _open_campaigns(partner, today):
    from partnerhub.tiers.models import PartnerTier

    tiers = set(PartnerTier.objects.filter(partner=partner).values_list("tier_key", flat=True))
    programs = {p.pk for p in _programs(partner)}
    out = []
    for c in selectors.campaign_list(open_on=today):
        if c.program_id not in programs:
            continue
        if c.eligible_tiers and not tiers & set(c.eligible_tiers):
            continue
        c.bounty_text = money(c.bounty_minor, c.currency)
        c.skus = ", ".join(p.sku for p in c.products.all())
        out.append(c)
    return out


def _spiff_page(request, forms_by_campaign=None, status=200):
    partner = _partner(request)
    require(request.user, "incentives.view_incentives", partner)
    today = timezone.localdate()
    campaigns = _open_campaigns(partner, today)
    forms_by_campaign = forms_by_campaign or {}
    for c in campaigns:
        c.form = forms_by_campaign.get(c.pk) or ClaimForm(prefix=f"c{c.pk}")
    claims = selectors.claim_list(fetched_by=request.user, partner_id=partner.pk)
    page = Paginator(claims, CLAIMS_PER_PAGE).get_page(request.GET.get("page"))
    statuses = dict(ClaimStatus.choices)
    for cl in page.object_list:
        cl.status_label = statuses.get(cl.status, cl.status)
        cl.badge = {"approved": "ok", "rejected": "bad"}.get(cl.status, "")
    return _page(
        request,
        "portal/incentives/spiffs.html",
        {
            **_acting(request, partner),
            "campaigns": campaigns,
            "page": page,
            "can_claim": request.user.has_perm("incentives.claim_spiff", partner),
        },
        status=status,
    )


@partner_page
@require_GET
def spiffs(request):
    return _spiff_page(request)


@partner_page
@require_POST
def spiff_claim(request, pk: int):
    partner = _partner(request)
    require(request.user, "incentives.claim_spiff", partner)
    campaign = selectors.campaign_get(campaign_id=_id(pk))
    form = ClaimForm(request.POST, prefix=f"c{campaign.pk}")
    if form.is_valid():
        from partnerhub.sales.models import BillingLine

        data = form.cleaned_data
        try:
            line = None
            if campaign.basis == SpiffCampaign.Basis.SALE and data["billing_line"]:
                line = BillingLine.objects.filter(
                    partner=partner, external_id=data["billing_line"]
                ).first()
                if line is None:
                    raise ServiceError(
                        _("You have no invoice line %(id)s.") % {"id": data["billing_line"]},
                        field="billing_line",
                    )
            services.spiff_claim_submit(
                campaign=campaign,
                partner=partner,
                billing_line=line,
                activity=data["activity"],
                activity_on=data["activity_on"],
                actor=request.user,
            )
        except ServiceError as exc:
            _attach(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your claim is submitted."))
            return _again("portal:incentives-spiffs", partner, request)
    return _spiff_page(request, {campaign.pk: form}, status=400)
