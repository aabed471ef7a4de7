"""Every write to training: the catalogue (courses, certifications, competencies), partner
people, course completions, awarding and revoking person certifications.

Services are keyword-only, run in one transaction, validate fully before writing and raise
ServiceError/Conflict or Django's ValidationError naming the field. Permission checks are the
caller's job (the API and admin ask the permission layer).

Validity of a person certification: it is held from ``earned_on`` through the day *before*
``expires_on`` (``expires_on`` is the first day it no longer counts) and, once revoked, until
the day before ``revoked_on``. ``expires_on = earned_on + validity_months`` calendar months
(clamped to the month's last day: earned on 31 January with 1 month validity expires on
28/29 February). History is never edited: a renewal is a new row.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.partners.models import Partner, PartnerUser
from partnerhub.training.models import (
    Certification,
    Competency,
    Course,
    CourseCompletion,
    Person,
    PersonCertification,
)

MAX_VALIDITY_MONTHS = 600
MAX_MIN_PEOPLE = 10_000
MAX_FEE_MINOR = 10**15
AWARD_CHUNK = 500  # people per award round (keeps IN lists far below every database's limit)
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


# --- dates ------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the last day of the target month."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def expiry_for(certification: Certification, earned_on: dt.date) -> dt.date | None:
    """The first day a certification earned on ``earned_on`` no longer counts (None: never)."""
    if not certification.validity_months:
        return None
    return add_months(earned_on, certification.validity_months)


# --- catalogue --------------------------------------------------------------------------------


def _check_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ServiceError(f"Unknown field '{unknown[0]}'.", field=unknown[0])


def _full_clean(obj, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        return {k: list(v) for k, v in exc.message_dict.items()}
    return {}


def _save_unique(obj, field_name: str = "key") -> None:
    """Save, turning a concurrent duplicate key into a 409 instead of a 500."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(
            f"A {obj._meta.verbose_name} with this {field_name} already exists.", field=field_name
        ) from None


COURSE_FIELDS = {"key", "name", "description"}


@transaction.atomic
def course_create(*, data: dict[str, Any]) -> Course:
    """Add a course to the catalogue (its ``key`` is the LMS's course key)."""
    _check_unknown(data, COURSE_FIELDS)
    course = Course(**data)
    errors = _full_clean(course)
    if errors:
        raise ValidationError(errors)
    _save_unique(course)
    return course


@transaction.atomic
def course_update(*, course: Course, data: dict[str, Any]) -> Course:
    _check_unknown(data, COURSE_FIELDS)
    course = Course.objects.select_for_update().get(pk=course.pk)
    for name, value in data.items():
        setattr(course, name, value)
    errors = _full_clean(course)
    if errors:
        raise ValidationError(errors)
    _save_unique(course)
    return course


CERTIFICATION_FIELDS = {
    "key",
    "name",
    "required_courses",
    "exam_course",
    "exam_pass_score",
    "validity_months",
    "fee_minor",
    "currency",
}


def _course_keys(values: Iterable[Any]) -> list[str]:
    keys: list[str] = []
    for value in values:
        key = value.key if isinstance(value, Course) else str(value)
        if key not in keys:
            keys.append(key)
    return keys


def _resolve_courses(keys: list[str], field_name: str, errors: dict) -> dict[str, Course]:
    found = Course.objects.in_bulk(keys, field_name="key") if keys else {}
    missing = [k for k in keys if k not in found]
    if missing:
        errors.setdefault(field_name, []).append(
            "Unknown course " + ", ".join(f"'{k}'" for k in missing) + "."
        )
    return found


