"""/api/v1/training: catalogue CRUD, people, certifications, competencies, imports, revocation,
and tenancy (another partner's data answers 404, partner users get 403 on staff writes)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from partnerhub.training.models import Certification, Course, Person, PersonCertification

from .helpers import certify

T = "/training"


def locs(response) -> list[list]:
    return [d["loc"] for d in response.body["detail"]]


# --- catalogue ---------------------------------------------------------------------------------


def test_program_admin_manages_the_catalogue(world, api_as):
    admin = api_as(world.program_admin)
    r = admin.post(f"{T}/courses", {"key": "ev-basics", "name": "EV basics"})
    assert r.status_code == 201, r.body
    course_id = r.body["id"]
    assert (r.body["key"], r.body["name"], r.body["description"]) == ("ev-basics", "EV basics", "")
    admin.post(f"{T}/courses", {"key": "ev-exam", "name": "Exam"})
    r = admin.patch(f"{T}/courses/{course_id}", {"description": "Start here."})
    assert (r.status_code, r.body["description"]) == (200, "Start here.")

    r = admin.post(
        f"{T}/certifications",
        {
            "key": "ev-installer",
            "name": "EV Installer",
            "required_courses": ["ev-basics"],
            "exam_course": "ev-exam",
            "exam_pass_score": 75,
            "validity_months": 24,
            "fee": "250.00",
            "currency": "eur",
        },
    )
    assert r.status_code == 201, r.body
    cert_id = r.body["id"]
    body = {k: v for k, v in r.body.items() if k not in ("id", "created_at", "updated_at")}
    assert body == {
        "key": "ev-installer",
        "name": "EV Installer",
        "required_courses": ["ev-basics"],
        "exam_course": "ev-exam",
        "exam_pass_score": 75,
        "validity_months": 24,
        "fee": "250.00",
        "currency": "EUR",
    }
    assert Certification.objects.get(pk=cert_id).fee_minor == 25000
    r = admin.patch(
        f"{T}/certifications/{cert_id}",
        {"exam_course": None, "exam_pass_score": None, "validity_months": None, "fee": "99.5"},
    )
    assert r.status_code == 200, r.body
    assert (r.body["exam_course"], r.body["validity_months"], r.body["fee"]) == (
        None,
        None,
        "99.50",
    )
    assert r.body["required_courses"] == ["ev-basics"]

    r = admin.post(
        f"{T}/competencies",
        {"key": "ev-installation", "name": "EV installation", "certifications": ["ev-installer"]},
    )
    assert r.status_code == 201, r.body
    assert (r.body["certifications"], r.body["min_people"]) == (["ev-installer"], 1)
    r = admin.patch(f"{T}/competencies/{r.body['id']}", {"min_people": 3})
    assert (r.status_code, r.body["min_people"]) == (200, 3)

    for path, keys in [
        ("courses", ["ev-basics", "ev-exam"]),
        ("certifications", ["ev-installer"]),
        ("competencies", ["ev-installation"]),
    ]:
        listed = api_as(world.admin_b).get(f"{T}/{path}")
        assert listed.status_code == 200
        assert listed.body["count"] == len(keys)
        assert [item["key"] for item in listed.body["items"]] == keys
    assert api_as(world.viewer).get(f"{T}/courses", q="exam").body["count"] == 1


@pytest.mark.parametrize(
    "body, loc, status",
    [
        ({"key": "x", "name": "X"}, ["body", "required_courses"], 400),
        (
            {"key": "x", "name": "X", "required_courses": ["nope"]},
            ["body", "required_courses"],
            400,
        ),
        (
            {"key": "x", "name": "X", "required_courses": ["ev-basics"], "fee": "10"},
            ["body", "currency"],
            400,
        ),
        ({"key": "not a slug", "name": "X"}, ["body", "key"], 422),
        ({"key": "x", "name": "X", "exam_pass_score": 101}, ["body", "exam_pass_score"], 422),
        ({"key": "x", "name": "X", "fee": "1.2345"}, ["body", "fee"], 422),
    ],
)
def test_certification_validation_names_the_field(world, api_as, catalogue, body, loc, status):
    r = api_as(world.program_admin).post(f"{T}/certifications", body)
    assert r.status_code == status, r.body
    assert loc in locs(r)


def test_duplicate_course_key_is_refused(world, api_as, catalogue):
    r = api_as(world.program_admin).post(f"{T}/courses", {"key": "ev-basics", "name": "Again"})
    assert r.status_code == 400
    assert locs(r) == [["body", "key"]]


def test_catalogue_null_is_refused_on_non_nullable_fields(world, api_as, catalogue):
    r = api_as(world.program_admin).patch(f"{T}/courses/{catalogue.basics.pk}", {"name": None})
    assert (r.status_code, locs(r)) == (400, [["body", "name"]])


@pytest.mark.parametrize("who", ["admin_a", "manager", "finance", "viewer"])
def test_only_program_admins_write_the_catalogue(world, api_as, catalogue, who):
    client = api_as(getattr(world, who))
    for method, path, body in [
        ("post", f"{T}/courses", {"key": "new", "name": "New"}),
        ("patch", f"{T}/courses/{catalogue.basics.pk}", {"name": "Renamed"}),
        (
            "post",
            f"{T}/certifications",
            {"key": "new", "name": "N", "required_courses": ["ev-basics"]},
        ),
        ("patch", f"{T}/certifications/{catalogue.installer.pk}", {"name": "Renamed"}),
        ("post", f"{T}/competencies", {"key": "new", "name": "N", "certifications": ["ev-sales"]}),
        ("patch", f"{T}/competencies/{catalogue.competency.pk}", {"name": "Renamed"}),
    ]:
        r = getattr(client, method)(path, body)
        assert r.status_code == 403, (method, path, r.body)
        assert r.body["detail"][0]["msg"] == "Only program admins change the training catalogue."
    assert Course.objects.filter(name="Renamed").count() == 0
    assert not Course.objects.filter(key="new").exists()


def test_anonymous_gets_401(world, api_as, catalogue):
    anonymous = api_as(None)
    for path in [
        f"{T}/courses",
        f"{T}/certifications",
        f"{T}/competencies",
        f"{T}/partners/{world.partner_a.pk}/people",
        f"{T}/partners/{world.partner_a.pk}/certifications",
    ]:
        assert anonymous.get(path).status_code == 401
    assert anonymous.post(f"{T}/courses", {"key": "x", "name": "X"}).status_code == 401


def test_unknown_catalogue_ids_are_404(world, api_as, catalogue):
    r = api_as(world.program_admin).patch(f"{T}/courses/999999", {"name": "X"})
    assert r.status_code == 404


# --- people ------------------------------------------------------------------------------------


def test_partner_admin_adds_and_updates_its_people(world, api_as):
    client = api_as(world.admin_a)
    url = f"{T}/partners/{world.partner_a.pk}/people"
    r = client.post(url, {"email": "Jo@Alpha.test", "full_name": "Jo", "job_role": "Engineer"})
    assert r.status_code == 201, r.body
    assert (r.body["email"], r.body["job_role"], r.body["partner_id"]) == (
        "jo@alpha.test",
        "engineer",
        world.partner_a.pk,
    )
    r = client.post(url, {"email": "jo@alpha.test", "full_name": "Jo Weber"})
    assert (r.status_code, r.body["full_name"], r.body["job_role"]) == (200, "Jo Weber", "engineer")
    listed = api_as(world.sales_a).get(url)
    assert listed.status_code == 200
    assert [p["email"] for p in listed.body["items"]] == ["jo@alpha.test"]
    assert api_as(world.manager).get(url, q="weber").body["count"] == 1


def test_people_tenancy(world, api_as):
    Person.objects.create(partner=world.partner_b, email="bo@beta.test")
    url_b = f"{T}/partners/{world.partner_b.pk}/people"
    for user in (world.admin_a, world.sales_a, world.manager, world.child_1_admin):
        client = api_as(user)
        assert client.get(url_b).status_code == 404
        assert client.post(url_b, {"email": "x@beta.test"}).status_code == 404
    assert not Person.objects.filter(email="x@beta.test").exists()
    # Partner members who are not admins, and read-only staff, may read but not write.
    url_a = f"{T}/partners/{world.partner_a.pk}/people"
    for user in (world.sales_a, world.viewer, world.finance):
        client = api_as(user)
        assert client.get(url_a).status_code == 200
        r = client.post(url_a, {"email": "x@alpha.test"})
        assert r.status_code == 403, r.body
    # A sub-operator manages its children's people; a child does not see its parent.
    child = f"{T}/partners/{world.child_1.pk}/people"
    assert api_as(world.operator_admin).post(child, {"email": "c@child.test"}).status_code == 201
    operator = f"{T}/partners/{world.operator.pk}/people"
    assert api_as(world.child_1_admin).get(operator).status_code == 404
    assert api_as(world.program_admin).post(url_b, {"email": "new@beta.test"}).status_code == 201


# --- certifications and competencies of a partner ---------------------------------------------


@pytest.fixture
def held(world, catalogue, person_a):
    """Alpha: Jo holds a current installer (ends in 30 days), an expired expert and a revoked
    sales certification. Beta: Bo holds a current installer."""
    today = timezone.localdate()
    days = dt.timedelta
    current = certify(person_a, catalogue.installer, today - days(700), today + days(30))
    expired = certify(person_a, catalogue.expert, today - days(400), today - days(35))
    revoked = certify(
        person_a, catalogue.sales, today - days(100), revoked_on=today - days(1), revoked_reason="x"
    )
    bo = Person.objects.create(partner=world.partner_b, email="bo@beta.test")
    beta = certify(bo, catalogue.installer, today - days(10), today + days(700))
    return {"current": current, "expired": expired, "revoked": revoked, "beta": beta}


def test_partner_certifications_with_status_and_expiry_filter(world, api_as, held):
    client = api_as(world.sales_a)
    url = f"{T}/partners/{world.partner_a.pk}/certifications"
    r = client.get(url)
    assert r.status_code == 200
    by_status = {item["status"]: item for item in r.body["items"]}
    assert set(by_status) == {"current", "expired", "revoked"} and r.body["count"] == 3
    current = by_status["current"]
    pc = held["current"]
    assert current == {
        "id": pc.pk,
        "partner_id": world.partner_a.pk,
        "person_id": pc.person_id,
        "person_email": "jo@alpha.test",
        "person_name": "Jo Weber",
        "certification": "ev-installer",
        "certification_name": "EV Installer",
        "earned_on": pc.earned_on.isoformat(),
        "expires_on": pc.expires_on.isoformat(),
        "valid_through": (pc.expires_on - dt.timedelta(days=1)).isoformat(),
        "revoked_on": None,
        "revoked_reason": "",
        "exam_score": None,
        "status": "current",
    }
    for status in ("current", "expired", "revoked"):
        r = client.get(url, status=status)
        assert [i["id"] for i in r.body["items"]] == [held[status].pk]
    assert [i["id"] for i in client.get(url, expiring_within_days=30).body["items"]] == [pc.pk]
    assert client.get(url, expiring_within_days=29).body["count"] == 0
    assert client.get(url, certification="ev-expert").body["count"] == 1
    assert client.get(url, status="bogus").status_code == 422
    assert client.get(url, expiring_within_days=-1).status_code == 422


def test_partner_competencies_today(world, api_as, held, catalogue):
    other = Person.objects.create(partner=world.partner_a, email="ann@alpha.test")
    certify(other, catalogue.expert, timezone.localdate())
    r = api_as(world.admin_a).get(f"{T}/partners/{world.partner_a.pk}/competencies")
    assert r.status_code == 200
    assert r.body["items"] == [
        {
            "id": catalogue.competency.pk,
            "key": "ev-installation",
            "name": "EV installation",
            "certifications": ["ev-expert", "ev-installer"],
            "min_people": 2,
            "people": 2,
            "held": True,
        }
    ]
    r = api_as(world.admin_b).get(f"{T}/partners/{world.partner_b.pk}/competencies")
    assert [(i["people"], i["held"]) for i in r.body["items"]] == [(1, False)]


def test_certification_and_competency_tenancy(world, api_as, held):
    for path in ("certifications", "competencies"):
        assert (
            api_as(world.admin_a).get(f"{T}/partners/{world.partner_b.pk}/{path}").status_code
            == 404
        )
        assert (
            api_as(world.manager).get(f"{T}/partners/{world.partner_b.pk}/{path}").status_code
            == 404
        )
        assert (
            api_as(world.other_manager).get(f"{T}/partners/{world.partner_b.pk}/{path}").status_code
            == 200
        )


# --- revocation --------------------------------------------------------------------------------


def test_program_admin_revokes(world, api_as, held):
    pc = held["current"]
    url = f"{T}/person-certifications/{pc.pk}/revoke"
    assert api_as(world.admin_a).post(url, {"reason": "x"}).status_code == 403
    assert api_as(world.admin_b).post(url, {"reason": "x"}).status_code == 404
    assert api_as(world.manager).post(url, {"reason": "x"}).status_code == 403
    r = api_as(world.program_admin).post(url, {})
    assert (r.status_code, locs(r)) == (422, [["body", "reason"]])
    r = api_as(world.program_admin).post(url, {"reason": "Shared exam answers"})
    assert r.status_code == 200, r.body
    assert (r.body["status"], r.body["revoked_on"], r.body["revoked_reason"]) == (
        "revoked",
        timezone.localdate().isoformat(),
        "Shared exam answers",
    )
    r = api_as(world.program_admin).post(url, {"reason": "again"})
    assert r.status_code == 409
    r = api_as(world.program_admin).post(
        f"{T}/person-certifications/999999/revoke", {"reason": "x"}
    )
    assert r.status_code == 404


def test_revoke_date_validation(world, api_as, held):
    pc = held["beta"]
    r = api_as(world.program_admin).post(
        f"{T}/person-certifications/{pc.pk}/revoke", {"reason": "x", "on": "2001-01-01"}
    )
    assert (r.status_code, locs(r)) == (400, [["body", "on"]])


# --- imports -----------------------------------------------------------------------------------


def row(world, **kw):
    return {
        "partner_id": world.partner_a.pk,
        "email": "jo@alpha.test",
        "course_key": "ev-basics",
        "completed_on": "2025-01-10",
        **kw,
    }


def test_json_import(world, api_as, catalogue):
    client = api_as(world.program_admin)
    r = client.post(
        f"{T}/completions/import",
        {"rows": [row(world), row(world, course_key="ev-install", completed_on="2025-02-01")]},
    )
    assert r.status_code == 200, r.body
    assert {k: r.body[k] for k in ("stored", "completions_created", "certifications_awarded")} == {
        "stored": True,
        "completions_created": 2,
        "certifications_awarded": 2,
    }
    assert r.body["errors"] == []
    r = client.post(
        f"{T}/completions/import",
        {"rows": [row(world, course_key="ev-exam"), row(world, email="nope", score=50)]},
    )
    assert r.status_code == 400
    assert r.body["detail"] == [
        {
            "loc": ["body", "rows", 1, "email"],
            "msg": "'nope' is not an e-mail address.",
            "type": "invalid_row",
        }
    ]
    r = client.post(
        f"{T}/completions/import",
        {"rows": [row(world, course_key="ev-exam"), row(world, email="nope")], "partial": True},
    )
    assert r.status_code == 200
    assert (r.body["completions_created"], r.body["errors"]) == (
        1,
        [{"row": 1, "column": "email", "message": "'nope' is not an e-mail address."}],
    )


def test_csv_upload(world, api_as, catalogue, client):
    from partnerhub.accounts.services import api_token_create

    _, token = api_token_create(user=world.program_admin, name="t")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    good = (
        "partner_id,email,course_key,completed_on\n"
        f"{world.partner_a.pk},jo@alpha.test,ev-basics,2025-01-10\n"
    )
    r = client.post(
        "/api/v1/training/completions/import-csv",
        {"file": SimpleUploadedFile("lms.csv", good.encode(), content_type="text/csv")},
        **headers,
    )
    assert r.status_code == 200, r.content
    assert r.json()["completions_created"] == 1
    bad = good + f"{world.partner_a.pk},jo@alpha.test,ev-nope,2025-01-10\n"
    r = client.post(
        "/api/v1/training/completions/import-csv",
        {"file": SimpleUploadedFile("lms.csv", bad.encode())},
        **headers,
    )
    assert r.status_code == 400
    assert r.json()["detail"] == [
        {
            "loc": ["file", 3, "course_key"],
            "msg": "No course with key 'ev-nope'.",
            "type": "invalid_row",
            "line": 3,
        }
    ]
    r = client.post(
        "/api/v1/training/completions/import-csv",
        {"file": SimpleUploadedFile("lms.csv", bad.encode()), "partial": "true"},
        **headers,
    )
    assert (r.status_code, r.json()["completions_unchanged"], len(r.json()["errors"])) == (
        200,
        1,
        1,
    )
    _, partner_token = api_token_create(user=world.admin_a, name="t")
    r = client.post(
        "/api/v1/training/completions/import-csv",
        {"file": SimpleUploadedFile("lms.csv", good.encode())},
        HTTP_AUTHORIZATION=f"Bearer {partner_token}",
    )
    assert r.status_code == 403


def test_only_program_admins_import(world, api_as, catalogue):
    for user in (world.admin_a, world.manager, world.viewer):
        r = api_as(user).post(f"{T}/completions/import", {"rows": [row(world)]})
        assert r.status_code == 403
    assert PersonCertification.objects.count() == 0
    assert api_as(None).post(f"{T}/completions/import", {"rows": [row(world)]}).status_code == 401


def test_json_import_schema_bounds(world, api_as, catalogue):
    client = api_as(world.program_admin)
    assert client.post(f"{T}/completions/import", {"rows": []}).status_code == 422
    r = client.post(f"{T}/completions/import", {"rows": [row(world, score=101)]})
    assert (r.status_code, locs(r)) == (422, [["body", "rows", 0, "score"]])
    r = client.post(f"{T}/completions/import", {"rows": [row(world, completed_on="x\u0000")]})
    assert r.status_code == 422


def test_person_email_is_validated(world, api_as):
    r = api_as(world.admin_a).post(
        f"{T}/partners/{world.partner_a.pk}/people", {"email": "not an e-mail"}
    )
    assert (r.status_code, locs(r)) == (400, [["body", "email"]])
    assert Person.objects.count() == 0
