"""/api/v1/training: the catalogue (courses, certifications, competencies), partner people and
their certifications, LMS completion imports and revocations. Thin handlers over selectors,
services and imports."""

from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, to_minor
from partnerhub.core.schemas import ObjectId, Pagination, ShortText
from partnerhub.partners.selectors import partner_get
from partnerhub.training import selectors, services
from partnerhub.training.imports import ImportRefused, completions_import, csv_import
from partnerhub.training.schemas import (
    CertificationIn,
    CertificationOut,
    CertificationPatch,
    CertificationStatus,
    CompetencyIn,
    CompetencyOut,
    CompetencyPatch,
    CompetencyStandingOut,
    CompletionImportIn,
    CourseIn,
    CourseOut,
    CoursePatch,
    ImportReportOut,
    Key,
    PersonCertificationOut,
    PersonIn,
    PersonOut,
    RevokeIn,
)

router = Router(tags=["training"])

R = ERROR_RESPONSES
MAX_CSV_BYTES = 20 * 1024 * 1024


class TooLarge(ServiceError):
    status_code = 413


def _require_program_admin(request, message: str) -> None:
    if not request.auth.has_perm("training.manage_catalogue"):
        raise PermissionDenied(message)


def _require_partner_change(request, partner) -> None:
    if not request.auth.has_perm("training.change_person", partner):
        raise PermissionDenied(
            "Only the partner's admins and the vendor staff who manage it change its people."
        )


def _partner(request, partner_id: int):
    return partner_get(fetched_by=request.auth, partner_id=partner_id)


def _not_null(data: dict, nullable: tuple[str, ...] = ()) -> dict:
    for name, value in data.items():
        if value is None and name not in nullable:
            raise ServiceError("This field cannot be null.", field=name)
    return data


CATALOGUE_ADMINS = "Only program admins change the training catalogue."


class CatalogueFilter(Schema):
    q: ShortText(200) | None = None


# --- courses


@router.get("/courses", response={200: list[CourseOut], **R}, summary="List courses")
@paginate(Pagination)
def course_list(request, filters: Query[CatalogueFilter]):
    return selectors.course_list(q=filters.q)


@router.post("/courses", response={201: CourseOut, **R}, summary="Add a course")
def course_create(request, payload: CourseIn):
    _require_program_admin(request, CATALOGUE_ADMINS)
    return Status(201, services.course_create(data=payload.dict()))


@router.patch("/courses/{course_id}", response={200: CourseOut, **R}, summary="Change a course")
def course_update(request, course_id: ObjectId, payload: CoursePatch):
    course = selectors.course_get(course_id=course_id)
    _require_program_admin(request, CATALOGUE_ADMINS)
    data = _not_null(payload.dict(exclude_unset=True))
    return services.course_update(course=course, data=data)


# --- certifications


def _fee_data(data: dict, certification=None) -> dict:
    """``fee`` (a decimal amount) → ``fee_minor`` in the (new or current) currency."""
    currency = data.get("currency")
    if currency is not None:
        data["currency"] = currency = currency.upper()
    else:
        currency = certification.currency if certification is not None else ""
    fee = data.pop("fee", None)
    if fee is not None:
        data["fee_minor"] = to_minor(fee, currency)
    elif certification is not None and "currency" in data and certification.fee_minor:
        old = from_minor(certification.fee_minor, certification.currency)
        data["fee_minor"] = to_minor(old, currency)
    return data


@router.get(
    "/certifications", response={200: list[CertificationOut], **R}, summary="List certifications"
)
@paginate(Pagination)
def certification_list(request, filters: Query[CatalogueFilter]):
    return selectors.certification_list(q=filters.q)


@router.post(
    "/certifications", response={201: CertificationOut, **R}, summary="Add a certification"
)
def certification_create(request, payload: CertificationIn):
    _require_program_admin(request, CATALOGUE_ADMINS)
    cert = services.certification_create(data=_fee_data(payload.dict()))
    return Status(201, selectors.certification_get(certification_id=cert.pk))


@router.patch(
    "/certifications/{certification_id}",
    response={200: CertificationOut, **R},
    summary="Change a certification (applies to awards from now on)",
)
def certification_update(request, certification_id: ObjectId, payload: CertificationPatch):
    cert = selectors.certification_get(certification_id=certification_id)
    _require_program_admin(request, CATALOGUE_ADMINS)
    data = _not_null(
        payload.dict(exclude_unset=True),
        nullable=("exam_course", "exam_pass_score", "validity_months"),
    )
    services.certification_update(certification=cert, data=_fee_data(data, cert))
    return selectors.certification_get(certification_id=cert.pk)


# --- competencies


