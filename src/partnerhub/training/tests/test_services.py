"""Awarding, validity, expiry, revocation, renewal and competencies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.training import selectors, services
from partnerhub.training.models import CourseCompletion, Person, PersonCertification
from partnerhub.training.services import add_months, course_completion_record

from .helpers import D, certify


def rows(person, cert=None):
    qs = PersonCertification.objects.filter(person=person)
    if cert is not None:
        qs = qs.filter(certification=cert)
    return list(
        qs.order_by("earned_on").values_list(
            "certification__key", "earned_on", "expires_on", "revoked_on", "exam_score"
        )
    )


def complete(person, course, day, score=None):
    return course_completion_record(person=person, course=course, completed_on=day, score=score)


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (D(2025, 3, 15), 24, D(2027, 3, 15)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2025, 12, 1), 1, D(2026, 1, 1)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


# --- awarding -----------------------------------------------------------------------------------


def test_awarded_on_the_day_the_last_required_course_is_completed(catalogue, person_a):
    first = complete(person_a, catalogue.basics, D(2025, 1, 10))
    assert first.outcome == "created"
    # ev-sales needs only ev-basics: earned at once, never expires.
    assert [(pc.certification.key, pc.earned_on) for pc in first.awarded] == [
        ("ev-sales", D(2025, 1, 10))
    ]
    assert rows(person_a, catalogue.installer) == []
    second = complete(person_a, catalogue.install, D(2025, 2, 3))
    assert [pc.certification.key for pc in second.awarded] == ["ev-installer"]
    assert rows(person_a) == [
        ("ev-sales", D(2025, 1, 10), None, None, None),
        ("ev-installer", D(2025, 2, 3), D(2027, 2, 3), None, None),
    ]
    pc = PersonCertification.objects.get(certification=catalogue.installer)
    assert pc.partner == person_a.partner


def test_last_requirement_met_earlier_in_time_still_dates_the_award_by_the_latest(
    catalogue, person_a
):
    complete(person_a, catalogue.install, D(2025, 5, 1))
    result = complete(person_a, catalogue.basics, D(2025, 3, 1))  # recorded later, dated earlier
    installer = [pc for pc in result.awarded if pc.certification_id == catalogue.installer.pk]
    assert [(pc.earned_on, pc.expires_on) for pc in installer] == [(D(2025, 5, 1), D(2027, 5, 1))]


def test_exam_must_be_passed_before_the_award(catalogue, person_a):
    complete(person_a, catalogue.install, D(2025, 1, 5))
    failed = complete(person_a, catalogue.exam, D(2025, 1, 6), score=79)
    assert failed.awarded == []
    no_score = complete(person_a, catalogue.exam, D(2025, 1, 7))
    assert no_score.awarded == []
    passed = complete(person_a, catalogue.exam, D(2025, 1, 20), score=80)
    assert rows(person_a, catalogue.expert) == [
        ("ev-expert", D(2025, 1, 20), D(2026, 1, 20), None, 80)
    ]
    assert len(passed.awarded) == 1


def test_better_score_the_same_day_replaces_the_stored_one_and_awards(catalogue, person_a):
    complete(person_a, catalogue.install, D(2025, 1, 5))
    assert complete(person_a, catalogue.exam, D(2025, 1, 6), score=60).awarded == []
    lower = complete(person_a, catalogue.exam, D(2025, 1, 6), score=50)
    assert lower.outcome == "unchanged"
    better = complete(person_a, catalogue.exam, D(2025, 1, 6), score=91)
    assert better.outcome == "updated"
    assert CourseCompletion.objects.get(course=catalogue.exam).score == 91
    assert rows(person_a, catalogue.expert) == [
        ("ev-expert", D(2025, 1, 6), D(2026, 1, 6), None, 91)
    ]


def test_recording_the_same_completion_twice_changes_nothing(catalogue, person_a):
    complete(person_a, catalogue.basics, D(2025, 1, 10))
    again = complete(person_a, catalogue.basics, D(2025, 1, 10))
    assert (again.outcome, again.awarded) == ("unchanged", [])
    assert CourseCompletion.objects.count() == 1
    assert services.certifications_award(people=[person_a]) == []


def test_completion_validation(catalogue, person_a):
    with pytest.raises(ValidationError) as exc:
        complete(person_a, catalogue.exam, D(2999, 1, 1), score=101)
    assert set(exc.value.message_dict) == {"completed_on", "score"}
    assert CourseCompletion.objects.count() == 0


# --- validity and expiry --------------------------------------------------------------------------


def test_a_certification_expiring_on_x_counts_on_x_minus_1_not_on_x(catalogue, person_a):
    pc = certify(person_a, catalogue.installer, D(2023, 6, 1), D(2025, 6, 1))
    current = PersonCertification.objects.filter(pk=pc.pk)
    assert current.filter(selectors.current_q(D(2023, 5, 31))).exists() is False
    assert current.filter(selectors.current_q(D(2023, 6, 1))).exists() is True
    assert current.filter(selectors.current_q(D(2025, 5, 31))).exists() is True
    assert current.filter(selectors.current_q(D(2025, 6, 1))).exists() is False
    assert selectors.status_on(pc, D(2025, 5, 31)) == "current"
    assert selectors.status_on(pc, D(2025, 6, 1)) == "expired"


# --- revocation --------------------------------------------------------------------------------


def test_revocation_stops_counting_from_its_date(catalogue, person_a):
    pc = certify(person_a, catalogue.installer, D(2025, 1, 1), D(2027, 1, 1))
    revoked = services.certification_revoke(
        person_certification=pc, reason="  Exam fraud  ", on=D(2025, 3, 1)
    )
    assert (revoked.revoked_on, revoked.revoked_reason) == (D(2025, 3, 1), "Exam fraud")
    qs = PersonCertification.objects.filter(pk=pc.pk)
    assert qs.filter(selectors.current_q(D(2025, 2, 28))).exists() is True
    assert qs.filter(selectors.current_q(D(2025, 3, 1))).exists() is False
    assert selectors.status_on(revoked, D(2025, 3, 1)) == "revoked"
    with pytest.raises(Conflict, match="already revoked on 2025-03-01"):
        services.certification_revoke(person_certification=pc, reason="again", on=D(2025, 3, 2))


@pytest.mark.parametrize(
    "reason, on, field, message",
    [
        ("  ", D(2025, 3, 1), "reason", "A reason is required to revoke a certification."),
        ("x", D(2024, 12, 31), "on", "A revocation cannot be dated before the certification "),
        ("x", D(2999, 1, 1), "on", "A revocation cannot be dated in the future."),
    ],
)
def test_revocation_validation(catalogue, person_a, reason, on, field, message):
    pc = certify(person_a, catalogue.installer, D(2025, 1, 1), D(2027, 1, 1))
    with pytest.raises(ServiceError) as exc:
        services.certification_revoke(person_certification=pc, reason=reason, on=on)
    assert exc.value.field == field
    assert exc.value.message.startswith(message)
    pc.refresh_from_db()
    assert pc.revoked_on is None


# --- renewal -----------------------------------------------------------------------------------


def test_renewal_after_expiry_is_a_new_row(catalogue, person_a):
    complete(person_a, catalogue.install, D(2023, 1, 5))
    complete(person_a, catalogue.exam, D(2023, 1, 10), score=85)
    first = PersonCertification.objects.get(certification=catalogue.expert)
    # Only one requirement retaken: not re-earned.
    assert complete(person_a, catalogue.exam, D(2024, 3, 1), score=90).awarded == []
    renewed = complete(person_a, catalogue.install, D(2024, 3, 4)).awarded
    assert [(pc.earned_on, pc.expires_on, pc.exam_score) for pc in renewed] == [
        (D(2024, 3, 4), D(2025, 3, 4), 90)
    ]
    assert rows(person_a, catalogue.expert) == [
        ("ev-expert", D(2023, 1, 10), D(2024, 1, 10), None, 85),
        ("ev-expert", D(2024, 3, 4), D(2025, 3, 4), None, 90),
    ]
    first_again = PersonCertification.objects.get(pk=first.pk)
    assert (first_again.earned_on, first_again.expires_on) == (D(2023, 1, 10), D(2024, 1, 10))


def test_backfilled_history_awards_every_cycle_in_one_go(catalogue, person_a):
    for course, day, score in [
        (catalogue.install, D(2022, 2, 1), None),
        (catalogue.exam, D(2022, 2, 2), 88),
        (catalogue.install, D(2024, 5, 1), None),
        (catalogue.exam, D(2024, 5, 3), 95),
    ]:
        CourseCompletion.objects.create(
            person=person_a, course=course, completed_on=day, score=score
        )
    awarded = services.certifications_award(people=[person_a], certifications=[catalogue.expert])
    assert sorted((pc.earned_on, pc.expires_on, pc.exam_score) for pc in awarded) == [
        (D(2022, 2, 2), D(2023, 2, 2), 88),
        (D(2024, 5, 3), D(2025, 5, 3), 95),
    ]
    assert services.certifications_award(people=[person_a]) == []


def test_never_expiring_certification_is_earned_again_only_after_revocation(catalogue, person_a):
    complete(person_a, catalogue.basics, D(2024, 1, 1))
    assert complete(person_a, catalogue.basics, D(2024, 6, 1)).awarded == []
    pc = PersonCertification.objects.get(certification=catalogue.sales)
    services.certification_revoke(person_certification=pc, reason="Left the role", on=D(2024, 7, 1))
    # A completion before the revocation does not re-earn it; one on or after does.
    assert services.certifications_award(people=[person_a], certifications=[catalogue.sales]) == []
    again = complete(person_a, catalogue.basics, D(2024, 7, 1)).awarded
    assert [(pc.certification.key, pc.earned_on) for pc in again] == [("ev-sales", D(2024, 7, 1))]
    assert rows(person_a, catalogue.sales) == [
        ("ev-sales", D(2024, 1, 1), None, D(2024, 7, 1), None),
        ("ev-sales", D(2024, 7, 1), None, None, None),
    ]


def test_award_for_many_people_is_set_based(catalogue, world, django_assert_max_num_queries):
    people = Person.objects.bulk_create(
        Person(partner=world.partner_a, email=f"p{i}@alpha.test") for i in range(60)
    )
    CourseCompletion.objects.bulk_create(
        CourseCompletion(person=p, course=c, completed_on=D(2025, 1, 2))
        for p in people
        for c in (catalogue.basics, catalogue.install)
    )
    with django_assert_max_num_queries(8):
        awarded = services.certifications_award(people=people)
    assert len(awarded) == 120  # ev-installer and ev-sales each
    assert PersonCertification.objects.filter(partner=world.partner_a).count() == 120


# --- competencies ------------------------------------------------------------------------------


def standing(partner, on):
    return {s.key: (s.people, s.held) for s in selectors.competencies_held(partner=partner, on=on)}


def test_competency_held_while_n_people_hold_its_certifications(catalogue, world, person_a):
    other, _ = services.person_upsert(partner=world.partner_a, email="ann@alpha.test")
    outsider, _ = services.person_upsert(partner=world.partner_b, email="bo@beta.test")
    certify(person_a, catalogue.installer, D(2025, 1, 1), D(2025, 7, 1))
    certify(outsider, catalogue.installer, D(2025, 1, 1))  # another partner's: never counts
    assert standing(world.partner_a, D(2025, 3, 1)) == {"ev-installation": (1, False)}
    certify(other, catalogue.expert, D(2025, 2, 1), D(2026, 2, 1))  # any of the certifications
    certify(person_a, catalogue.expert, D(2025, 2, 1), D(2026, 2, 1))  # same person twice: 1
    assert standing(world.partner_a, D(2025, 1, 31)) == {"ev-installation": (1, False)}
    assert standing(world.partner_a, D(2025, 3, 1)) == {"ev-installation": (2, True)}
    PersonCertification.objects.filter(person=other).update(revoked_on=D(2025, 5, 1))
    assert standing(world.partner_a, D(2025, 5, 1)) == {"ev-installation": (1, False)}
    assert standing(world.partner_b, D(2025, 3, 1)) == {"ev-installation": (1, False)}


# --- catalogue validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, errors",
    [
        ({"key": "x", "name": "X"}, {"required_courses"}),
        ({"key": "x", "name": "X", "required_courses": ["nope"]}, {"required_courses"}),
        ({"key": "x", "name": "X", "exam_pass_score": 70}, {"exam_course"}),
        ({"key": "x", "name": "X", "exam_course": "ev-exam"}, {"exam_pass_score"}),
        (
            {"key": "x", "name": "X", "exam_course": "ev-exam", "exam_pass_score": 101},
            {"exam_pass_score"},
        ),
        (
            {"key": "x", "name": "X", "required_courses": ["ev-basics"], "fee_minor": 100},
            {"currency"},
        ),
        (
            {"key": "x", "name": "X", "required_courses": ["ev-basics"], "validity_months": 0},
            {"validity_months"},
        ),
        ({"key": "ev-installer", "name": "X", "required_courses": ["ev-basics"]}, {"key"}),
        ({"key": "not a slug", "name": "X", "required_courses": ["ev-basics"]}, {"key"}),
    ],
)
def test_certification_validation(catalogue, data, errors):
    with pytest.raises(ValidationError) as exc:
        services.certification_create(data=data)
    assert set(exc.value.message_dict) == errors


def test_certification_update_keeps_unchanged_requirements(catalogue):
    cert = services.certification_update(
        certification=catalogue.installer, data={"validity_months": None, "name": "Installer"}
    )
    assert cert.validity_months is None
    assert sorted(c.key for c in cert.required_courses.all()) == ["ev-basics", "ev-install"]


def test_person_upsert_normalises_updates_and_links_the_login(world, make_user):
    person, created = services.person_upsert(
        partner=world.partner_a, email=" Jo@Alpha.TEST ", full_name="Jo", job_role="Account Manager"
    )
    assert created and (person.email, person.job_role) == ("jo@alpha.test", "account-manager")
    assert person.user is None
    user = make_user("jo@alpha.test", partner=world.partner_a, role="sales")
    same, created = services.person_upsert(partner=world.partner_a, email="jo@alpha.test")
    assert (same.pk, created, same.full_name, same.user) == (person.pk, False, "Jo", user)
    # The same e-mail at another partner is another person (and not linked to A's login).
    other, created = services.person_upsert(partner=world.partner_b, email="jo@alpha.test")
    assert created and other.pk != person.pk and other.user is None
