"""Errors services raise; the API turns them into 4xx JSON bodies that name the field."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError


class ServiceError(Exception):
    """A request that cannot be carried out as asked. ``field`` names the input at fault."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def as_details(self) -> list[dict]:
        loc = ["body", self.field] if self.field else ["body"]
        return [{"loc": loc, "msg": self.message, "type": self.code}]


class Conflict(ServiceError):
    """The request clashes with the current state (a transition not allowed, a duplicate)."""

    status_code = 409


class NotAllowed(ServiceError):
    """The actor may see the object but not do this to it."""

    status_code = 403


def validation_details(exc: DjangoValidationError) -> list[dict]:
    """Flatten a Django ValidationError into the API's ``detail`` list."""
    if hasattr(exc, "error_dict"):
        details = []
        for field, errors in exc.message_dict.items():
            loc = ["body"] if field == "__all__" else ["body", field]
            details += [{"loc": loc, "msg": msg, "type": "invalid"} for msg in errors]
        return details
    return [{"loc": ["body"], "msg": msg, "type": "invalid"} for msg in exc.messages]
