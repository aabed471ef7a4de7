"""/api/v1/audit: the audit trail (django-auditlog entries), for vendor staff."""

import datetime as dt
from typing import Any, Literal

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from partnerhub.core.schemas import MAX_ID, ShortText

router = Router(tags=["audit"])

ACTIONS = {0: "create", 1: "update", 2: "delete", 3: "access"}
ACTION_CODES = {v: k for k, v in ACTIONS.items()}


class AuditEntryOut(Schema):
    id: int
    timestamp: dt.datetime
    action: str
    model: str
    object_id: str
    object_repr: str
    actor_id: int | None
    actor_email: str | None
    changes: dict[str, Any]
    remote_addr: str | None

    @staticmethod
    def resolve_action(obj) -> str:
        return ACTIONS.get(obj.action, str(obj.action))

    @staticmethod
    def resolve_model(obj) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"

    @staticmethod
    def resolve_object_id(obj) -> str:
        return str(obj.object_pk)

    @staticmethod
    def resolve_changes(obj) -> dict:
        return obj.changes_dict or {}


class AuditFilter(Schema):
    model: ShortText(100) | None = None
    object_id: ShortText(64) | None = None
    actor_id: int | None = None
    action: Literal["create", "update", "delete", "access"] | None = None
    since: dt.datetime | None = None


@router.get("", response=list[AuditEntryOut], summary="The audit trail (staff)")
@paginate(LimitOffsetPagination)
def audit_list(request, filters: Query[AuditFilter]):
    """Who changed what, when: before/after values of every change to a business object."""
    if not request.auth.has_perm("auditlog.view_logentry"):
        raise PermissionDenied("Only vendor staff read the audit log.")
    qs = LogEntry.objects.select_related("content_type").order_by("-timestamp", "-id")
    if filters.model:
        app_label, _, model = filters.model.lower().partition(".")
        qs = qs.filter(content_type__app_label=app_label, content_type__model=model)
    if filters.object_id:
        qs = qs.filter(object_pk=filters.object_id)
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id if 1 <= filters.actor_id <= MAX_ID else 0)
    if filters.action:
        qs = qs.filter(action=ACTION_CODES[filters.action])
    if filters.since:
        qs = qs.filter(timestamp__gte=filters.since)
    return qs
