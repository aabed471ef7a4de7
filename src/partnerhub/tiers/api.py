"""/api/v1/tiers: current tiers, explanations, history, overrides, nominations, evidence,
survey scores and evaluation runs."""

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from partnerhub.core.errors import ServiceError
from partnerhub.core.permissions import require, visible_partners
from partnerhub.core.schemas import ObjectId
from partnerhub.partners.selectors import partner_get
from partnerhub.programs.models import Program
from partnerhub.tiers import selectors, services
from partnerhub.tiers.models import EvaluationRun, Nomination, TierOverride
from partnerhub.tiers.schemas import (
    EvaluationIn,
    EvaluationOut,
    EvaluationRunOut,
    EvidenceIn,
    EvidenceOut,
    NominationDecisionIn,
    NominationIn,
    NominationOut,
    OverrideIn,
    OverrideOut,
    PartnerTierOut,
    SurveyImportIn,
    SurveyImportOut,
    TierChangeOut,
    TrackExplanationOut,
)

router = Router(tags=["tiers"])


def _program(key: str) -> Program:
    program = Program.objects.filter(key=key).first()
    if program is None:
        raise ServiceError(f"No program with key '{key}'.", field="program")
    return program


class AsOf(Schema):
    as_of: dt.date | None = None


@router.get(
    "/partners/{partner_id}", response=list[PartnerTierOut], summary="A partner's current tiers"
)
def partner_tiers(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    return list(selectors.partner_tiers(partner=partner))


@router.get(
    "/partners/{partner_id}/explanation",
    response=list[TrackExplanationOut],
    summary="Where a partner stands: every requirement of its current and next tier",
)
def partner_explanation(request, partner_id: ObjectId, query: Query[AsOf]):
    """Per track: value, threshold, met or not, the gap and the day it was met."""
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    return [e.as_dict() for e in selectors.explain(partner=partner, as_of=query.as_of)]


@router.get("/partners/{partner_id}/history", response=list[TierChangeOut], summary="Tier history")
def partner_history(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    return list(selectors.tier_history(partner=partner))


@router.get(
    "/partners/{partner_id}/overrides", response=list[OverrideOut], summary="Tier overrides"
)
def override_list(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    return list(selectors.overrides(partner=partner))


@router.post(
    "/partners/{partner_id}/overrides",
    response={201: OverrideOut},
    summary="Override a partner's tier",
)
def override_create(request, partner_id: ObjectId, payload: OverrideIn):
    """Sets the tier by hand, with a reason and an expiry; applied at the next evaluation."""
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(
        request.auth,
        "tiers.add_tieroverride",
        partner,
        "Only program admins and the partner's manager override tiers.",
    )
    override = services.tier_override_create(
        actor=request.auth,
        partner=partner,
        program=_program(payload.program),
        track_key=payload.track,
        tier_key=payload.tier,
        reason=payload.reason,
        expires_on=payload.expires_on,
        starts_on=payload.starts_on,
    )
    return Status(201, override)


@router.delete("/overrides/{override_id}", response=OverrideOut, summary="Revoke a tier override")
def override_revoke(request, override_id: ObjectId):
    # Looked up among the caller's partners: another tenant's override is "not found" exactly
    # like one that never existed.
    override = get_object_or_404(
        TierOverride.objects.select_related("program", "partner").filter(
            partner__in=visible_partners(request.auth).values("pk")
        ),
        pk=override_id,
    )
    require(request.auth, "tiers.change_tieroverride", override.partner)
    return services.tier_override_revoke(override=override)


class NominationFilter(Schema):
    status: str | None = None


@router.get("/nominations", response=list[NominationOut], summary="Nominations (staff)")
@paginate(LimitOffsetPagination)
def nomination_list(request, filters: Query[NominationFilter]):
    require(
        request.auth,
        "tiers.view_nomination",
        None,
        "Only program admins and partner managers review nominations.",
    )
    qs = Nomination.objects.select_related("program").filter(
        partner_id__in=visible_partners(request.auth).values("pk")
    )
    if filters.status in ("pending", "approved", "rejected"):
        qs = qs.filter(status=filters.status)
    return qs


@router.post(
    "/partners/{partner_id}/nominations",
    response={201: NominationOut},
    summary="Nominate a partner for an invite-only tier",
)
def nomination_create(request, partner_id: ObjectId, payload: NominationIn):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(
        request.auth,
        "tiers.add_nomination",
        partner,
        "Only program admins and the partner's manager nominate partners.",
    )
    nomination = services.nomination_create(
        actor=request.auth,
        partner=partner,
        program=_program(payload.program),
        track_key=payload.track,
        tier_key=payload.tier,
        reason=payload.reason,
    )
    return Status(201, nomination)


def _decide(request, nomination_id: int, approve: bool, reason: str):
    nomination = get_object_or_404(
        Nomination.objects.select_related("program").filter(
            partner__in=visible_partners(request.auth).values("pk")
        ),
        pk=nomination_id,
    )
    require(
        request.auth,
        "tiers.decide_nomination",
        nomination,
        "Only program admins decide nominations.",
    )
    return services.nomination_decide(
        actor=request.auth, nomination=nomination, approve=approve, reason=reason
    )


@router.post(
    "/nominations/{nomination_id}/approve", response=NominationOut, summary="Approve a nomination"
)
def nomination_approve(request, nomination_id: ObjectId, payload: NominationDecisionIn):
    return _decide(request, nomination_id, True, payload.reason)


@router.post(
    "/nominations/{nomination_id}/reject", response=NominationOut, summary="Reject a nomination"
)
def nomination_reject(request, nomination_id: ObjectId, payload: NominationDecisionIn):
    return _decide(request, nomination_id, False, payload.reason)


@router.get("/partners/{partner_id}/evidence", response=list[EvidenceOut], summary="Evidence items")
def evidence_list(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    return list(partner.evidence.all())


@router.post(
    "/partners/{partner_id}/evidence",
    response={201: EvidenceOut},
    summary="Record evidence (case study, demo station, dedicated rep...)",
)
def evidence_create(request, partner_id: ObjectId, payload: EvidenceIn):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(
        request.auth,
        "tiers.add_evidenceitem",
        partner,
        "Only program admins and the partner's manager record evidence.",
    )
    item = services.evidence_record(actor=request.auth, partner=partner, **payload.dict())
    return Status(201, item)


@router.post(
    "/survey-responses", response=SurveyImportOut, summary="Import customer survey scores (NPS)"
)
def survey_import(request, payload: SurveyImportIn):
    require(
        request.auth,
        "tiers.import_surveyresponse",
        None,
        "Only program admins and finance import surveys.",
    )
    from partnerhub.sales.models import Customer

    rows = payload.dict()["rows"]
    partner_ids = {r["partner_id"] for r in rows}
    known = set(
        visible_partners(request.auth).filter(pk__in=partner_ids).values_list("pk", flat=True)
    )
    for index, row in enumerate(rows):
        if row["partner_id"] not in known:
            raise ServiceError(
                f"Row {index + 1}: no partner with id {row['partner_id']}.", field="rows"
            )
    customers = dict(
        Customer.objects.filter(
            external_id__in=[
                r["customer_external_id"] for r in rows if r.get("customer_external_id")
            ]
        ).values_list("external_id", "pk")
    )
    clean = []
    for index, row in enumerate(rows):
        external_customer = row.pop("customer_external_id", None)
        if external_customer and external_customer not in customers:
            raise ServiceError(
                f"Row {index + 1}: no customer with id '{external_customer}'.", field="rows"
            )
        clean.append({**row, "customer_id": customers.get(external_customer)})
    created, unchanged = services.survey_responses_import(rows=clean)
    return {"created": created, "unchanged": unchanged}


@router.post(
    "/evaluations", response=EvaluationOut, summary="Evaluate tiers now (dry run by default)"
)
def evaluation_run(request, payload: EvaluationIn):
    """Evaluates every partner as of a date. With ``dry_run`` (the default) nothing is written
    and the answer lists what would change."""
    require(request.auth, "tiers.run_evaluation", None, "Only program admins run evaluations.")
    from django.utils import timezone

    program = _program(payload.program) if payload.program else None
    summary = services.tiers_evaluate(
        as_of=payload.as_of or timezone.localdate(),
        dry_run=payload.dry_run,
        actor=request.auth,
        program=program,
    )
    return {
        "as_of": summary.as_of,
        "dry_run": summary.dry_run,
        "memberships": summary.memberships,
        "changes": summary.changes[:1000],
        "per_tier": summary.per_tier,
        "run_id": summary.run_id,
    }


@router.get("/evaluations", response=list[EvaluationRunOut], summary="Past evaluation runs")
@paginate(LimitOffsetPagination)
def evaluation_list(request):
    require(
        request.auth, "tiers.view_evaluationrun", None, "Only vendor staff see evaluation runs."
    )
    return EvaluationRun.objects.all()
