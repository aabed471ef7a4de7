"""Reads for training. Partner-scoped reads start from a partner the caller may see (found
through ``partners.selectors.partner_get``) or from ``visible_partners(user)``: 404 otherwise."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from partnerhub.core.permissions import visible_partners
from partnerhub.partners.models import Partner
from partnerhub.training.models import (
    Certification,
    Competency,
    Course,
    Person,
    PersonCertification,
)

STATUSES = ("current", "expired", "revoked")


def current_q(on: dt.date, prefix: str = "") -> Q:
    """Person certifications that count on ``on``: earned, not expired, not revoked."""
    p = prefix
    return (
        Q(**{f"{p}earned_on__lte": on})
        & (Q(**{f"{p}expires_on__isnull": True}) | Q(**{f"{p}expires_on__gt": on}))
        & (Q(**{f"{p}revoked_on__isnull": True}) | Q(**{f"{p}revoked_on__gt": on}))
    )


def status_on(pc: PersonCertification, on: dt.date) -> str:
    """current, expired or revoked as of ``on`` (a revocation wins over an expiry)."""
    if pc.revoked_on is not None and pc.revoked_on <= on:
        return "revoked"
    if pc.expires_on is not None and pc.expires_on <= on:
        return "expired"
    return "current"


# --- catalogue --------------------------------------------------------------------------------


def course_list(*, q: str | None = None) -> QuerySet[Course]:
    qs = Course.objects.all()
    if q:
        qs = qs.filter(Q(key__icontains=q) | Q(name__icontains=q))
    return qs.order_by("key")


def course_get(*, course_id: int) -> Course:
    return get_object_or_404(Course, pk=course_id)


def certification_list(*, q: str | None = None) -> QuerySet[Certification]:
    qs = Certification.objects.select_related("exam_course").prefetch_related("required_courses")
    if q:
        qs = qs.filter(Q(key__icontains=q) | Q(name__icontains=q))
    return qs.order_by("key")


def certification_get(*, certification_id: int) -> Certification:
    return get_object_or_404(certification_list(), pk=certification_id)


def competency_list(*, q: str | None = None) -> QuerySet[Competency]:
    qs = Competency.objects.prefetch_related("certifications")
    if q:
        qs = qs.filter(Q(key__icontains=q) | Q(name__icontains=q))
    return qs.order_by("key")


def competency_get(*, competency_id: int) -> Competency:
    return get_object_or_404(competency_list(), pk=competency_id)


# --- people and their certifications ----------------------------------------------------------


def person_list(*, partner: Partner, q: str | None = None) -> QuerySet[Person]:
    qs = Person.objects.filter(partner=partner)
    if q:
        qs = qs.filter(Q(email__icontains=q) | Q(full_name__icontains=q))
    return qs.order_by("email", "id")


def partner_certifications(
    *,
    partner: Partner,
    on: dt.date,
    status: str | None = None,
    expiring_within_days: int | None = None,
    certification: str | None = None,
) -> QuerySet[PersonCertification]:
    """A partner's person certifications (history included), newest first.

    ``expiring_within_days=N``: only current ones whose last valid day is within N days
    (``expires_on <= on + N``)."""
    qs = PersonCertification.objects.filter(partner=partner).select_related(
        "person", "certification"
    )
    if status == "current":
        qs = qs.filter(current_q(on))
    elif status == "expired":
        qs = qs.filter(expires_on__lte=on).exclude(revoked_on__lte=on)
    elif status == "revoked":
        qs = qs.filter(revoked_on__lte=on)
    if expiring_within_days is not None:
        qs = qs.filter(current_q(on), expires_on__lte=on + dt.timedelta(days=expiring_within_days))
    if certification:
        qs = qs.filter(certification__key=certification)
    return qs.order_by("-earned_on", "-id")


def person_certification_get(*, fetched_by, person_certification_id: int) -> PersonCertification:
    """The person certification if its partner is visible to ``fetched_by``; 404 otherwise."""
    qs = PersonCertification.objects.filter(
        partner__in=visible_partners(fetched_by).values("pk")
    ).select_related("person", "certification", "partner")
    return get_object_or_404(qs, pk=person_certification_id)


def expiring_certifications(
    *, on: dt.date, days: int, fetched_by=None, partner: Partner | None = None
) -> QuerySet[PersonCertification]:
    """Current person certifications whose validity ends within ``days`` days of ``on`` and that
    have not been renewed since (a later, unrevoked earning of the same certification)."""
    renewed = PersonCertification.objects.filter(
        person=OuterRef("person"),
        certification=OuterRef("certification"),
        earned_on__gt=OuterRef("earned_on"),
        revoked_on__isnull=True,
    )
    qs = PersonCertification.objects.filter(
        current_q(on), expires_on__lte=on + dt.timedelta(days=days)
    ).filter(~Exists(renewed))
    if fetched_by is not None:
        qs = qs.filter(partner__in=visible_partners(fetched_by).values("pk"))
    if partner is not None:
        qs = qs.filter(partner=partner)
    return qs.select_related("person", "certification", "partner").order_by(
        "expires_on", "partner_id", "person__email"
    )


@dataclass(frozen=True)
class CompetencyStanding:
    id: int
    key: str
    name: str
    min_people: int
    certifications: list[str]
    people: int  # distinct people currently holding any of the certifications
    held: bool


def competencies_held(*, partner: Partner, on: dt.date) -> list[CompetencyStanding]:
    """Every competency with how many of the partner's people count toward it on ``on`` and
    whether it is held (three queries, whatever the number of competencies)."""
    holders: dict[int, set[int]] = defaultdict(set)
    for cert_id, person_id in (
        PersonCertification.objects.filter(current_q(on), partner=partner)
        .values_list("certification_id", "person_id")
        .distinct()
    ):
        holders[cert_id].add(person_id)
    standings = []
    for comp in competency_list():
        certs = list(comp.certifications.all())
        people = set().union(*(holders[c.pk] for c in certs)) if certs else set()
        standings.append(
            CompetencyStanding(
                id=comp.pk,
                key=comp.key,
                name=comp.name,
                min_people=comp.min_people,
                certifications=sorted(c.key for c in certs),
                people=len(people),
                held=bool(certs) and len(people) >= comp.min_people,
            )
        )
    return standings
