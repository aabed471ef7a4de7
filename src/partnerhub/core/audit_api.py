"""/api/v1/audit: the audit trail (django-auditlog entries), for vendor staff."""

import datetime as dt
from typing import Any, Literal

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from partnerhub.core.permissions import reads_all_partners, visible_partners
from partnerhub.core.schemas import MAX_ID, Pagination, ShortText, UtcDatetime

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
    since: UtcDatetime | None = None


def _visible_entries(user) -> QuerySet[LogEntry]:
    """Staff who read every partner read the whole trail. A partner manager reads the entries
    about the partners assigned to them and the objects under those (existing ones), plus the
    program catalogue and applications, which every manager may read anyway."""
    qs = LogEntry.objects.all()
    if reads_all_partners(user):
        return qs
    from partnerhub.partners.models import (
        Contact,
        Invitation,
        Partner,
        PartnerApplication,
        PartnerUser,
        TrackMembership,
    )
    from partnerhub.programs.models import Program, ProgramVersion

    def about(model, ids=None) -> Q:
        q = Q(content_type=ContentType.objects.get_for_model(model))
        return q if ids is None else q & Q(object_id__in=ids)

    partner_ids = visible_partners(user).values("pk")
    scope = about(Partner, partner_ids)
    for model in (Contact, TrackMembership, Invitation, PartnerUser):
        scope |= about(model, model.objects.filter(partner_id__in=partner_ids).values("pk"))
    for model in (Program, ProgramVersion, PartnerApplication):
        scope |= about(model)
    return qs.filter(scope)


@router.get("", response=list[AuditEntryOut], summary="The audit trail (staff)")
@paginate(Pagination)
def audit_list(request, filters: Query[AuditFilter]):
    """Who changed what, when: before/after values of every change to a business object."""
    if not request.auth.has_perm("auditlog.view_logentry"):
        raise PermissionDenied("Only vendor staff read the audit log.")
    qs = _visible_entries(request.auth).select_related("content_type").order_by("-timestamp", "-id")
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
