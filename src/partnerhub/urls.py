from django.contrib import admin
from django.http import HttpResponse
from django.urls import path

from partnerhub.core.api import api
from partnerhub.core.views import home, invitation_accept_page

admin.site.site_header = "PartnerHub back office"
admin.site.site_title = "PartnerHub"
admin.site.index_title = "Partner program administration"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"), name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("invitations/accept/", invitation_accept_page, name="invitation-accept"),
]