def _clean_certification(cert: Certification, data: dict[str, Any]) -> list[Course] | None:
    """Apply ``data`` to ``cert`` and validate; returns the required courses when given."""
    errors: dict[str, list[str]] = {}
    required: list[Course] | None = None
    for name in ("key", "name", "exam_pass_score", "validity_months", "fee_minor", "currency"):
        if name in data:
            setattr(cert, name, data[name])
    cert.currency = (cert.currency or "").strip().upper()
    if "required_courses" in data:
        keys = _course_keys(data["required_courses"] or [])
        found = _resolve_courses(keys, "required_courses", errors)
        required = [found[k] for k in keys if k in found]
    if "exam_course" in data:
        exam = data["exam_course"]
        if exam is None or isinstance(exam, Course):
            cert.exam_course = exam
        else:
            found = _resolve_courses([str(exam)], "exam_course", errors)
            cert.exam_course = found.get(str(exam))
    if cert.exam_pass_score is not None and not 0 <= cert.exam_pass_score <= 100:
        errors.setdefault("exam_pass_score", []).append("A pass score is from 0 to 100.")
    if "exam_course" not in errors and "exam_pass_score" not in errors:
        if cert.exam_pass_score is not None and cert.exam_course_id is None:
            errors["exam_course"] = ["An exam needs the course whose score is the exam result."]
        if cert.exam_pass_score is None and cert.exam_course_id is not None:
            errors["exam_pass_score"] = ["An exam course needs a pass score (0-100)."]
    if cert.validity_months is not None and not 1 <= cert.validity_months <= MAX_VALIDITY_MONTHS:
        errors.setdefault("validity_months", []).append(
            f"Validity is from 1 to {MAX_VALIDITY_MONTHS} months, or empty for no expiry."
        )
    if cert.fee_minor is None or not 0 <= cert.fee_minor <= MAX_FEE_MINOR:
        errors.setdefault("fee_minor", []).append("The fee must be zero or positive.")
    elif cert.fee_minor > 0 and not _CURRENCY_RE.match(cert.currency):
        errors.setdefault("currency", []).append("A fee needs its ISO 4217 currency (e.g. EUR).")
    elif cert.currency and not _CURRENCY_RE.match(cert.currency):
        errors.setdefault("currency", []).append("A currency is a 3-letter ISO 4217 code.")
    if not errors:
        has_courses = (
            bool(required)
            if required is not None
            else (cert.pk is not None and cert.required_courses.exists())
        )
        if not has_courses and cert.exam_course_id is None:
            errors["required_courses"] = [
                "A certification needs at least one required course or an exam."
            ]
    skip = {"required_courses", "exam_course", *errors}
    for name, messages in _full_clean(cert, exclude=skip).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return required


def certification_validate(
    *, data: dict[str, Any], certification: Certification | None = None
) -> None:
    """Raise the ValidationError ``certification_create``/``_update`` would, writing nothing
    (the admin form asks before saving)."""
    _check_unknown(data, CERTIFICATION_FIELDS)
    cert = (
        Certification.objects.get(pk=certification.pk)
        if certification is not None and certification.pk
        else Certification()
    )
    _clean_certification(cert, data)


@transaction.atomic
def certification_create(*, data: dict[str, Any]) -> Certification:
    """Add a certification: required courses (by key) and/or an exam (course + pass score),
    validity in months (empty: never expires), optional fee in minor units with currency."""
    _check_unknown(data, CERTIFICATION_FIELDS)
    cert = Certification()
    required = _clean_certification(cert, data)
    _save_unique(cert)
    cert.required_courses.set(required or [])
    return cert


@transaction.atomic
def certification_update(*, certification: Certification, data: dict[str, Any]) -> Certification:
    """Change a certification; rules apply to awards from now on (history stays as earned)."""
    _check_unknown(data, CERTIFICATION_FIELDS)
    cert = Certification.objects.select_for_update().get(pk=certification.pk)
    required = _clean_certification(cert, data)
    _save_unique(cert)
    if required is not None:
        cert.required_courses.set(required)
    return cert


COMPETENCY_FIELDS = {"key", "name", "certifications", "min_people"}


def _clean_competency(comp: Competency, data: dict[str, Any]) -> list[Certification] | None:
    errors: dict[str, list[str]] = {}
    for name in ("key", "name", "min_people"):
        if name in data:
            setattr(comp, name, data[name])
    certs: list[Certification] | None = None
    if "certifications" in data:
        keys: list[str] = []
        for value in data["certifications"] or []:
            key = value.key if isinstance(value, Certification) else str(value)
            if key not in keys:
                keys.append(key)
        found = Certification.objects.in_bulk(keys, field_name="key") if keys else {}
        missing = [k for k in keys if k not in found]
        if missing:
            errors["certifications"] = [
                "Unknown certification " + ", ".join(f"'{k}'" for k in missing) + "."
            ]
        elif not keys:
            errors["certifications"] = ["A competency needs at least one certification."]
        certs = [found[k] for k in keys if k in found]
    if comp.min_people is None or not 1 <= comp.min_people <= MAX_MIN_PEOPLE:
        errors["min_people"] = [f"The number of people is from 1 to {MAX_MIN_PEOPLE}."]
    for name, messages in _full_clean(comp, exclude={"certifications", *errors}).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return certs


