"""Personal API tokens: created once, stored as a hash, used as Bearer, revoked, expiring."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from partnerhub.accounts.models import ApiToken, hash_token_secret
from partnerhub.accounts.services import api_token_authenticate, api_token_create

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def user(make_user):
    return make_user("staff@vendor.test", staff_role="viewer")


@pytest.fixture
def session(user):
    client = Client()
    assert client.login(request=HttpRequest(), email=user.email, password=PASSWORD)
    return client


def test_create_shows_the_secret_once_and_stores_only_its_hash(user, session):
    r = session.post(
        "/api/v1/me/tokens", {"name": " CI pipeline "}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    secret = body["token"]
    prefix, key_id, rest = secret.split("_", 2)
    assert (prefix, key_id) == ("phk", body["key_id"])
    assert len(rest) >= 40
    assert body["name"] == "CI pipeline"
    assert body["expires_at"] is None and body["revoked_at"] is None

    row = ApiToken.objects.get(pk=body["id"])
    assert row.user == user
    assert row.secret_hash == hash_token_secret(rest)
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=row.pk).values().get().values())
    assert rest not in stored and secret not in stored

    # Listing never shows the secret again.
    listed = session.get("/api/v1/me/tokens").json()
    assert [t["id"] for t in listed] == [row.pk]
    assert "token" not in listed[0]
    assert rest not in session.get("/api/v1/me/tokens").content.decode()


def test_token_authenticates_as_bearer_and_records_use(user, client):
    row, secret = api_token_create(user=user, name="cli")
    r = client.get("/api/v1/me", **bearer(secret))
    assert r.status_code == 200 and r.json()["email"] == user.email
    row.refresh_from_db()
    assert row.last_used_at is not None
    # The scheme name is case-insensitive.
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"bearer {secret}").status_code == 200


def test_revoked_token_is_401(user, client):
    row, secret = api_token_create(user=user, name="cli")
    other, other_secret = api_token_create(user=user, name="revoker")
    r = client.delete(f"/api/v1/me/tokens/{row.pk}", **bearer(other_secret))
    assert r.status_code == 200, r.content
    assert r.json()["revoked_at"] is not None
    assert "token" not in r.json()
    r = client.get("/api/v1/me", **bearer(secret))
    assert r.status_code == 401
    assert r.json()["detail"][0]["type"] == "unauthenticated"
    # Revoking again is harmless, and the token may revoke itself.
    assert client.delete(f"/api/v1/me/tokens/{row.pk}", **bearer(other_secret)).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{other.pk}", **bearer(other_secret)).status_code == 200
    assert client.get("/api/v1/me", **bearer(other_secret)).status_code == 401


def test_expired_token_is_401(user, client):
    row, secret = api_token_create(
        user=user, name="short", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401


def test_expiry_given_through_the_api(user, session):
    future = (timezone.now() + dt.timedelta(days=30)).replace(microsecond=0)
    r = session.post(
        "/api/v1/me/tokens",
        {"name": "month", "expires_at": future.isoformat()},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert ApiToken.objects.get(pk=r.json()["id"]).expires_at == future
    # Without a time zone, the time is read as UTC.
    naive = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    r = session.post(
        "/api/v1/me/tokens",
        {"name": "naive", "expires_at": naive.isoformat()},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert ApiToken.objects.get(pk=r.json()["id"]).expires_at == naive.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "expires_at",
    [
        (timezone.now() - dt.timedelta(minutes=1)).isoformat(),
        (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(tzinfo=None).isoformat(),
    ],
    ids=["past", "past-naive"],
)
def test_expiry_in_the_past_is_400(expires_at, user, session):
    r = session.post(
        "/api/v1/me/tokens",
        {"name": "x", "expires_at": expires_at},
        content_type="application/json",
    )
    assert r.status_code == 400, r.content
    assert r.json()["detail"][0]["loc"] == ["body", "expires_at"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "body,field",
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name")],
)
def test_bad_token_input_is_422(body, field, session):
    r = session.post("/api/v1/me/tokens", body, content_type="application/json")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == field


def test_inactive_users_tokens_stop_working(user, client):
    _, secret = api_token_create(user=user, name="cli")
    user.is_active = False
    user.save()
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token {secret}",
        "Bearer{secret}",
        "Bearer phk",
        "Bearer phk__",
        "Bearer phk_{key_id}_",
        "Bearer phk_{key_id}_wrong-secret",
        "Bearer xyz_{key_id}_{rest}",
        "Bearer phk_000000000000_{rest}",
        "Bearer phk_{key_id}_{rest}x",
        "Bearer {secret} {secret}",
        "Bearer phk_{key_id}_{rest}\u00e9",
        "Bearer " + "a" * 5000,
        "Bearer phk_" + "a" * 5000 + "_{rest}",
        "Bearer phk_\x00_{rest}",
        "Bearer phk_{key_id}_\x00",
    ],
)
def test_malformed_or_wrong_authorization_is_401(header, user, client):
    _, secret = api_token_create(user=user, name="cli")
    _, key_id, rest = secret.split("_", 2)
    value = header.format(secret=secret, key_id=key_id, rest=rest)
    r = client.get("/api/v1/me", HTTP_AUTHORIZATION=value)
    assert r.status_code == 401, (value, r.content)
    assert r.json()["detail"][0]["loc"] == ["header", "Authorization"]


def test_authenticate_helper_rejects_garbage(user):
    _, secret = api_token_create(user=user, name="cli")
    assert api_token_authenticate(secret) == user
    assert api_token_authenticate(f"  {secret}  ") == user
    for raw in ("", "_", "phk", "phk_a", "phk_a_b", secret.upper(), secret[:-2]):
        assert api_token_authenticate(raw) is None


def test_another_users_token_cannot_be_revoked_or_listed(user, make_user, client):
    other = make_user("other@vendor.test", staff_role="program_admin")
    theirs, their_secret = api_token_create(user=other, name="theirs")
    _, mine = api_token_create(user=user, name="mine")
    r = client.delete(f"/api/v1/me/tokens/{theirs.pk}", **bearer(mine))
    assert r.status_code == 404, r.content
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert client.get("/api/v1/me", **bearer(their_secret)).status_code == 200
    listed = client.get("/api/v1/me/tokens", **bearer(mine)).json()
    assert theirs.pk not in [t["id"] for t in listed]
    # A program admin cannot revoke someone else's token through /me either.
    _, admin_token = api_token_create(user=other, name="admin")
    mine_row = ApiToken.objects.get(name="mine")
    r = client.delete(f"/api/v1/me/tokens/{mine_row.pk}", **bearer(admin_token))
    assert r.status_code == 404
    assert client.delete("/api/v1/me/tokens/999999", **bearer(mine)).status_code == 404


def test_token_and_session_need_credentials(client, db):
    assert client.get("/api/v1/me/tokens").status_code == 401
    r = client.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json")
    assert r.status_code == 401
    assert not ApiToken.objects.exists()


def test_session_writes_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), email=user.email, password=PASSWORD)
    r = client.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json")
    assert r.status_code in (401, 403), r.content
    assert not ApiToken.objects.exists()
    # With the CSRF token the browser session may create one.
    csrf = "a" * 32  # any well-formed secret, sent as cookie and header
    client.cookies["csrftoken"] = csrf
    r = client.post(
        "/api/v1/me/tokens", {"name": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert r.status_code == 201, r.content
