"""A service error no page caught becomes its own 4xx page, never a 500."""

from __future__ import annotations

from django.shortcuts import render

from partnerhub.core.errors import ServiceError


class ServiceErrorMiddleware:
    """Pages call services and catch the errors they expect; one that escapes (e.g. a draft's
    per-session lines that cannot be written: ``settlements.selectors.statement_sessions``)
    is shown with its message and status (409, 403, 400) instead of a server error. The API
    has its own handler (``core/api.py``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ServiceError):
            return None
        return render(
            request,
            "service_error.html",
            {"message": exception.message},
            status=exception.status_code,
        )