def competency_validate(*, data: dict[str, Any], competency: Competency | None = None) -> None:
    """Raise the ValidationError ``competency_create``/``_update`` would, writing nothing."""
    _check_unknown(data, COMPETENCY_FIELDS)
    comp = (
        Competency.objects.get(pk=competency.pk)
        if competency is not None and competency.pk
        else Competency()
    )
    if comp.pk is None and not data.get("certifications"):
        raise ValidationError(
            {"certifications": ["A competency needs at least one certification."]}
        )
    _clean_competency(comp, data)


@transaction.atomic
def competency_create(*, data: dict[str, Any]) -> Competency:
    """Add a competency: held by an organisation while ``min_people`` of its people hold any
    of ``certifications`` (keys)."""
    _check_unknown(data, COMPETENCY_FIELDS)
    if not data.get("certifications"):
        raise ValidationError(
            {"certifications": ["A competency needs at least one certification."]}
        )
    comp = Competency()
    certs = _clean_competency(comp, data)
    _save_unique(comp)
    comp.certifications.set(certs or [])
    return comp


@transaction.atomic
def competency_update(*, competency: Competency, data: dict[str, Any]) -> Competency:
    _check_unknown(data, COMPETENCY_FIELDS)
    comp = Competency.objects.select_for_update().get(pk=competency.pk)
    certs = _clean_competency(comp, data)
    _save_unique(comp)
    if certs is not None:
        comp.certifications.set(certs)
    return comp


# --- people -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def normalize_job_role(job_role: str) -> str:
    """'Account Manager' → 'account-manager' (job roles are slugs)."""
    return slugify(job_role or "")[:64].strip("-")


@transaction.atomic
def person_upsert(
    *, partner: Partner, email: str, full_name: str = "", job_role: str = ""
) -> tuple[Person, bool]:
    """The partner's person with this e-mail, created if new. A non-empty name or job role
    replaces the stored one; empty values keep it. A login of the same organisation with the
    same e-mail is linked. Returns ``(person, created)``."""
    email = normalize_email(email)
    full_name = (full_name or "").strip()
    job_role = normalize_job_role(job_role)
    person = Person.objects.select_for_update().filter(partner=partner, email=email).first()
    created = person is None
    if created:
        person = Person(partner=partner, email=email)
    changed = False
    if full_name and person.full_name != full_name:
        person.full_name, changed = full_name, True
    if job_role and person.job_role != job_role:
        person.job_role, changed = job_role, True
    if person.user_id is None:
        member = (
            PartnerUser.objects.filter(
                partner=partner, user__email=email, user__person__isnull=True
            )
            .select_related("user")
            .first()
        )
        if member is not None:
            person.user, changed = member.user, True
    errors = _full_clean(person, exclude=["partner", "user"])
    if errors:
        raise ValidationError(errors)
    if created or changed:
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise Conflict(
                f"A person with the e-mail {email} was added at the same moment; try again.",
                field="email",
            ) from None
    return person, created


@transaction.atomic
def person_update(*, person: Person, data: dict[str, Any]) -> Person:
    """Change a person's name, job role or linked login (a login of the same organisation).
    The e-mail and organisation identify the person and do not change."""
    _check_unknown(data, {"full_name", "job_role", "user"})
    person = Person.objects.select_for_update().get(pk=person.pk)
    if "full_name" in data:
        person.full_name = (data["full_name"] or "").strip()
    if "job_role" in data:
        person.job_role = normalize_job_role(data["job_role"])
    if "user" in data:
        user = data["user"]
        if (
            user is not None
            and not PartnerUser.objects.filter(user=user, partner_id=person.partner_id).exists()
        ):
            raise ValidationError({"user": ["The login must belong to the person's organisation."]})
        person.user = user
    errors = _full_clean(person, exclude=["partner"])
    if errors:
        raise ValidationError(errors)
    person.save()
    return person


# --- completions and awards -------------------------------------------------------------------


