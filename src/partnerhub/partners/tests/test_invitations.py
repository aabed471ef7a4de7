"""Inviting users end to end: the e-mail, the signed link, accepting through the API and the
HTML page, and every way an invitation can be unusable."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.http import HttpRequest
from django.utils import timezone

from partnerhub.accounts.models import User
from partnerhub.partners import services
from partnerhub.partners.models import Invitation, PartnerUser

PASSWORD = "Violet-Kettle-42-Drums"


@pytest.fixture
def invite(api_as, django_capture_on_commit_callbacks):
    """POST an invitation as ``actor``; the e-mail queued on commit is sent (to mail.outbox)."""

    def call(actor, partner, email="newbie@alpha.example.com", role="sales"):
        with django_capture_on_commit_callbacks(execute=True):
            return api_as(actor).post(
                f"/partners/{partner.pk}/invitations", {"email": email, "role": role}
            )

    return call


def token_from(message) -> str:
    match = re.search(r"/invitations/accept/\?token=(\S+)", message.body)
    assert match, message.body
    return match.group(1)


def field_errors(response) -> set[str]:
    return {d["loc"][-1] for d in response.body["detail"] if len(d["loc"]) > 1}


def test_invitation_end_to_end(world, api_as, client, invite):
    r = invite(world.admin_a, world.partner_a, email="Newbie@Alpha.Example.com")
    assert r.status_code == 201, r.body
    assert r.body["email"] == "newbie@alpha.example.com"
    assert (r.body["state"], r.body["role"], r.body["invited_by_id"]) == (
        "pending",
        "sales",
        world.admin_a.pk,
    )
    expires = dt.datetime.fromisoformat(r.body["expires_at"])
    expected = timezone.now() + dt.timedelta(days=settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS)
    assert abs(expires - expected) < dt.timedelta(minutes=1)

    # The e-mail carries the signed link.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newbie@alpha.example.com"]
    assert "Alpha Charging" in message.subject
    assert f"{settings.PARTNERHUB_BASE_URL}/invitations/accept/?token=" in message.body
    token = token_from(message)
    invitation = Invitation.objects.get(pk=r.body["id"])
    assert services.invitation_from_token(token) == invitation

    listed = api_as(world.admin_a).get(f"/partners/{world.partner_a.pk}/invitations")
    assert [(i["email"], i["state"]) for i in listed.body] == [
        ("newbie@alpha.example.com", "pending")
    ]

    r = api_as(None).post(
        "/invitations/accept", {"token": token, "password": PASSWORD, "full_name": "Nina Newbie"}
    )
    assert r.status_code == 201, r.body
    user = User.objects.get(email="newbie@alpha.example.com")
    assert r.body == {
        "user_id": user.pk,
        "email": "newbie@alpha.example.com",
        "partner_id": world.partner_a.pk,
        "role": "sales",
    }
    assert user.full_name == "Nina Newbie" and user.is_active and not user.is_staff
    assert user.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.state == "accepted" and invitation.accepted_user == user
    listed = api_as(world.admin_a).get(f"/partners/{world.partner_a.pk}/invitations")
    assert [i["state"] for i in listed.body] == ["accepted"]

    # The new user logs in (axes needs the request) and sees its membership.
    assert client.login(request=HttpRequest(), email="newbie@alpha.example.com", password=PASSWORD)
    me = client.get("/api/v1/me").json()
    assert me["membership"] == {
        "partner_id": world.partner_a.pk,
        "partner_name": "Alpha Charging",
        "role": "sales",
    }
    created = client.post("/api/v1/me/tokens", {"name": "cli"}, content_type="application/json")
    assert created.status_code == 201
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {created.json()['token']}"}
    client.logout()
    r = client.get(f"/api/v1/partners/{world.partner_a.pk}", **bearer)
    assert r.status_code == 200
    assert client.get(f"/api/v1/partners/{world.partner_b.pk}", **bearer).status_code == 404

    # The link works once.
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 409, r.body
    assert field_errors(r) == {"token"}
    assert "accepted" in r.body["detail"][0]["msg"]
    assert User.objects.filter(email="newbie@alpha.example.com").count() == 1


def test_sub_operator_invites_to_a_child(world, api_as, invite):
    r = invite(world.operator_admin, world.child_1, email="c1@child.example.com")
    assert r.status_code == 201, r.body
    token = token_from(mail.outbox[-1])
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 201
    assert r.body["partner_id"] == world.child_1.pk


def test_revoked_invitation_cannot_be_accepted(world, api_as, invite):
    r = invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    path = f"/partners/{world.partner_a.pk}/invitations/{r.body['id']}"
    revoked = api_as(world.admin_a).delete(path)
    assert revoked.status_code == 200 and revoked.body["state"] == "revoked"
    assert api_as(world.admin_a).delete(path).status_code == 409
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 409, r.body
    assert "revoked" in r.body["detail"][0]["msg"]
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()
    # A new invitation to the same address may be sent after revoking.
    assert invite(world.admin_a, world.partner_a).status_code == 201


def test_invitation_past_its_expiry_date(world, api_as, invite):
    r = invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    Invitation.objects.filter(pk=r.body["id"]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    r2 = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r2.status_code == 409, r2.body
    assert "expired" in r2.body["detail"][0]["msg"]
    listed = api_as(world.admin_a).get(f"/partners/{world.partner_a.pk}/invitations")
    assert [i["state"] for i in listed.body] == ["expired"]
    # An expired invitation cannot be revoked, but a new one may be sent.
    assert (
        api_as(world.admin_a)
        .delete(f"/partners/{world.partner_a.pk}/invitations/{r.body['id']}")
        .status_code
        == 409
    )
    assert invite(world.admin_a, world.partner_a).status_code == 201
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()


def test_link_signed_too_long_ago_has_expired(world, api_as, monkeypatch, invite):
    r = invite(world.admin_a, world.partner_a)
    invitation = Invitation.objects.get(pk=r.body["id"])
    max_age = dt.timedelta(days=settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS)
    signed_at = time.time() - max_age.total_seconds() - 60
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: signed_at)  # django.core.signing reads time.time()
        token = services.invitation_token(invitation)
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 400, r.body
    assert field_errors(r) == {"token"}
    assert "expired" in r.body["detail"][0]["msg"]
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()


def test_max_age_setting_is_read_when_the_link_is_used(
    world, api_as, settings, monkeypatch, invite
):
    invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS = 0
    later = time.time() + 5
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: later)
        r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 400, r.body
    assert "expired" in r.body["detail"][0]["msg"]
    settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS = 7
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 201, r.body


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.split(":")[0],  # signature missing
        lambda t: "not-a-token",
        lambda t: t + " ",
    ],
    ids=["signature", "payload", "unsigned", "garbage", "trailing-space"],
)
def test_tampered_token_is_400(mangle, world, api_as, invite):
    invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    r = api_as(None).post("/invitations/accept", {"token": mangle(token), "password": PASSWORD})
    assert r.status_code == 400, r.body
    assert field_errors(r) == {"token"}
    assert r.body["detail"][0]["msg"] == "This invitation link is not valid."
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()


def test_token_signed_for_another_purpose_is_rejected(world, api_as, invite):
    from django.core import signing

    r = invite(world.admin_a, world.partner_a)
    payload = {"i": r.body["id"], "e": "newbie@alpha.example.com"}
    forged = signing.dumps(payload, salt="another.purpose")
    r = api_as(None).post("/invitations/accept", {"token": forged, "password": PASSWORD})
    assert r.status_code == 400
    # Correctly signed, but naming another e-mail address or no invitation at all.
    for bad in ({**payload, "e": "evil@example.com"}, {**payload, "i": 999999}, {}):
        token = signing.dumps(bad, salt=services.INVITATION_SALT)
        r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
        assert r.status_code == 400, (bad, r.body)
    assert not User.objects.filter(email__in=["newbie@alpha.example.com", "evil@example.com"])


@pytest.mark.parametrize(
    "password",
    ["short1!", "12345678901234", "password123", "newbie@alpha.example.com"],
    ids=["too-short", "numeric", "common", "like-email"],
)
def test_weak_password_is_400_naming_password(password, world, api_as, invite):
    invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    r = api_as(None).post("/invitations/accept", {"token": token, "password": password})
    assert r.status_code == 400, r.body
    assert field_errors(r) == {"password"}
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()
    # The invitation is still usable with a good password.
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 201


def test_missing_fields_are_422(world, api_as):
    r = api_as(None).post("/invitations/accept", {"token": "x"})
    assert r.status_code == 422 and field_errors(r) == {"password"}
    r = api_as(None).post("/invitations/accept", {"token": "", "password": PASSWORD})
    assert r.status_code == 422 and field_errors(r) == {"token"}


def test_partner_admin_needs_invitations_allowed(world, api_as, invite):
    world.partner_a.allow_user_invitations = False
    world.partner_a.save()
    r = invite(world.admin_a, world.partner_a)
    assert r.status_code == 403, r.body
    assert not Invitation.objects.exists() and mail.outbox == []
    # Vendor staff may still invite.
    r = invite(world.manager, world.partner_a)
    assert r.status_code == 201, r.body
    r = invite(world.program_admin, world.partner_a, email="other@alpha.example.com")
    assert r.status_code == 201, r.body
    assert len(mail.outbox) == 2
    # ...and the partner admin may still see and revoke what staff sent.
    listed = api_as(world.admin_a).get(f"/partners/{world.partner_a.pk}/invitations")
    assert len(listed.body) == 2


def test_only_admins_of_the_organisation_invite(world, api_as, invite):
    assert invite(world.sales_a, world.partner_a).status_code == 403
    assert invite(world.finance, world.partner_a).status_code == 403
    assert invite(world.viewer, world.partner_a).status_code == 403
    assert invite(world.other_manager, world.partner_a).status_code == 404
    assert invite(world.admin_b, world.partner_a).status_code == 404
    assert not Invitation.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("who", ["partner user", "other partner's user", "staff", "inactive"])
def test_existing_user_cannot_be_invited(who, world, api_as, make_user, invite):
    kwargs = {
        "partner user": {"partner": world.partner_a},
        "other partner's user": {"partner": world.partner_b},
        "staff": {"staff_role": "viewer"},
        "inactive": {"is_active": False},
    }[who]
    make_user("taken@example.com", **kwargs)
    for actor in (world.admin_a, world.program_admin):
        r = invite(actor, world.partner_a, email="Taken@Example.com")
        assert r.status_code == 409, r.body
        assert field_errors(r) == {"email"}
    assert not Invitation.objects.exists() and mail.outbox == []


def test_duplicate_pending_invitation_is_409(world, api_as, invite):
    assert invite(world.admin_a, world.partner_a).status_code == 201
    r = invite(world.admin_a, world.partner_a, email="NEWBIE@alpha.example.com")
    assert r.status_code == 409 and field_errors(r) == {"email"}
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_user_created_meanwhile_blocks_acceptance(world, api_as, make_user, invite):
    invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    make_user("newbie@alpha.example.com")
    r = api_as(None).post("/invitations/accept", {"token": token, "password": PASSWORD})
    assert r.status_code == 409, r.body
    assert not PartnerUser.objects.filter(user__email="newbie@alpha.example.com").exists()


def test_bad_invitation_input(world, api_as, invite):
    r = invite(world.admin_a, world.partner_a, role="owner")
    assert r.status_code == 422 and field_errors(r) == {"role"}
    r = invite(world.admin_a, world.partner_a, email="not-an-email")
    assert r.status_code == 422 and field_errors(r) == {"email"}
    assert not Invitation.objects.exists()


# --- the HTML page -----------------------------------------------------------------------------


def test_accept_page_renders_form_and_creates_user(world, api_as, client, invite):
    invite(world.admin_a, world.partner_a, role="technical")
    token = token_from(mail.outbox[-1])
    r = client.get("/invitations/accept/", {"token": token})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Join Alpha Charging" in html
    assert 'name="password"' in html and f'value="{token}"' in html
    assert "newbie@alpha.example.com" in html

    r = client.post(
        "/invitations/accept/", {"token": token, "password": "123", "full_name": "Nina"}
    )
    assert r.status_code == 400
    assert 'aria-invalid="true"' in r.content.decode()
    assert not User.objects.filter(email="newbie@alpha.example.com").exists()

    r = client.post(
        "/invitations/accept/", {"token": token, "password": PASSWORD, "full_name": "Nina N"}
    )
    assert r.status_code == 200, r.content
    assert "Welcome, Nina" in r.content.decode()
    member = PartnerUser.objects.get(user__email="newbie@alpha.example.com")
    assert (member.partner, member.role) == (world.partner_a, "technical")
    # Used links show why they no longer work.
    r = client.get("/invitations/accept/", {"token": token})
    assert r.status_code == 400
    assert "accepted" in r.content.decode()


def test_accept_page_works_with_csrf_enforced(world, invite):
    from django.test import Client

    invite(world.admin_a, world.partner_a)
    token = token_from(mail.outbox[-1])
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/invitations/accept/", {"token": token})
    assert page.status_code == 200
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert form_token and "csrftoken" in browser.cookies
    data = {"token": token, "password": PASSWORD, "full_name": "Nina"}
    assert browser.post("/invitations/accept/", data).status_code == 403  # no CSRF token
    r = browser.post("/invitations/accept/", {**data, "csrfmiddlewaretoken": form_token.group(1)})
    assert r.status_code == 200, r.content
    assert User.objects.filter(email="newbie@alpha.example.com").exists()


@pytest.mark.parametrize("query", [{}, {"token": ""}, {"token": "garbage"}, {"token": "a:b:c"}])
def test_accept_page_with_bad_token_is_400(query, world, client):
    users = User.objects.count()
    r = client.get("/invitations/accept/", query)
    assert r.status_code == 400
    assert "Invitation not usable" in r.content.decode()
    r = client.post("/invitations/accept/", {**query, "password": PASSWORD})
    assert r.status_code == 400
    assert User.objects.count() == users


def test_accept_page_only_get_and_post(client, db):
    assert client.put("/invitations/accept/").status_code == 405
