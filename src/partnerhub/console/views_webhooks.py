"""Webhook pages of the vendor console (program admins only, like the API): the endpoints
(/console/webhooks/: list and subscribe), one endpoint (/console/webhooks/<id>/: change,
pause, rotate its secret, remove; its deliveries with status, attempts and last error) and
sending a failed delivery again. Thin views over ``webhooks.selectors`` and
``webhooks.services``; the signing secret is shown once, right after it is made."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partnerhub.console.picker import picker_from
from partnerhub.core.errors import ServiceError
from partnerhub.core.schemas import MAX_ID
from partnerhub.portal.access import staff_page
from partnerhub.webhooks import selectors, services
from partnerhub.webhooks.models import DeliveryStatus

PER_PAGE = 50
SECRET_KEY = "console_webhook_secret"  # session key: the secret to show once on the next page


def _patterns(text: str) -> list[str]:
    """Event patterns typed one per line or separated by commas or spaces."""
    return [p for p in re.split(r"[\s,]+", text or "") if p]


def _remember_secret(request, endpoint) -> None:
    request.session[SECRET_KEY] = {"id": endpoint.pk, "secret": endpoint.secret}


def _endpoint(request, endpoint_id: int):
    if not 1 <= endpoint_id <= MAX_ID:
        raise Http404
    return selectors.endpoint_get(fetched_by=request.user, endpoint_id=endpoint_id)


@staff_page
@require_http_methods(["GET", "POST"])
def endpoint_list(request):
    qs = selectors.endpoint_list(fetched_by=request.user).annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )
    data = request.POST if request.method == "POST" else request.GET
    picker = picker_from(
        request,
        label=_("Partner (optional)"),
        help_text=_(
            "Only the events of this partner; leave empty for every partner's and the vendor's."
        ),
        data=data,
    )
    values = {"url": "", "event_types": "", "description": ""}
    error = error_field = None
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        if picker.error:
            error, error_field, status = picker.error, "partner", 400
        elif picker.text and picker.partner is None:
            error, error_field, status = (
                _("Choose the partner from the list, or clear the partner box."),
                "partner",
                400,
            )
        else:
            try:
                endpoint = services.endpoint_create(
                    actor=request.user,
                    url=values["url"],
                    event_types=_patterns(values["event_types"]),
                    description=values["description"],
                    partner=picker.partner,
                )
                _remember_secret(request, endpoint)
                messages.success(request, _("The endpoint is subscribed."))
                return redirect("console:webhook", endpoint.pk)
            except ServiceError as exc:
                error, error_field, status = exc.message, exc.field, exc.status_code
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/webhooks/endpoints.html",
        {
            "page": page,
            "picker": picker,
            "values": values,
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def endpoint_detail(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    error = error_field = None
    status = 200
    values = {
        "url": endpoint.url,
        "event_types": "\n".join(endpoint.event_types),
        "description": endpoint.description,
        "is_active": endpoint.is_active,
    }
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "rotate":
                services.secret_rotate(actor=request.user, endpoint=endpoint)
                _remember_secret(request, endpoint)
                messages.success(request, _("A new secret is made; the old one no longer signs."))
                return redirect("console:webhook", endpoint.pk)
            if action == "delete":
                services.endpoint_delete(actor=request.user, endpoint=endpoint)
                messages.success(
                    request, _("The endpoint %(url)s is removed.") % {"url": values["url"]}
                )
                return redirect("console:webhooks")
            values = {
                "url": request.POST.get("url", "").strip(),
                "event_types": request.POST.get("event_types", "").strip(),
                "description": request.POST.get("description", "").strip(),
                "is_active": request.POST.get("is_active") == "on",
            }
            services.endpoint_update(
                actor=request.user,
                endpoint=endpoint,
                url=values["url"],
                event_types=_patterns(values["event_types"]),
                description=values["description"],
                is_active=values["is_active"],
            )
            messages.success(request, _("The endpoint is saved."))
            return redirect("console:webhook", endpoint.pk)
        except ServiceError as exc:
            error, error_field, status = exc.message, exc.field, exc.status_code
            endpoint.refresh_from_db()
    shown = request.session.pop(SECRET_KEY, None)
    secret = shown["secret"] if shown and shown.get("id") == endpoint.pk else None
    state = request.GET.get("status") or ""
    if state not in DeliveryStatus.values:
        state = ""
    deliveries = selectors.delivery_list(
        fetched_by=request.user, endpoint_id=endpoint.pk, status=state or None
    )
    page = Paginator(deliveries, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "values": values,
            "secret": secret,
            "page": page,
            "state": state,
            "states": DeliveryStatus.choices,
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )


@staff_page
@require_POST
def delivery_retry(request, delivery_id: int):
    if not 1 <= delivery_id <= MAX_ID:
        raise Http404
    delivery = selectors.delivery_get(fetched_by=request.user, delivery_id=delivery_id)
    try:
        services.delivery_retry(actor=request.user, delivery=delivery)
        messages.success(
            request, _("Delivery %(id)s will be sent again within a minute.") % {"id": delivery.pk}
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("console:webhook", delivery.endpoint_id)