def check_completion(
    *, completed_on: dt.date, score: int | None, external_id: str, today: dt.date | None = None
) -> dict[str, str]:
    """Field errors of one completion (shared with the LMS import)."""
    errors: dict[str, str] = {}
    today = today or timezone.localdate()
    if completed_on > today:
        errors["completed_on"] = f"{completed_on.isoformat()} is in the future."
    if score is not None and not 0 <= score <= 100:
        errors["score"] = "A score is a whole number from 0 to 100."
    if len(external_id or "") > 100:
        errors["external_id"] = "At most 100 characters."
    return errors


@dataclass
class CompletionRecorded:
    completion: CourseCompletion
    outcome: str  # "created", "updated" (a better score the same day) or "unchanged"
    awarded: list[PersonCertification] = field(default_factory=list)


@transaction.atomic
def course_completion_record(
    *,
    person: Person,
    course: Course,
    completed_on: dt.date,
    score: int | None = None,
    external_id: str = "",
    award: bool = True,
) -> CompletionRecorded:
    """Record that ``person`` completed ``course`` (an exam course: with its score), then award
    the certifications this completes. The same completion again changes nothing; a better
    score the same day replaces the stored one (the best attempt of a day counts)."""
    errors = check_completion(completed_on=completed_on, score=score, external_id=external_id)
    if errors:
        raise ValidationError({k: [v] for k, v in errors.items()})
    completion = (
        CourseCompletion.objects.select_for_update()
        .filter(person=person, course=course, completed_on=completed_on)
        .first()
    )
    if completion is None:
        completion = CourseCompletion.objects.create(
            person=person,
            course=course,
            completed_on=completed_on,
            score=score,
            external_id=external_id or "",
        )
        outcome = "created"
    elif score is not None and (completion.score is None or score > completion.score):
        completion.score = score
        completion.external_id = external_id or completion.external_id
        completion.save(update_fields=["score", "external_id"])
        outcome = "updated"
    else:
        outcome = "unchanged"
    awarded = certifications_award(people=[person.pk]) if award and outcome != "unchanged" else []
    return CompletionRecorded(completion=completion, outcome=outcome, awarded=awarded)


@dataclass(frozen=True)
class _Rule:
    certification_id: int
    courses: frozenset[int]
    exam_course: int | None
    pass_score: int | None
    validity_months: int | None


def _rules(certifications) -> list[_Rule]:
    rules = []
    for cert in certifications:
        courses = frozenset(c.pk for c in cert.required_courses.all())
        exam = cert.exam_course_id if cert.exam_pass_score is not None else None
        if courses or exam is not None:
            rules.append(_Rule(cert.pk, courses, exam, cert.exam_pass_score, cert.validity_months))
    return rules


def _first_earning(
    rule: _Rule,
    events: dict[int, list[tuple[dt.date, int | None]]],
    after: dt.date | None,
    not_before: dt.date | None,
) -> tuple[dt.date, int | None] | None:
    """The earliest day every requirement is met by completions dated after ``after`` (and on
    or after ``not_before``), with the exam score used; None when not (yet) met."""

    def counts(day: dt.date) -> bool:
        return (after is None or day > after) and (not_before is None or day >= not_before)

    days = []
    for course_id in rule.courses:
        day = next((d for d, _ in events.get(course_id, ()) if counts(d)), None)
        if day is None:
            return None
        days.append(day)
    exam_score = None
    if rule.exam_course is not None:
        attempt = next(
            (
                (d, s)
                for d, s in events.get(rule.exam_course, ())
                if counts(d) and s is not None and s >= (rule.pass_score or 0)
            ),
            None,
        )
        if attempt is None:
            return None
        days.append(attempt[0])
        exam_score = attempt[1]
    return max(days), exam_score


