"""Applications: prospective partners apply without logging in; staff approve or reject."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from partnerhub.partners.models import (
    Invitation,
    Partner,
    PartnerApplication,
    StatusChange,
)

APPLICATION = {
    "legal_name": "Delta Wallbox GmbH",
    "display_name": "Delta Wallbox",
    "country": "DE",
    "vat_id": "de 136695976",
    "website_domain": "https://www.Delta-Wallbox.example/about",
    "contact_name": "Dana Delta",
    "contact_email": "Dana@Delta-Wallbox.example.com",
    "contact_phone": "030 1234567",
    "program": "ev-hardware",
    "track": "distributor",
    "message": "We sell 2,000 wallboxes a year.",
}


def field_errors(response) -> set[str]:
    return {d["loc"][-1] for d in response.body["detail"] if len(d["loc"]) > 1}


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """Run a call and send the e-mails it queued on commit."""

    def run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return run


@pytest.fixture
def submitted(world, api_as):
    r = api_as(None).post("/applications", APPLICATION)
    assert r.status_code == 201, r.body
    return PartnerApplication.objects.get(pk=r.body["id"])


def test_anonymous_submission_is_normalised(world, api_as):
    r = api_as(None).post("/applications", APPLICATION)
    assert r.status_code == 201, r.body
    assert r.body["status"] == "submitted"
    application = PartnerApplication.objects.get(pk=r.body["id"])
    assert application.vat_id == "DE136695976"
    assert application.website_domain == "delta-wallbox.example"
    assert application.contact_email == "dana@delta-wallbox.example.com"
    assert application.contact_phone == "+49301234567"
    assert (application.program.key, application.track_key) == ("ev-hardware", "distributor")
    assert application.decided_by is None and application.partner is None
    # Submitting creates no partner and sends nothing yet.
    assert Partner.objects.count() == 5 and mail.outbox == []


INVALID = [
    ({"program": "nope"}, "program", 400),
    ({"track": "astronaut"}, "track", 400),
    ({"country": "XX"}, "country", 400),
    ({"country": "DEU"}, "country", 422),
    ({"vat_id": "DE123"}, "vat_id", 400),
    ({"website_domain": "not a domain"}, "website_domain", 400),
    ({"contact_phone": "12"}, "contact_phone", 400),
    ({"contact_email": "nope"}, "contact_email", 422),
    ({"contact_name": ""}, "contact_name", 422),
    ({"legal_name": ""}, "legal_name", 422),
    ({"message": "x" * 5001}, "message", 422),
]


@pytest.mark.parametrize("change,field,status", INVALID, ids=[f for _, f, _ in INVALID])
def test_submission_errors_name_the_field(change, field, status, world, api_as):
    r = api_as(None).post("/applications", {**APPLICATION, **change})
    assert r.status_code == status, r.body
    assert field in field_errors(r), r.body
    if field in ("program", "track"):
        assert change[field] in r.body["detail"][0]["msg"]
    assert not PartnerApplication.objects.exists()


def test_missing_fields_are_all_named(world, api_as):
    r = api_as(None).post("/applications", {})
    assert r.status_code == 422
    assert field_errors(r) >= {
        "legal_name",
        "country",
        "contact_name",
        "contact_email",
        "program",
        "track",
    }


def test_staff_list_and_read(world, api_as, submitted):
    for user in (world.program_admin, world.manager):
        client = api_as(user)
        r = client.get("/applications")
        assert r.status_code == 200
        assert [a["id"] for a in r.body["items"]] == [submitted.pk]
        assert r.body["items"][0]["track"] == "distributor"
        assert client.get("/applications", status="submitted").body["count"] == 1
        assert client.get("/applications", status="approved").body["count"] == 0
        r = client.get(f"/applications/{submitted.pk}")
        assert r.status_code == 200 and r.body["contact_email"] == "dana@delta-wallbox.example.com"


def test_partner_users_and_readers_cannot_see_applications(world, api_as, submitted):
    for user in (world.admin_a, world.sales_a, world.finance, world.viewer):
        client = api_as(user)
        assert client.get("/applications").status_code == 403
        assert client.get(f"/applications/{submitted.pk}").status_code == 404
        assert client.post(f"/applications/{submitted.pk}/approve", {}).status_code == 404
        assert (
            client.post(f"/applications/{submitted.pk}/reject", {"reason": "No"}).status_code == 404
        )
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    assert Partner.objects.count() == 5


@pytest.mark.parametrize("approver", ["program_admin", "manager"])
def test_approval_creates_an_active_partner_and_invites_the_applicant(
    approver, world, api_as, submitted, mails
):
    actor = getattr(world, approver)
    client = api_as(actor)
    r = mails(lambda: client.post(f"/applications/{submitted.pk}/approve", {"reason": "Welcome"}))
    assert r.status_code == 200, r.body
    partner = Partner.objects.get(pk=r.body["id"])
    assert (partner.legal_name, partner.display_name, partner.status) == (
        "Delta Wallbox GmbH",
        "Delta Wallbox",
        "active",
    )
    assert (partner.vat_id, partner.website_domain, partner.country) == (
        "DE136695976",
        "delta-wallbox.example",
        "DE",
    )
    assert [(t["program"], t["track"]) for t in r.body["tracks"]] == [
        ("ev-hardware", "distributor")
    ]
    if approver == "manager":
        assert partner.partner_manager == world.manager
    # Contact and history.
    contact = partner.contacts.get()
    assert (contact.role, contact.name, contact.email, contact.phone) == (
        "administrative",
        "Dana Delta",
        "dana@delta-wallbox.example.com",
        "+49301234567",
    )
    history = list(StatusChange.objects.filter(partner=partner).values_list("to_status", "reason"))
    assert history == [("applied", f"Application #{submitted.pk} submitted"), ("active", "Welcome")]
    assert all(c.author == actor for c in partner.status_changes.all())
    # The application records the decision.
    submitted.refresh_from_db()
    assert (submitted.status, submitted.decided_by, submitted.partner) == (
        "approved",
        actor,
        partner,
    )
    assert submitted.decision_reason == "Welcome" and submitted.decided_at is not None
    # The applicant is invited as the partner's admin, with a working link.
    invitation = Invitation.objects.get(partner=partner)
    assert (invitation.email, invitation.role, invitation.state) == (
        "dana@delta-wallbox.example.com",
        "admin",
        "pending",
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@delta-wallbox.example.com"]
    token = re.search(r"token=(\S+)", mail.outbox[0].body).group(1)
    r = api_as(None).post(
        "/invitations/accept", {"token": token, "password": "Violet-Kettle-42-Drums"}
    )
    assert r.status_code == 201, r.body
    assert (r.body["partner_id"], r.body["role"]) == (partner.pk, "admin")
    # Deciding again is a conflict and changes nothing.
    for path, body in (("approve", {}), ("reject", {"reason": "Changed our minds"})):
        r = client.post(f"/applications/{submitted.pk}/{path}", body)
        assert r.status_code == 409, r.body
    assert Partner.objects.filter(legal_name="Delta Wallbox GmbH").count() == 1
    submitted.refresh_from_db()
    assert submitted.status == "approved"


def test_approval_without_reason_records_a_default(world, api_as, submitted):
    r = api_as(world.program_admin).post(f"/applications/{submitted.pk}/approve", {})
    assert r.status_code == 200, r.body
    change = StatusChange.objects.get(partner_id=r.body["id"], to_status="active")
    assert change.reason == f"Application #{submitted.pk} approved"


def test_approval_of_an_existing_users_application_sends_no_invitation(
    world, api_as, make_user, mails
):
    make_user("dana@delta-wallbox.example.com")
    r = api_as(None).post("/applications", APPLICATION)
    r = mails(lambda: api_as(world.program_admin).post(f"/applications/{r.body['id']}/approve", {}))
    assert r.status_code == 200, r.body
    assert not Invitation.objects.exists() and mail.outbox == []


def test_approval_fails_whole_when_the_track_is_gone(world, api_as, submitted, mails):
    PartnerApplication.objects.filter(pk=submitted.pk).update(track_key="retired")
    r = mails(lambda: api_as(world.program_admin).post(f"/applications/{submitted.pk}/approve", {}))
    assert r.status_code == 400, r.body
    assert field_errors(r) == {"track"}
    # Nothing half done: no partner, no invitation, no e-mail; still undecided.
    assert Partner.objects.count() == 5
    assert not Invitation.objects.exists() and mail.outbox == []
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_rejection_needs_a_reason_and_tells_the_applicant(world, api_as, submitted, mails):
    client = api_as(world.manager)
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = mails(lambda body=body: client.post(f"/applications/{submitted.pk}/reject", body))
        assert r.status_code == 400, r.body
        assert field_errors(r) == {"reason"}
    assert mail.outbox == []
    r = mails(
        lambda: client.post(
            f"/applications/{submitted.pk}/reject", {"reason": " Outside our territory "}
        )
    )
    assert r.status_code == 200, r.body
    assert (r.body["status"], r.body["decision_reason"], r.body["decided_by_id"]) == (
        "rejected",
        "Outside our territory",
        world.manager.pk,
    )
    assert r.body["partner_id"] is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@delta-wallbox.example.com"]
    assert "Outside our territory" in mail.outbox[0].body
    assert Partner.objects.count() == 5
    for path, body in (("approve", {}), ("reject", {"reason": "Again"})):
        assert client.post(f"/applications/{submitted.pk}/{path}", body).status_code == 409
    assert len(mail.outbox) == 1


def test_unknown_application_is_404(world, api_as):
    client = api_as(world.program_admin)
    assert client.get("/applications/999999").status_code == 404
    assert client.post("/applications/999999/approve", {}).status_code == 404
    assert client.get("/applications/0").status_code == 422
