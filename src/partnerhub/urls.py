from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path

from partnerhub.core.api import api
from partnerhub.core.views import home, invitation_accept_page
from partnerhub.portal import auth_views as web_auth

urlpatterns = [
    path("", home, name="home"),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"), name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("invitations/accept/", invitation_accept_page, name="invitation-accept"),
    # Signing in, out, password reset, second factor (shared by portal and console).
    path("login/", web_auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", web_auth.otp_verify, name="otp-verify"),
    path("start/", web_auth.start, name="start"),
    path("account/security/", web_auth.account_security, name="account-security"),
    path("password-reset/", web_auth.password_reset, name="password-reset"),
    path("password-reset/sent/", web_auth.password_reset_done, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        web_auth.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("password-reset/done/", web_auth.password_reset_complete, name="password-reset-complete"),
    path("portal/", include("partnerhub.portal.urls")),
    path("console/", include("partnerhub.console.urls")),
    path("partners/", include("partnerhub.directory.urls")),
]
