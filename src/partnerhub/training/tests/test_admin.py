"""The back office for training: pages render, saves go through the services, person
certifications change only through the revoke action."""

from __future__ import annotations

import pytest
from django.utils import timezone

from partnerhub.training.models import (
    Certification,
    CourseCompletion,
    Person,
    PersonCertification,
)

from .helpers import D, certify

PAGES = [
    "course",
    "certification",
    "competency",
    "person",
    "coursecompletion",
    "personcertification",
]


@pytest.fixture
def superuser(make_user):
    return make_user("root@vendor.test", staff_role="program_admin", is_superuser=True)


@pytest.mark.parametrize("model", PAGES)
def test_pages_render(client, superuser, catalogue, person_a, model):
    certify(person_a, catalogue.installer, D(2025, 1, 1), D(2027, 1, 1))
    client.force_login(superuser)
    assert client.get(f"/admin/training/{model}/").status_code == 200
    assert client.get(f"/admin/training/{model}/", {"q": "jo"}).status_code == 200


def test_change_pages_render(client, superuser, catalogue, person_a):
    pc = certify(person_a, catalogue.installer, D(2025, 1, 1), D(2027, 1, 1))
    client.force_login(superuser)
    for url in (
        f"/admin/training/course/{catalogue.basics.pk}/change/",
        f"/admin/training/certification/{catalogue.expert.pk}/change/",
        f"/admin/training/competency/{catalogue.competency.pk}/change/",
        f"/admin/training/person/{person_a.pk}/change/",
        f"/admin/training/personcertification/{pc.pk}/change/",
        "/admin/training/course/add/",
        "/admin/training/certification/add/",
        "/admin/training/coursecompletion/add/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/training/personcertification/add/").status_code == 403


def test_certification_saved_through_the_service(client, superuser, catalogue):
    client.force_login(superuser)
    form = {
        "key": "ev-basic-cert",
        "name": "EV Basic",
        "required_courses": [catalogue.basics.pk, catalogue.install.pk],
        "validity_months": "12",
        "fee_minor": "0",
        "currency": "",
    }
    r = client.post("/admin/training/certification/add/", form)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    cert = Certification.objects.get(key="ev-basic-cert")
    assert sorted(c.key for c in cert.required_courses.all()) == ["ev-basics", "ev-install"]
    # Invalid by the service's rules: the form shows the error instead of failing.
    r = client.post(
        "/admin/training/certification/add/",
        {**form, "key": "other", "required_courses": [], "exam_pass_score": "70"},
    )
    assert r.status_code == 200
    assert r.context["adminform"].form.errors == {
        "exam_course": ["An exam needs the course whose score is the exam result."]
    }


def test_completion_added_in_admin_awards(client, superuser, catalogue, person_a):
    client.force_login(superuser)
    r = client.post(
        "/admin/training/coursecompletion/add/",
        {
            "person": person_a.pk,
            "course": catalogue.basics.pk,
            "completed_on": "2025-01-10",
            "score": "",
            "external_id": "",
        },
    )
    assert r.status_code == 302
    assert CourseCompletion.objects.count() == 1
    assert list(PersonCertification.objects.values_list("certification__key", "earned_on")) == [
        ("ev-sales", D(2025, 1, 10))
    ]
    r = client.post(
        "/admin/training/coursecompletion/add/",
        {"person": person_a.pk, "course": catalogue.basics.pk, "completed_on": "2999-01-01"},
    )
    assert r.status_code == 200
    assert "completed_on" in r.context["adminform"].form.errors


def test_person_added_in_admin_is_normalised(client, superuser, world):
    client.force_login(superuser)
    r = client.post(
        "/admin/training/person/add/",
        {
            "partner": world.partner_a.pk,
            "email": "Ann@Alpha.test",
            "full_name": "Ann",
            "job_role": "engineer",
        },
    )
    assert r.status_code == 302
    assert list(Person.objects.values_list("email", "job_role")) == [("ann@alpha.test", "engineer")]


def test_revoke_action_asks_for_a_reason_then_revokes(client, superuser, catalogue, person_a):
    pc = certify(person_a, catalogue.installer, D(2025, 1, 1), D(2027, 1, 1))
    client.force_login(superuser)
    url = "/admin/training/personcertification/"
    page = client.post(url, {"action": "revoke", "_selected_action": [pc.pk]})
    assert page.status_code == 200
    assert b"Revoke these certifications" in page.content
    pc.refresh_from_db()
    assert pc.revoked_on is None
    r = client.post(
        url,
        {
            "action": "revoke",
            "_selected_action": [pc.pk],
            "apply": "1",
            "reason": "Left the company",
            "on": timezone.localdate().isoformat(),
        },
    )
    assert r.status_code == 302
    pc.refresh_from_db()
    assert (pc.revoked_on, pc.revoked_reason) == (timezone.localdate(), "Left the company")
