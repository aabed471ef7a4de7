"""Signing in and out, password reset, and the optional TOTP second factor (django-otp)."""

from __future__ import annotations

import base64
from io import BytesIO
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from partnerhub.core.permissions import is_vendor_staff, membership
from partnerhub.portal.access import signed_in


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("This e-mail and password do not match an active account."),
        "inactive": _("This account is inactive."),
    }


class LoginView(auth_views.LoginView):
    template_name = "portal/auth/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


def start(request):
    """Where a signed-in user lands: the console for vendor staff, the portal for partners."""
    if not request.user.is_authenticated:
        return redirect("login")
    if is_vendor_staff(request.user):
        return redirect("console:home")
    if membership(request.user) is not None:
        return redirect("portal:home")
    return redirect("account-security")


def _safe_next(request, default: str = "/start/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )


@require_http_methods(["GET", "POST"])
def otp_verify(request):
    """Second step of signing in for users with a confirmed TOTP device."""
    from django_otp import login as otp_login
    from django_otp import match_token, user_has_device

    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': _safe_next(request)})}")
    if not user_has_device(request.user, confirmed=True) or request.user.is_verified():
        return redirect(_safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].strip())
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error("token", _("This code is not valid. Check your phone's clock and retry."))
    return render(
        request, "portal/auth/otp_verify.html", {"form": form, "next": _safe_next(request)}
    )


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


@signed_in
@require_http_methods(["GET", "POST"])
def account_security(request):
    """Turn the TOTP second factor on (scan, confirm with a code) or off (with a code)."""
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    form = TokenForm(request.POST or None)
    if confirmed is not None:
        if request.method == "POST" and form.is_valid():
            if confirmed.verify_token(form.cleaned_data["token"].strip()):
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, _("Two-step sign-in is off."))
                return redirect("account-security")
            form.add_error("token", _("This code is not valid."))
        return render(request, "portal/auth/security.html", {"enabled": True, "form": form})
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("Two-step sign-in is on."))
            return redirect("account-security")
        form.add_error("token", _("This code is not valid. Scan the code again and retry."))
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "portal/auth/security.html",
        {"enabled": False, "form": form, "qr": _qr_svg(device.config_url), "secret": secret},
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, but the e-mail goes out from a task after commit like every other
    (and the response takes as long whether or not the address has an account)."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from partnerhub.core.tasks import send_email_on_commit

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        send_email_on_commit(to=[to_email], subject=subject, body=body)


password_reset = auth_views.PasswordResetView.as_view(
    form_class=QueuedPasswordResetForm,
    template_name="portal/auth/password_reset.html",
    email_template_name="portal/auth/password_reset_email.txt",
    subject_template_name="portal/auth/password_reset_subject.txt",
    success_url=reverse_lazy("password-reset-done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="portal/auth/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/auth/password_reset_confirm.html",
    success_url=reverse_lazy("password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/auth/password_reset_complete.html"
)
