"""The REST API root (/api/v1/): authentication, error shapes and the routers of every app."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from partnerhub.core.audit import bind_actor
from partnerhub.core.errors import ServiceError, validation_details
from partnerhub.core.schemas import ErrorOut

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer phk_…`` with a personal API token."""

    openapi_description = "A personal API token (create one at POST /api/v1/me/tokens)."

    def authenticate(self, request, token: str):
        from partnerhub.accounts.services import api_token_authenticate

        user = api_token_authenticate(token)
        if user is None:
            return None
        request.user = user
        bind_actor(user)
        return user


class StaffOrPartnerSession(SessionAuth):
    """The browser session (CSRF-protected), for the portal and console."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None and user.is_active:
            return user
        return None


AUTH = [TokenAuth(), StaffOrPartnerSession()]

api = NinjaAPI(
    title="PartnerHub API",
    version="1",
    description=(
        "Partner program management: programs, partners, contacts, users and invitations. "
        "Authenticate with a personal API token (Bearer) or a browser session. "
        'Errors are JSON: `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}` '
        "where `loc` names the field at fault."
    ),
    auth=AUTH,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

ERROR_RESPONSES = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _error(request, status: int, details: list[dict]):
    return api.create_response(request, {"detail": details}, status=status)


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    return _error(request, exc.status_code, exc.as_details())


@api.exception_handler(DjangoValidationError)
def on_django_validation(request, exc: DjangoValidationError):
    return _error(request, 400, validation_details(exc))


@api.exception_handler(NinjaValidationError)
def on_validation(request, exc: NinjaValidationError):
    details = [
        {
            "loc": list(e.get("loc", [])),
            "msg": e.get("msg", "invalid"),
            "type": e.get("type", "invalid"),
        }
        for e in exc.errors
    ]
    return _error(request, 422, details)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    msg = str(exc) or "You do not have permission to do this."
    return _error(request, 403, [{"loc": [], "msg": msg, "type": "permission_denied"}])


@api.exception_handler(Http404)
def on_not_found(request, exc):
    msg = str(exc) or "Not found."
    return _error(request, 404, [{"loc": [], "msg": msg, "type": "not_found"}])


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return _error(
        request,
        401,
        [
            {
                "loc": ["header", "Authorization"],
                "msg": "Authentication required.",
                "type": "unauthenticated",
            }
        ],
    )


def _register_routers() -> None:
    from partnerhub.accounts.api import router as accounts_router
    from partnerhub.core.audit_api import router as audit_router
    from partnerhub.partners.api import applications_router, invitations_router
    from partnerhub.partners.api import router as partners_router
    from partnerhub.programs.api import router as programs_router

    api.add_router("/", accounts_router)
    api.add_router("/programs", programs_router)
    api.add_router("/partners", partners_router)
    api.add_router("/invitations", invitations_router)
    api.add_router("/applications", applications_router)
    api.add_router("/audit", audit_router)


_register_routers()
