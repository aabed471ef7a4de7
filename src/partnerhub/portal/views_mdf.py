"""Partner portal pages for market development funds (/portal/mdf/): the fund's figures, the
requests, a new request, and the claim form with proof-of-performance files.

Thin views: reads through ``mdf.selectors`` with ``fetched_by=request.user`` (another
partner's request is a 404), writes through ``mdf.services``; a ``ServiceError`` is shown at
the field it names.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import member_partner_ids, require
from partnerhub.core.schemas import MAX_ID
from partnerhub.mdf import selectors, services
from partnerhub.mdf.models import ActivityType, RequestStatus
from partnerhub.portal.access import partner_page
from partnerhub.portal.views import _money, _page
from partnerhub.programs.models import Program

PER_PAGE = 25
REQUESTERS_ONLY = gettext_lazy("Only the partner's own people request and claim its MDF.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class RequestForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Activity"), max_length=200)
    activity_type = forms.ChoiceField(
        label=gettext_lazy("Type of activity"), choices=ActivityType.choices
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Ends on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    budget = forms.DecimalField(
        label=gettext_lazy("Total budget of the activity"),
        min_value=0,
        max_digits=16,
        decimal_places=4,
    )
    program = forms.ChoiceField(label=gettext_lazy("Program"), required=False)

    def __init__(self, *args, programs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [(p.key, p.name) for p in programs]
        if len(programs) <= 1:
            self.fields["program"].widget = forms.HiddenInput()


class ClaimForm(forms.Form):
    actual_cost = forms.DecimalField(
        label=gettext_lazy("Actual cost of the activity"),
        min_value=0,
        max_digits=16,
        decimal_places=4,
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    files = MultipleFileField(label=gettext_lazy("Proof of performance"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = _(
            "Invoices, photos, screenshots: PDF, images, office documents, CSV, text or ZIP; up "
            "to %(size)s per file."
        ) % {"size": filesizeformat(settings.PARTNERHUB_MAX_UPLOAD_BYTES)}


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise Http404
    return value


def _programs(request) -> list[Program]:
    return list(
        Program.objects.filter(memberships__partner=request.partner).distinct().order_by("key")
    )


def _fund_rows(partner_ids) -> list[dict]:
    names = dict(Program.objects.values_list("pk", "name"))
    rows = []
    for (partner_id, program_id, currency), f in sorted(services.funds_map(partner_ids).items()):
        rows.append(
            {
                "partner_id": partner_id,
                "program": names.get(program_id, ""),
                "fund": _money(f.fund_minor, currency),
                "committed": _money(f.committed_minor, currency),
                "available": _money(f.available_minor, currency),
                "reimbursed": _money(f.reimbursed_minor, currency),
                "payable": _money(f.payable_minor, currency),
            }
        )
    return rows


def _decorate(req) -> None:
    req.budget_text = _money(req.budget_minor, req.currency)
    req.requested_text = _money(req.requested_minor, req.currency)
    req.approved_text = (
        _money(req.approved_minor, req.currency) if req.approved_minor is not None else "—"
    )


@partner_page
@require_GET
def home(request):
    """The fund's figures and the requests, newest first."""
    qs = selectors.request_list(fetched_by=request.user)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    for req in page.object_list:
        _decorate(req)
    partner_ids = member_partner_ids(request.user)
    return _page(
        request,
        "portal/mdf/home.html",
        {
            "page": page,
            "funds": _fund_rows([request.partner.pk]),
            "several_partners": len(partner_ids) > 1,
            "can_request": request.user.has_perm("mdf.request_mdf", request.partner),
        },
    )


@partner_page
@require_http_methods(["GET", "POST"])
def request_new(request):
    require(request.user, "mdf.request_mdf", request.partner, REQUESTERS_ONLY)
    programs = _programs(request)
    form = RequestForm(request.POST or None, programs=programs)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["budget"] = str(data["budget"])
        try:
            req = services.request_create(
                partner=request.partner, data=data, submitted_by=request.user
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(ref)s is submitted: %(amount)s requested.")
                % {"ref": req.reference, "amount": _money(req.requested_minor, req.currency)},
            )
            return redirect("portal:mdf-request", req.pk)
    policies = []
    today = timezone.localdate()
    for program in programs:
        policy = services.policy_for(program, today)
        policies.append({"program": program.name, "share": policy.vendor_share.normalize()})
    return _page(
        request,
        "portal/mdf/form.html",
        {"form": form, "policies": policies},
        status=400 if form.errors else 200,
    )


def _request(request, pk: int):
    return selectors.request_get(fetched_by=request.user, request_id=_id(pk))


def _detail(request, req, claim_form=None, status: int = 200):
    _decorate(req)
    claims = list(req.claims.all())
    for claim in claims:
        claim.cost_text = _money(claim.actual_cost_minor, claim.currency)
        claim.reimbursed_text = (
            _money(claim.reimbursed_minor, claim.currency)
            if claim.reimbursed_minor is not None
            else "—"
        )
    can_change = request.user.has_perm("mdf.request_mdf", req.partner)
    can_claim = can_change and req.status == RequestStatus.APPROVED
    return _page(
        request,
        "portal/mdf/detail.html",
        {
            "req": req,
            "claims": claims,
            "can_claim": can_claim,
            "activity_over": timezone.localdate() >= req.ends_on,
            "can_close": can_change
            and req.status in (RequestStatus.SUBMITTED, RequestStatus.APPROVED),
            "claim_form": claim_form or (ClaimForm() if can_claim else None),
        },
        status=status,
    )


@partner_page
@require_GET
def request_detail(request, pk: int):
    return _detail(request, _request(request, pk))


@partner_page
@require_POST
def claim_submit(request, pk: int):
    req = _request(request, pk)
    require(request.user, "mdf.request_mdf", req.partner, REQUESTERS_ONLY)
    form = ClaimForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.claim_submit(
                request=req,
                actual_cost=str(form.cleaned_data["actual_cost"]),
                notes=form.cleaned_data["notes"],
                files=form.cleaned_data["files"],
                submitted_by=request.user,
            )
        except ServiceError as exc:
            field = {"status": None}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your claim is submitted for review."))
            return redirect("portal:mdf-request", req.pk)
    return _detail(request, _request(request, pk), claim_form=form, status=400)


@partner_page
@require_POST
def request_close(request, pk: int):
    req = _request(request, pk)
    require(request.user, "mdf.request_mdf", req.partner, REQUESTERS_ONLY)
    try:
        services.request_close(
            request=req, closed_by=request.user, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(ref)s is closed.") % {"ref": req.reference})
    return redirect("portal:mdf-request", req.pk)


@partner_page
@require_GET
def proof_download(request, claim_id: int, proof_id: int):
    proof = selectors.proof_get(
        fetched_by=request.user, claim_id=_id(claim_id), proof_id=_id(proof_id)
    )
    return FileResponse(
        proof.file.open("rb"),
        as_attachment=True,
        filename=proof.name,
        content_type=proof.content_type,
    )
