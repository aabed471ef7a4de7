"""Who may open which web page: the web face of the one permission layer.

- ``partner_page``: a signed-in partner user (its organisation comes from
  ``core.permissions.membership``); vendor staff are sent to the console.
- ``staff_page``: a signed-in vendor staff member (any staff role).
Both send anonymous visitors to the login page and, when the user has a confirmed TOTP device,
ask for the second factor before anything else (django-otp). Objects are always fetched
through the app selectors with ``fetched_by=request.user``, so a foreign id answers 404.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from partnerhub.core.permissions import is_vendor_staff, membership


def needs_second_factor(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True) and not user.is_verified()


def _gate(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
    if needs_second_factor(request.user):
        return redirect(f"{reverse('otp-verify')}?{urlencode({'next': request.get_full_path()})}")
    return None


def partner_page(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if (response := _gate(request)) is not None:
            return response
        m = membership(request.user)
        if m is None:
            if is_vendor_staff(request.user):
                return redirect("console:home")
            return redirect("login")
        request.partner = m.partner
        request.membership = m
        return view(request, *args, **kwargs)

    return wrapped


def staff_page(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if (response := _gate(request)) is not None:
            return response
        if not is_vendor_staff(request.user):
            if membership(request.user) is not None:
                return redirect("portal:home")
            return redirect("login")
        return view(request, *args, **kwargs)

    return wrapped


def signed_in(view):
    """Any signed-in user (account pages), second factor included."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if (response := _gate(request)) is not None:
            return response
        return view(request, *args, **kwargs)

    return wrapped