def _award_chunk(person_ids: list[int], rules: list[_Rule]) -> list[PersonCertification]:
    # Lock the people so two concurrent awards for one person cannot both write a row.
    partner_of = dict(
        Person.objects.select_for_update()
        .filter(pk__in=person_ids)
        .order_by("pk")
        .values_list("pk", "partner_id")
    )
    course_ids = set().union(*(r.courses for r in rules)) | {
        r.exam_course for r in rules if r.exam_course is not None
    }
    events: dict[int, dict[int, list[tuple[dt.date, int | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for person_id, course_id, day, score in (
        CourseCompletion.objects.filter(person_id__in=person_ids, course_id__in=course_ids)
        .order_by("completed_on", "id")
        .values_list("person_id", "course_id", "completed_on", "score")
    ):
        events[person_id][course_id].append((day, score))
    latest: dict[tuple[int, int], tuple[dt.date, dt.date | None]] = {}
    for person_id, cert_id, earned_on, revoked_on in (
        PersonCertification.objects.filter(
            person_id__in=person_ids, certification_id__in=[r.certification_id for r in rules]
        )
        .order_by("earned_on", "id")
        .values_list("person_id", "certification_id", "earned_on", "revoked_on")
    ):
        latest[(person_id, cert_id)] = (earned_on, revoked_on)
    new_rows: list[PersonCertification] = []
    for person_id, person_events in events.items():
        if person_id not in partner_of:
            continue
        for rule in rules:
            previous = latest.get((person_id, rule.certification_id))
            while True:
                after = not_before = None
                if previous is not None:
                    after, not_before = previous
                    if rule.validity_months is None and not_before is None:
                        break  # held for good: nothing to renew
                earning = _first_earning(rule, person_events, after, not_before)
                if earning is None:
                    break
                earned_on, exam_score = earning
                expires_on = (
                    add_months(earned_on, rule.validity_months) if rule.validity_months else None
                )
                new_rows.append(
                    PersonCertification(
                        person_id=person_id,
                        partner_id=partner_of[person_id],
                        certification_id=rule.certification_id,
                        earned_on=earned_on,
                        expires_on=expires_on,
                        exam_score=exam_score,
                    )
                )
                previous = (earned_on, None)
    return PersonCertification.objects.bulk_create(new_rows)


@transaction.atomic
def certifications_award(
    *,
    people: Iterable[Person | int] | None = None,
    certifications: Iterable[Certification] | None = None,
) -> list[PersonCertification]:
    """Award every certification whose requirements ``people`` (default: everyone with a
    completion) have met and do not hold from that cycle yet; returns the new rows.

    - ``earned_on`` is the day the last requirement was met: each required course completed
      and, with an exam, the exam course completed with a score of at least the pass score.
    - Renewal: after an earning, the requirements must all be met again by completions dated
      after it (and, when it was revoked, on or after the revocation) to earn a new row;
      certifications that never expire are earned once unless revoked. Rows are never updated.
    - Set-based: a handful of queries per 500 people, whatever the number of completions.
    """
    cert_qs = Certification.objects.all()
    if certifications is not None:
        cert_qs = cert_qs.filter(pk__in=[c.pk for c in certifications])
    rules = _rules(cert_qs.prefetch_related("required_courses"))
    if not rules:
        return []
    if people is None:
        course_ids = set().union(*(r.courses for r in rules)) | {
            r.exam_course for r in rules if r.exam_course is not None
        }
        person_ids = sorted(
            set(
                CourseCompletion.objects.filter(course_id__in=course_ids)
                .values_list("person_id", flat=True)
                .distinct()
            )
        )
    else:
        person_ids = sorted({p.pk if isinstance(p, Person) else int(p) for p in people})
    created: list[PersonCertification] = []
    for start in range(0, len(person_ids), AWARD_CHUNK):
        created += _award_chunk(person_ids[start : start + AWARD_CHUNK], rules)
    return created


@transaction.atomic
def certification_revoke(
    *, person_certification: PersonCertification, reason: str, on: dt.date | None = None
) -> PersonCertification:
    """Revoke a person's certification: it no longer counts from ``on`` (default today)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("A reason is required to revoke a certification.", field="reason")
    today = timezone.localdate()
    on = on or today
    pc = PersonCertification.objects.select_for_update().get(pk=person_certification.pk)
    if pc.revoked_on is not None:
        raise Conflict(
            f"This certification was already revoked on {pc.revoked_on.isoformat()}.", field="on"
        )
    if on > today:
        raise ServiceError("A revocation cannot be dated in the future.", field="on")
    if on < pc.earned_on:
        raise ServiceError(
            f"A revocation cannot be dated before the certification was earned "
            f"({pc.earned_on.isoformat()}).",
            field="on",
        )
    pc.revoked_on = on
    pc.revoked_reason = reason
    pc.save(update_fields=["revoked_on", "revoked_reason"])
    return pc
