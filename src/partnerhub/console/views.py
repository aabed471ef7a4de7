"""Vendor console pages (/console/): thin views over selectors and services.

Every page works as plain HTML forms and links; htmx only enhances (a filter form refreshes
its table, review decisions swap their item). Reads go through selectors with
``fetched_by=request.user`` (a foreign id answers 404), permissions through
``core.permissions`` with the same names as the API, and writes through services, whose
``ServiceError`` / ``Conflict`` messages are shown at the field they name.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from partnerhub.console import forms, selectors
from partnerhub.console import services as console_services
from partnerhub.console import tasks as console_tasks
from partnerhub.core import charts
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.permissions import reads_all_partners, require
from partnerhub.deals import selectors as deal_selectors
from partnerhub.deals import services as deal_services
from partnerhub.partners import selectors as partner_selectors
from partnerhub.portal.access import staff_page
from partnerhub.programs.schema import ProgramInvalid, parse_program
from partnerhub.programs.services import definition_hash, program_load
from partnerhub.tiers import selectors as tier_selectors
from partnerhub.tiers import services as tier_services
from partnerhub.tiers.models import TierOverride, TierSource
from partnerhub.tiers.simulate import simulate

PER_PAGE = 25
REVIEWERS_ONLY = gettext_lazy(
    "Only the vendor staff who manage this partner review its registrations."
)


def _partial(request, target: str) -> bool:
    """An htmx request that wants only the fragment ``target`` (not a history restore)."""
    return bool(
        request.htmx and not request.htmx.history_restore_request and request.htmx.target == target
    )


def _attach(form, exc: ServiceError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _next_url(request, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


def _page(request, qs, param: str = "page"):
    return Paginator(qs, PER_PAGE).get_page(request.GET.get(param))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- program health ---------------------------------------------------------------------------


@staff_page
def home(request):
    """Program health. The staff who read every partner see the stored snapshot (computed here
    once if there is none yet; refreshed by a task after tier evaluations, billing imports and
    the daily deal run, and queued when the snapshot is from an earlier day); a partner
    manager sees the same figures computed live over their partners."""
    user = request.user
    today = timezone.localdate()
    snapshot = None
    if reads_all_partners(user):
        snapshot = selectors.latest_health()
        if snapshot is None:
            snapshot = console_services.program_health_refresh(on=today)
        elif snapshot.as_of < today:
            console_tasks.queue_refresh_on_commit()
    health = selectors.program_health(fetched_by=user, on=today, snapshot=snapshot)
    for h in health.history:
        h.chart = charts.stacked_bars(
            [
                (date_format(end, "M y"), {name: c[key] for key, name in h.tiers})
                for end, c in zip(h.months, h.counts, strict=True)
            ],
            keys=[name for _, name in h.tiers],
            title=_("Partners per tier at each month end: %(track)s") % {"track": h.track.label},
        )
        h.rows = [
            (end, [c[key] for key, _ in h.tiers]) for end, c in zip(h.months, h.counts, strict=True)
        ]
    return render(
        request,
        "console/home.html",
        {
            "today": today,
            "health": health,
            "tiers_now": health.tiers_now,
            "history": health.history,
            "pipeline": health.pipeline,
            "waiting": selectors.review_counts(fetched_by=user),
            "top": health.top,
            "can_review": user.has_perm("deals.view_review_queue"),
        },
    )


# --- partners ---------------------------------------------------------------------------------


@staff_page
def partner_list(request):
    user = request.user
    tracks = selectors.catalogue()
    form = forms.PartnerFilterForm(
        request.GET or None,
        tracks=list(tracks.values()),
        countries=selectors.partner_countries(fetched_by=user),
        managers=selectors.partner_managers(),
    )
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.partner_table(
        fetched_by=user,
        track=filters.get("track") or "",
        tier=filters.get("tier") or "",
        country=filters.get("country") or "",
        status=filters.get("status") or "",
        manager_id=filters.get("manager"),
        q=filters.get("q") or "",
    )
    page = _page(request, qs)
    rows = [(p, selectors.membership_tiers(p, tracks)) for p in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "query": _query_without_page(request)}
    if _partial(request, "partner-results"):
        return render(request, "console/partners.html#results", context)
    return render(request, "console/partners.html", context)


def _partner_context(request, partner, override_form=None):
    user = request.user
    tracks = selectors.catalogue()
    today = timezone.localdate()
    can_override = user.has_perm("tiers.add_tieroverride", partner)
    if override_form is None and can_override:
        override_form = forms.OverrideForm(
            choices=selectors.override_choices(partner, tracks), auto_id="id_override_%s"
        )
    by_key = {(t.program_key, t.track_key): t for t in tracks.values()}
    sources = dict(TierSource.choices)
    explanations = tier_selectors.explain(partner=partner, as_of=today)
    for e in explanations:
        info = by_key.get((e.program, e.track))
        e.track_label = info.label if info else f"{e.program} · {e.track}"
        e.currency = info.currency if info else ""
        e.source_label = sources.get(e.source, e.source)
    history = list(tier_selectors.tier_history(partner=partner))
    overrides = list(selectors.active_overrides(partner=partner, on=today))
    for row in history + overrides:
        info = tracks.get((row.program_id, row.track_key))
        row.track_label = info.label if info else f"{row.program.key} · {row.track_key}"
        name = info.tier_name if info else str
        if isinstance(row, TierOverride):
            row.tier_name = name(row.tier_key)
        else:
            row.from_name = name(row.from_tier_key) if row.from_tier_key else ""
            row.to_name = name(row.to_tier_key)
    return {
        "partner": partner,
        "today": today,
        "contacts": partner_selectors.contact_list(partner=partner),
        "users": partner_selectors.partner_users(partner=partner),
        "memberships": selectors.membership_tiers(
            partner, tracks, tiers=tier_selectors.partner_tiers(partner=partner)
        ),
        "explanations": explanations,
        "history": history,
        "overrides": overrides,
        "override_form": override_form,
        "can_override": can_override,
        "can_revoke": user.has_perm("tiers.change_tieroverride", partner),
        "registrations": selectors.with_values(
            deal_selectors.registration_list(fetched_by=user, partner_id=partner.pk)[:10]
        ),
        "billings": selectors.partner_billings_this_year(partner=partner, on=today),
        "people": selectors.partner_people_counts(partner=partner, on=today),
    }


@staff_page
def partner_detail(request, partner_id: int):
    partner = partner_selectors.partner_get(fetched_by=request.user, partner_id=partner_id)
    return render(request, "console/partner_detail.html", _partner_context(request, partner))


@staff_page
@require_POST
def override_create(request, partner_id: int):
    partner = partner_selectors.partner_get(fetched_by=request.user, partner_id=partner_id)
    require(
        request.user,
        "tiers.add_tieroverride",
        partner,
        _("Only program admins and the partner's manager override tiers."),
    )
    tracks = selectors.catalogue()
    form = forms.OverrideForm(
        request.POST, choices=selectors.override_choices(partner, tracks), auto_id="id_override_%s"
    )
    if form.is_valid():
        program_key, track_key, tier_key = form.target()
        try:
            program = selectors.program_by_key(program_key)
            if program is None:
                raise ServiceError(_("No such program."), field="tier")
            tier_services.tier_override_create(
                actor=request.user,
                partner=partner,
                program=program,
                track_key=track_key,
                tier_key=tier_key,
                reason=form.cleaned_data["reason"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except ServiceError as exc:
            if exc.field in ("program", "track"):
                exc.field = "tier"
            _attach(form, exc)
        else:
            messages.success(
                request, _("Override saved: it applies from the next tier evaluation.")
            )
            if _partial(request, "overrides"):
                return render(
                    request,
                    "console/partner_detail.html#overrides",
                    _partner_context(request, partner),
                )
            return redirect(reverse("console:partner", args=[partner.pk]) + "#overrides")
    context = _partner_context(request, partner, override_form=form)
    if _partial(request, "overrides"):
        return render(request, "console/partner_detail.html#overrides", context)
    return render(request, "console/partner_detail.html", context, status=400)


@staff_page
@require_POST
def override_revoke(request, override_id: int):
    override = selectors.override_get(fetched_by=request.user, override_id=override_id)
    partner = override.partner
    require(
        request.user,
        "tiers.change_tieroverride",
        partner,
        _("Only program admins and the partner's manager revoke overrides."),
    )
    try:
        tier_services.tier_override_revoke(override=override)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Override revoked."))
    if _partial(request, "overrides"):
        partner = partner_selectors.partner_get(fetched_by=request.user, partner_id=partner.pk)
        return render(
            request, "console/partner_detail.html#overrides", _partner_context(request, partner)
        )
    return redirect(reverse("console:partner", args=[partner.pk]) + "#overrides")


# --- deal registrations -----------------------------------------------------------------------


def _review_forms(user, reg, approve_form=None, reject_form=None):
    """Attach the decision forms (ids unique per registration) when the user may decide."""
    reg.can_review = user.has_perm("deals.review_dealregistration", reg.partner)
    if reg.can_review:
        priority = getattr(reg, "priority", True)
        reg.approve_form = approve_form or forms.ApproveForm(
            priority=priority, auto_id=f"id_approve_{reg.pk}_%s"
        )
        reg.reject_form = reject_form or forms.RejectForm(auto_id=f"id_reject_{reg.pk}_%s")
    return reg


def _extension_form(ext, form=None):
    ext.form = form or forms.ExtensionDecisionForm(auto_id=f"id_ext_{ext.pk}_%s")
    return ext


@staff_page
def review_queue(request):
    user = request.user
    require(user, "deals.view_review_queue", None, REVIEWERS_ONLY)
    page = _page(request, selectors.review_queue(fetched_by=user))
    items = selectors.review_items(list(page.object_list), fetched_by=user)
    for reg in items:
        _review_forms(user, reg)
    extensions = [
        _extension_form(e)
        for e in selectors.pending_extensions(fetched_by=user)[:50]
        if user.has_perm("deals.review_dealregistration", e.registration.partner)
    ]
    return render(
        request,
        "console/review_queue.html",
        {"page": page, "items": items, "extensions": extensions, "query": ""},
    )


def _registration(request, registration_id: int):
    return deal_selectors.registration_get(fetched_by=request.user, registration_id=registration_id)


def _registration_context(request, reg, approve_form=None, reject_form=None, ext_form=None):
    user = request.user
    selectors.with_values([reg])
    reg.conflicts_now = selectors.live_conflicts(fetched_by=user, registration=reg)
    reg.priority = not any(c["earlier"] for c in reg.conflicts_now)
    if reg.status == "submitted":
        _review_forms(user, reg, approve_form, reject_form)
    pending = next((e for e in reg.extensions.all() if e.status == "pending"), None)
    if pending is not None:
        _extension_form(pending, ext_form)
    return {
        "reg": reg,
        "pending_extension": pending,
        "can_decide_extension": user.has_perm("deals.review_dealregistration", reg.partner),
        "products": reg.products.all(),
        "history": reg.history.all(),
    }


@staff_page
def registration_detail(request, registration_id: int):
    reg = _registration(request, registration_id)
    return render(request, "console/registration_detail.html", _registration_context(request, reg))


def _queue_item(request, reg, notice="", **forms_):
    """The review item of ``reg`` re-read after a decision (or with the failed form)."""
    waiting = selectors.review_queue(fetched_by=request.user).filter(pk=reg.pk).first()
    if waiting is None:  # decided: show its new state
        reg = _registration(request, reg.pk)
    else:
        reg = selectors.review_items([waiting], fetched_by=request.user)[0]
        _review_forms(request.user, reg, forms_.get("approve_form"), forms_.get("reject_form"))
    return render(request, "console/review_queue.html#item", {"reg": reg, "notice": notice})


def _decide(request, registration_id: int, action: str):
    reg = _registration(request, registration_id)
    require(request.user, "deals.review_dealregistration", reg.partner, REVIEWERS_ONLY)
    form_class = forms.ApproveForm if action == "approve" else forms.RejectForm
    form = form_class(request.POST, auto_id=f"id_{action}_{reg.pk}_%s")
    if form.is_valid():
        try:
            if action == "approve":
                deal_services.registration_approve(
                    registration=reg,
                    approved_by=request.user,
                    override_reason=form.cleaned_data["override_reason"],
                )
            else:
                deal_services.registration_reject(
                    registration=reg,
                    rejected_by=request.user,
                    reason=form.cleaned_data["reason"],
                )
        except ServiceError as exc:
            _attach(form, exc)
            status = exc.status_code
        else:
            done = (_("%(ref)s approved.") if action == "approve" else _("%(ref)s rejected.")) % {
                "ref": reg.reference
            }
            if _partial(request, f"reg-{reg.pk}"):
                return _queue_item(request, reg, notice=done)
            messages.success(request, done)
            return HttpResponseRedirect(_next_url(request, reverse("console:review-queue")))
    else:
        status = 400
    forms_ = {f"{action}_form": form}
    if _partial(request, f"reg-{reg.pk}"):
        # htmx swaps 2xx answers only: the item comes back with the message at its field.
        return _queue_item(request, reg, **forms_)
    context = _registration_context(request, reg, **forms_)
    return render(request, "console/registration_detail.html", context, status=status)


@staff_page
@require_POST
def registration_approve(request, registration_id: int):
    return _decide(request, registration_id, "approve")


@staff_page
@require_POST
def registration_reject(request, registration_id: int):
    return _decide(request, registration_id, "reject")


@staff_page
@require_POST
def extension_decide(request, extension_id: int):
    ext = deal_selectors.extension_get(fetched_by=request.user, extension_id=extension_id)
    require(request.user, "deals.review_dealregistration", ext.registration.partner, REVIEWERS_ONLY)
    form = forms.ExtensionDecisionForm(request.POST, auto_id=f"id_ext_{ext.pk}_%s")
    status = 400
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            ext = deal_services.extension_decide(
                extension=ext,
                decided_by=request.user,
                approve=approve,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            _attach(form, exc)
            status = exc.status_code
        else:
            ext = deal_selectors.extension_get(fetched_by=request.user, extension_id=ext.pk)
            if _partial(request, f"ext-{ext.pk}"):
                return render(request, "console/review_queue.html#extension", {"ext": ext})
            messages.success(
                request,
                _("Extension approved: %(ref)s is protected through %(until)s.")
                % {"ref": ext.registration.reference, "until": ext.new_until}
                if approve
                else _("Extension refused."),
            )
            return HttpResponseRedirect(_next_url(request, reverse("console:review-queue")))
    _extension_form(ext, form)
    if _partial(request, f"ext-{ext.pk}"):
        return render(request, "console/review_queue.html#extension", {"ext": ext})
    reg = _registration(request, ext.registration_id)
    context = _registration_context(request, reg, ext_form=form)
    return render(request, "console/registration_detail.html", context, status=status)


# --- programs ---------------------------------------------------------------------------------


def _numbered(source: str, errors) -> tuple[list[dict], list]:
    """The source as numbered lines, each with the errors found on it; and the errors that
    have no line (whole-file problems)."""
    by_line: dict[int, list] = {}
    loose = []
    lines = source.split("\n")
    for e in errors:
        if e.line and 1 <= e.line <= len(lines):
            by_line.setdefault(e.line, []).append(e)
        else:
            loose.append(e)
    return [
        {"number": i, "text": text, "errors": by_line.get(i, [])}
        for i, text in enumerate(lines, start=1)
    ], loose


def _what_if_rows(spec, report) -> list[dict]:
    """The simulation's rows with the track and tier names of the candidate file."""
    names = {
        (track.key, tier.key): (track.name, tier.name)
        for track in spec.tracks
        for tier in track.tiers
    }
    return [
        {
            **row,
            "track_name": names.get((row["track"], row["tier"]), (row["track"], ""))[0],
            "tier_name": names.get((row["track"], row["tier"]), ("", row["tier"]))[1],
        }
        for row in report.tiers
    ]


