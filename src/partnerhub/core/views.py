"""The few server-rendered pages the foundation needs: home and accepting an invitation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from partnerhub.core.errors import ServiceError


def home(request):
    return render(request, "partnerhub/home.html")


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request):
    """Landing page of the e-mailed invitation link: choose a name and password."""
    from partnerhub.partners import services

    token = request.POST.get("token") or request.GET.get("token") or ""
    context: dict = {"token": token, "errors": {}}
    try:
        context["invitation"] = services.invitation_from_token(token)
    except ServiceError as exc:
        context["fatal"] = exc.message
        return render(request, "partnerhub/invitation_accept.html", context, status=400)
    if request.method == "POST":
        try:
            user = services.invitation_accept(
                token=token,
                password=request.POST.get("password", ""),
                full_name=request.POST.get("full_name", "")[:200],
            )
        except ValidationError as exc:
            context["errors"] = (
                exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            )
            # Templates cannot read "__all__" (a leading underscore): pass it on its own.
            context["form_errors"] = context["errors"].pop("__all__", [])
            context["full_name"] = request.POST.get("full_name", "")
            return render(request, "partnerhub/invitation_accept.html", context, status=400)
        except ServiceError as exc:
            context["fatal"] = exc.message
            return render(request, "partnerhub/invitation_accept.html", context, status=400)
        context["accepted"] = user
    return render(request, "partnerhub/invitation_accept.html", context)
