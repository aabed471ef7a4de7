"""The REST API root (/api/v1/): authentication, error shapes and the routers of every app."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
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

    def _get_key(self, request):
        # Only a request that carries a session cookie uses (and is CSRF-checked for) it.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        # A session that has only passed the password step of a two-step sign-in is not yet
        # signed in (django-otp marks it verified after the code).
        from partnerhub.portal.access import needs_second_factor

        if needs_second_factor(user):
            return None
        return user


AUTH = [TokenAuth(), StaffOrPartnerSession()]
ERROR_STATUSES = {
    "400": "The request cannot be carried out as sent; `loc` names the field.",
    "401": "Authentication required.",
    "403": "Not allowed for this user.",
    "404": "Not found (or not visible to this user).",
    "409": "Conflicts with the current state.",
    "413": "The request body is too large.",
    "422": "The body or parameters do not match the schema; `loc` names the field.",
}


class PartnerHubAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document lists every error status with the one error shape."""

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})
        schema["components"]["schemas"].setdefault(
            "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for key, value in (
            ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
            .get("$defs", {})
            .items()
        ):
            schema["components"]["schemas"].setdefault(key, value)
        schema["components"]["schemas"]["ErrorOut"].pop("$defs", None)
        error = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        }
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(int(status), {"description": description, **error})
        return schema


api = PartnerHubAPI(
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


def _public_loc(loc) -> list:
    # ninja prefixes the handler's argument name (payload, filters); clients know fields only.
    loc = list(loc)
    if len(loc) > 1 and loc[0] in ("body", "query") and loc[1] in ("payload", "filters"):
        del loc[1]
    return loc


@api.exception_handler(NinjaValidationError)
def on_validation(request, exc: NinjaValidationError):
    details = [
        {
            "loc": _public_loc(e.get("loc", [])),
            "msg": e.get("msg", "invalid"),
            "type": e.get("type", "invalid"),
        }
        for e in exc.errors
    ]
    return _error(request, 422, details)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    msg = f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    return _error(request, 413, [{"loc": ["body"], "msg": msg, "type": "too_large"}])


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    loc = ["body"] if "body" in str(exc) else []
    return _error(request, exc.status_code, [{"loc": loc, "msg": str(exc), "type": "http_error"}])


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
    from partnerhub.charging.api import router as charging_router
    from partnerhub.charging.session_api import router as charging_sessions_router
    from partnerhub.core.audit_api import router as audit_router
    from partnerhub.deals.api import router as deals_router
    from partnerhub.incentives.api import router as incentives_router
    from partnerhub.mdf.api import router as mdf_router
    from partnerhub.partners.api import applications_router, invitations_router
    from partnerhub.partners.api import router as partners_router
    from partnerhub.programs.api import router as programs_router
    from partnerhub.quotes.api import router as quotes_router
    from partnerhub.sales.api import router as sales_router
    from partnerhub.settlements.api import router as settlements_router
    from partnerhub.tiers.api import router as tiers_router
    from partnerhub.training.api import router as training_router
    from partnerhub.webhooks.api import router as webhooks_router

    api.add_router("/", accounts_router)
    api.add_router("/programs", programs_router)
    api.add_router("/partners", partners_router)
    api.add_router("/invitations", invitations_router)
    api.add_router("/applications", applications_router)
    api.add_router("/audit", audit_router)
    api.add_router("/sales", sales_router)
    api.add_router("/training", training_router)
    api.add_router("/tiers", tiers_router)
    api.add_router("/deals", deals_router)
    api.add_router("/quotes", quotes_router)
    api.add_router("/mdf", mdf_router)
    # Sessions first: their paths must not be taken for the /charging router's.
    api.add_router("/charging/sessions", charging_sessions_router)
    api.add_router("/charging", charging_router)
    api.add_router("/settlements", settlements_router)
    api.add_router("/incentives", incentives_router)
    api.add_router("/webhooks", webhooks_router)


_register_routers()