class _Rehearsal(Exception):
    pass


def _load_rehearsal(source: str, user) -> None:
    """Run ``program_load`` in a transaction that is always rolled back, so the checks it makes
    beyond the schema (a new version may not take effect before the current one) are reported
    before the what-if. Raises ProgramInvalid; nothing is stored."""
    try:
        with transaction.atomic():
            program_load(source=source, actor=user)
            raise _Rehearsal
    except (_Rehearsal, Conflict):
        pass


@staff_page
def programs(request):
    user = request.user
    require(user, "programs.add_program", None, _("Only program admins load programs."))
    context: dict = {"step": "upload"}
    form = forms.ProgramUploadForm()
    if request.method == "POST" and request.POST.get("action") == "activate":
        activate = forms.ProgramActivateForm(request.POST)
        if activate.is_valid():
            source = activate.cleaned_data["source"]
            try:
                result = program_load(source=source, actor=user)
            except ProgramInvalid as exc:
                context.update(step="invalid", errors=exc.errors)
                context["lines"], context["loose"] = _numbered(source, exc.errors)
                form = forms.ProgramUploadForm(initial={"source": source})
            except ServiceError as exc:
                form = forms.ProgramUploadForm(initial={"source": source})
                context["load_error"] = exc.message
            else:
                version = result.version
                if result.created:
                    messages.success(
                        request,
                        _("%(name)s version %(number)s is loaded, in force from %(date)s.")
                        % {
                            "name": version.name,
                            "number": version.number,
                            "date": version.effective_from,
                        },
                    )
                else:
                    messages.info(
                        request,
                        _("Nothing changed: this is version %(number)s of %(name)s.")
                        % {"name": version.name, "number": version.number},
                    )
                return redirect("console:programs")
    elif request.method == "POST":
        form = forms.ProgramUploadForm(request.POST, request.FILES)
        if form.is_valid():
            source = form.cleaned_data["source"]
            try:
                spec = parse_program(source)
                _load_rehearsal(source, user)
            except ProgramInvalid as exc:
                context.update(step="invalid", errors=exc.errors)
                context["lines"], context["loose"] = _numbered(source, exc.errors)
            else:
                report = simulate(source=source, as_of=timezone.localdate())
                context.update(
                    step="what-if",
                    spec=spec,
                    report=report,
                    tier_rows=_what_if_rows(spec, report),
                    same_as=selectors.version_with_hash(spec.key, definition_hash(spec)),
                    activate=forms.ProgramActivateForm(initial={"source": source}),
                )
            # Keep the text in the form, to correct it or check it again.
            form = forms.ProgramUploadForm(initial={"source": source})
    context.update(form=form, programs=selectors.programs_with_versions())
    status = 400 if context["step"] == "invalid" else 200
    return render(request, "console/programs.html", context, status=status)


