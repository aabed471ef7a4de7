import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from partnerhub.core.money import from_minor
from partnerhub.core.schemas import MAX_ID, ShortText

Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
KeyList = Annotated[list[Key], Field(max_length=100)]
Currency = Annotated[str, Field(max_length=3, pattern=r"^([A-Za-z]{3})?$")]
Fee = Annotated[Decimal, Field(ge=0, le=Decimal("1000000000000"), decimal_places=3)]
PassScore = Annotated[int, Field(ge=0, le=100)]
ValidityMonths = Annotated[int, Field(ge=1, le=600)]
MinPeople = Annotated[int, Field(ge=1, le=10_000)]
CertificationStatus = Literal["current", "expired", "revoked"]


# --- catalogue --------------------------------------------------------------------------------


class CourseIn(Schema):
    key: Key
    name: ShortText(200, 1)
    description: ShortText(5000) = ""


class CoursePatch(Schema):
    key: Key | None = None
    name: ShortText(200, 1) | None = None
    description: ShortText(5000) | None = None


class CourseOut(Schema):
    id: int
    key: str
    name: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CertificationIn(Schema):
    key: Key
    name: ShortText(200, 1)
    required_courses: KeyList = Field(default=[], description="Course keys, all required.")
    exam_course: Key | None = Field(
        None, description="Key of the course whose score is the exam result."
    )
    exam_pass_score: PassScore | None = None
    validity_months: ValidityMonths | None = Field(None, description="Empty: never expires.")
    fee: Fee = Field(Decimal(0), description="Fee as a decimal amount, e.g. 250.00.")
    currency: Currency = ""


class CertificationPatch(Schema):
    key: Key | None = None
    name: ShortText(200, 1) | None = None
    required_courses: KeyList | None = None
    exam_course: Key | None = None
    exam_pass_score: PassScore | None = None
    validity_months: ValidityMonths | None = None
    fee: Fee | None = None
    currency: Currency | None = None


class CertificationOut(Schema):
    id: int
    key: str
    name: str
    required_courses: list[str]
    exam_course: str | None
    exam_pass_score: int | None
    validity_months: int | None
    fee: str
    currency: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_required_courses(obj) -> list[str]:
        return sorted(c.key for c in obj.required_courses.all())

    @staticmethod
    def resolve_exam_course(obj) -> str | None:
        return obj.exam_course.key if obj.exam_course_id else None

    @staticmethod
    def resolve_fee(obj) -> str:
        return str(from_minor(obj.fee_minor, obj.currency))


class CompetencyIn(Schema):
    key: Key
    name: ShortText(200, 1)
    certifications: Annotated[list[Key], Field(min_length=1, max_length=100)] = Field(
        ..., description="Certification keys; holding any of them counts."
    )
    min_people: MinPeople = 1


class CompetencyPatch(Schema):
    key: Key | None = None
    name: ShortText(200, 1) | None = None
    certifications: Annotated[list[Key], Field(min_length=1, max_length=100)] | None = None
    min_people: MinPeople | None = None


class CompetencyOut(Schema):
    id: int
    key: str
    name: str
    certifications: list[str]
    min_people: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_certifications(obj) -> list[str]:
        return sorted(c.key for c in obj.certifications.all())


class CompetencyStandingOut(Schema):
    id: int
    key: str
    name: str
    certifications: list[str]
    min_people: int
    people: int = Field(description="People currently holding any of the certifications.")
    held: bool


# --- people -----------------------------------------------------------------------------------


class PersonIn(Schema):
    email: ShortText(254, 1)
    full_name: ShortText(200) = ""
    job_role: ShortText(64) = Field("", description="e.g. engineer, account-manager (slugified)")


class PersonOut(Schema):
    id: int
    partner_id: int
    email: str
    full_name: str
    job_role: str
    user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonCertificationOut(Schema):
    id: int
    partner_id: int
    person_id: int
    person_email: str
    person_name: str
    certification: str
    certification_name: str
    earned_on: dt.date
    expires_on: dt.date | None = Field(description="First day it no longer counts.")
    valid_through: dt.date | None = Field(description="Last day it counts (expires_on - 1).")
    revoked_on: dt.date | None
    revoked_reason: str
    exam_score: int | None
    status: CertificationStatus

    @staticmethod
    def resolve_person_email(obj) -> str:
        return obj.person.email

    @staticmethod
    def resolve_person_name(obj) -> str:
        return obj.person.full_name

    @staticmethod
    def resolve_certification(obj) -> str:
        return obj.certification.key

    @staticmethod
    def resolve_certification_name(obj) -> str:
        return obj.certification.name

    @staticmethod
    def resolve_valid_through(obj) -> dt.date | None:
        return obj.expires_on - dt.timedelta(days=1) if obj.expires_on else None

    @staticmethod
    def resolve_status(obj) -> str:
        from django.utils import timezone

        from partnerhub.training.selectors import status_on

        return status_on(obj, timezone.localdate())


class RevokeIn(Schema):
    reason: ShortText(2000, 1)
    on: dt.date | None = Field(None, description="First day it no longer counts (default today).")


# --- import -----------------------------------------------------------------------------------


class CompletionRowIn(Schema):
    partner_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    partner_duns: ShortText(20) | None = None
    email: ShortText(254)
    full_name: ShortText(200) = ""
    job_role: ShortText(64) = ""
    course_key: ShortText(64)
    completed_on: ShortText(40) = Field(description="YYYY-MM-DD")
    score: Annotated[int, Field(ge=0, le=100)] | None = None
    external_id: ShortText(100) = ""


class CompletionImportIn(Schema):
    rows: Annotated[list[CompletionRowIn], Field(min_length=1, max_length=10_000)]
    partial: bool = Field(False, description="Store the good rows, report the bad ones.")


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportReportOut(Schema):
    rows: int
    partial: bool
    stored: bool
    rows_skipped: int
    completions_created: int
    completions_updated: int
    completions_unchanged: int
    people_created: int
    people_updated: int
    certifications_awarded: int
    errors: list[RowErrorOut]