@router.get("/competencies", response={200: list[CompetencyOut], **R}, summary="List competencies")
@paginate(Pagination)
def competency_list(request, filters: Query[CatalogueFilter]):
    return selectors.competency_list(q=filters.q)


@router.post("/competencies", response={201: CompetencyOut, **R}, summary="Add a competency")
def competency_create(request, payload: CompetencyIn):
    _require_program_admin(request, CATALOGUE_ADMINS)
    comp = services.competency_create(data=payload.dict())
    return Status(201, selectors.competency_get(competency_id=comp.pk))


@router.patch(
    "/competencies/{competency_id}",
    response={200: CompetencyOut, **R},
    summary="Change a competency",
)
def competency_update(request, competency_id: ObjectId, payload: CompetencyPatch):
    comp = selectors.competency_get(competency_id=competency_id)
    _require_program_admin(request, CATALOGUE_ADMINS)
    data = _not_null(payload.dict(exclude_unset=True))
    services.competency_update(competency=comp, data=data)
    return selectors.competency_get(competency_id=comp.pk)


# --- a partner's people, certifications and competencies


class PersonFilter(Schema):
    q: ShortText(200) | None = None


@router.get(
    "/partners/{partner_id}/people",
    response={200: list[PersonOut], **R},
    summary="List a partner's people (who take training)",
)
@paginate(Pagination)
def person_list(request, partner_id: ObjectId, filters: Query[PersonFilter]):
    return selectors.person_list(partner=_partner(request, partner_id), q=filters.q)


@router.post(
    "/partners/{partner_id}/people",
    response={200: PersonOut, 201: PersonOut, **R},
    summary="Add a person, or update the one with this e-mail (201 when new)",
)
def person_upsert(request, partner_id: ObjectId, payload: PersonIn):
    partner = _partner(request, partner_id)
    _require_partner_change(request, partner)
    person, created = services.person_upsert(
        partner=partner,
        email=str(payload.email),
        full_name=payload.full_name,
        job_role=payload.job_role,
    )
    return Status((201 if created else 200), person)


class CertificationFilter(Schema):
    status: CertificationStatus | None = Field(None, description="As of today.")
    expiring_within_days: Annotated[int, Field(ge=0, le=3660)] | None = Field(
        None, description="Only current ones whose validity ends within this many days."
    )
    certification: Key | None = Field(None, description="Only this certification key.")


@router.get(
    "/partners/{partner_id}/certifications",
    response={200: list[PersonCertificationOut], **R},
    summary="A partner's person certifications, newest first",
)
@paginate(Pagination)
def partner_certification_list(request, partner_id: ObjectId, filters: Query[CertificationFilter]):
    return selectors.partner_certifications(
        partner=_partner(request, partner_id), on=timezone.localdate(), **filters.dict()
    )


@router.get(
    "/partners/{partner_id}/competencies",
    response={200: list[CompetencyStandingOut], **R},
    summary="Which competencies a partner holds today",
)
@paginate(Pagination)
def partner_competency_list(request, partner_id: ObjectId):
    return selectors.competencies_held(
        partner=_partner(request, partner_id), on=timezone.localdate()
    )


# --- imports and revocations

IMPORTERS = "Only program admins import completions."


@router.post(
    "/completions/import",
    response={200: ImportReportOut, **R},
    summary="Import LMS completions (JSON rows); all-or-nothing unless partial",
)
def completion_import(request, payload: CompletionImportIn):
    _require_program_admin(request, IMPORTERS)
    rows = [(i, row.dict()) for i, row in enumerate(payload.rows)]
    report = completions_import(rows=rows, partial=payload.partial)
    if report.refused:
        raise ImportRefused(report, source="rows")
    return report


@router.post(
    "/completions/import-csv",
    response={200: ImportReportOut, **R},
    summary="Import an LMS export (CSV upload); all-or-nothing unless partial",
)
def completion_import_csv(request, file: File[UploadedFile], partial: Form[bool] = False):
    _require_program_admin(request, IMPORTERS)
    if file.size is not None and file.size > MAX_CSV_BYTES:
        raise TooLarge(
            f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB; split it.",
            field="file",
            code="too_large",
        )
    report = csv_import(data=file.read(), partial=partial)
    if report.refused:
        raise ImportRefused(report, source="file")
    return report


@router.post(
    "/person-certifications/{person_certification_id}/revoke",
    response={200: PersonCertificationOut, **R},
    summary="Revoke a person's certification (reason required)",
)
def person_certification_revoke(request, person_certification_id: ObjectId, payload: RevokeIn):
    pc = selectors.person_certification_get(
        fetched_by=request.auth, person_certification_id=person_certification_id
    )
    _require_program_admin(request, "Only program admins revoke certifications.")
    return services.certification_revoke(
        person_certification=pc, reason=payload.reason, on=payload.on
    )