# --- audit ------------------------------------------------------------------------------------


@staff_page
def audit_log(request):
    user = request.user
    require(user, "auditlog.view_logentry", None, _("Only vendor staff read the audit log."))
    form = forms.AuditFilterForm(request.GET or None, models=selectors.audited_models())
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.audit_entries(
        fetched_by=user, model=filters.get("model") or "", actor=filters.get("actor") or ""
    )
    page = _page(request, qs)
    actions = dict(LogEntry.Action.choices)
    entries = [
        {
            "entry": e,
            "action": actions.get(e.action, e.action),
            "model": e.content_type.model_class()._meta.verbose_name
            if e.content_type.model_class()
            else e.content_type.model,
            "changes": _changes(e),
        }
        for e in page.object_list
    ]
    context = {
        "form": form,
        "page": page,
        "entries": entries,
        "query": _query_without_page(request),
    }
    if _partial(request, "audit-results"):
        return render(request, "console/audit.html#results", context)
    return render(request, "console/audit.html", context)


def _changes(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) of an audit entry; auditlog writes a missing value as "None"."""

    def shown(value) -> str:
        return "" if value is None or value == "None" else str(value)

    out = []
    for name, values in (entry.changes_dict or {}).items():
        if isinstance(values, list | tuple) and len(values) == 2:
            out.append((name, shown(values[0]), shown(values[1])))
        else:
            out.append((name, "", shown(values)))
    return out
