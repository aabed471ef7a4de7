"""Vendor console pages for market development funds (/console/mdf/): the approvals queue
(requests and claims side by side, each with its budget, share and the partner's fund) and
the allocation form.

Thin views: reads through ``mdf.selectors`` (only partners the user sees), writes through
``mdf.services``; every decision asks ``core.permissions`` (``mdf.review_mdf`` on the
partner: program admins and the partner's manager; ``mdf.allocate_mdf``: program admins and
finance).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.console.picker import picker_from
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, minor_digits
from partnerhub.core.permissions import require
from partnerhub.core.schemas import MAX_ID
from partnerhub.mdf import selectors, services
from partnerhub.portal.access import staff_page

QUEUE_SIZE = 50
REVIEWERS_ONLY = gettext_lazy("Only the vendor staff who manage this partner decide on its MDF.")
ALLOCATORS_ONLY = gettext_lazy("Only program admins and finance allocate MDF.")


def _money(minor: int, currency: str) -> str:
    from django.utils import formats

    amount = from_minor(minor, currency)
    return (
        formats.number_format(
            amount, decimal_pos=minor_digits(currency), use_l10n=True, force_grouping=True
        )
        + f" {currency}"
    )


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise Http404
    return value


class AllocationForm(forms.Form):
    """The partner comes from the page's partner picker; the program from a list."""

    program = forms.ChoiceField(
        label=gettext_lazy("Program"),
        required=False,
        help_text=gettext_lazy("Needed when the partner is in several programs."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from partnerhub.programs.models import Program

        self.fields["program"].choices = [("", gettext_lazy("The partner's program"))] + [
            (key, name) for key, name in Program.objects.order_by("name").values_list("key", "name")
        ]

    quarter_start = forms.DateField(
        label=gettext_lazy("Quarter starting on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("The first day of a fiscal quarter of the program."),
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=16, decimal_places=4
    )
    currency = forms.CharField(
        label=gettext_lazy("Currency"),
        max_length=3,
        required=False,
        help_text=gettext_lazy("Default: the program's currency."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def _fund_text(fund, currency) -> dict:
    return {
        "fund": _money(fund.fund_minor, currency),
        "committed": _money(fund.committed_minor, currency),
        "available": _money(fund.available_minor, currency),
        "short": fund.available_minor,
    }


@staff_page
@require_GET
def queue(request):
    """Submitted requests and claims, oldest first, with each partner's fund in two grouped
    queries."""
    user = request.user
    require(user, "mdf.view_mdf_queue", None, REVIEWERS_ONLY)
    reqs = list(selectors.pending_requests(fetched_by=user)[:QUEUE_SIZE])
    claims = list(selectors.pending_claims(fetched_by=user)[:QUEUE_SIZE])
    funds = services.funds_map([r.partner_id for r in reqs] + [c.partner_id for c in claims])
    for req in reqs:
        fund = services.fund_of(req.partner_id, req.program_id, req.currency, funds)
        req.fund = _fund_text(fund, req.currency)
        req.budget_text = _money(req.budget_minor, req.currency)
        req.requested_text = _money(req.requested_minor, req.currency)
        req.short = fund.available_minor < req.requested_minor
        req.can_review = user.has_perm("mdf.review_mdf", req.partner)
    for claim in claims:
        req = claim.request
        fund = services.fund_of(claim.partner_id, req.program_id, claim.currency, funds)
        claim.fund = _fund_text(fund, claim.currency)
        claim.cost_text = _money(claim.actual_cost_minor, claim.currency)
        claim.can_review = user.has_perm("mdf.review_mdf", claim.partner)
        claim.approved_text = _money(req.approved_minor or 0, claim.currency)
        claim.reimbursement_text = _money(
            services.reimbursement_for(
                approved_minor=req.approved_minor or 0,
                actual_cost_minor=claim.actual_cost_minor,
                percent=req.vendor_share_percent,
            ),
            claim.currency,
        )
    return render(
        request,
        "console/mdf/queue.html",
        {
            "requests": reqs,
            "claims": claims,
            "can_allocate": user.has_perm("mdf.allocate_mdf"),
        },
    )


def _decision(request, action, obj, partner):
    require(request.user, "mdf.review_mdf", partner, REVIEWERS_ONLY)
    try:
        action()
    except ServiceError as exc:
        # The queue's forms are one row each: say which field the message is about.
        field = (exc.field or "").replace("_", " ")
        where = f"{obj}, {field}" if field else str(obj)
        messages.error(request, f"{where}: {exc.message}")
    return redirect("console:mdf")


@staff_page
@require_POST
def request_approve(request, pk: int):
    req = selectors.request_get(fetched_by=request.user, request_id=_id(pk))

    def act():
        services.request_approve(
            request=req,
            approved_by=request.user,
            amount=request.POST.get("amount") or None,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("%(ref)s is approved.") % {"ref": req.reference})

    return _decision(request, act, req.reference, req.partner)


@staff_page
@require_POST
def request_reject(request, pk: int):
    req = selectors.request_get(fetched_by=request.user, request_id=_id(pk))

    def act():
        services.request_reject(
            request=req, rejected_by=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("%(ref)s is rejected.") % {"ref": req.reference})

    return _decision(request, act, req.reference, req.partner)


@staff_page
@require_POST
def claim_approve(request, pk: int):
    claim = selectors.claim_get(fetched_by=request.user, claim_id=_id(pk))

    def act():
        services.claim_approve(
            claim=claim, approved_by=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(
            request, _("The claim on %(ref)s is approved.") % {"ref": claim.request.reference}
        )

    return _decision(request, act, claim.request.reference, claim.request.partner)


@staff_page
@require_POST
def claim_reject(request, pk: int):
    claim = selectors.claim_get(fetched_by=request.user, claim_id=_id(pk))

    def act():
        services.claim_reject(
            claim=claim, rejected_by=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(
            request, _("The claim on %(ref)s is rejected.") % {"ref": claim.request.reference}
        )

    return _decision(request, act, claim.request.reference, claim.request.partner)


@staff_page
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


@staff_page
@require_http_methods(["GET", "POST"])
def allocate(request):
    require(request.user, "mdf.allocate_mdf", None, ALLOCATORS_ONLY)
    data = request.POST if request.method == "POST" else None
    picker = picker_from(request, label=_("Partner"), data=data)
    form = AllocationForm(data)
    if request.method == "POST" and picker.partner is None and not picker.error:
        picker.error = _("Choose the partner from the list.")
    if request.method == "POST" and form.is_valid() and picker.partner is not None:
        values, partner = form.cleaned_data, picker.partner
        try:
            allocation = services.allocation_create(
                partner=partner,
                program=values["program"] or None,
                quarter_start=values["quarter_start"],
                amount=str(values["amount"]),
                currency=values["currency"] or None,
                reason=values["reason"],
                created_by=request.user,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(amount)s allocated to %(partner)s for the quarter from %(day)s.")
                % {
                    "amount": _money(allocation.amount_minor, allocation.currency),
                    "partner": partner.display_name,
                    "day": allocation.quarter_start,
                },
            )
            return redirect("console:mdf")
    failed = request.method == "POST"  # a successful POST redirected above
    return render(
        request,
        "console/mdf/allocate.html",
        {"form": form, "picker": picker},
        status=400 if failed else 200,
    )
