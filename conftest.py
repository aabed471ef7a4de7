"""Shared fixtures: a loaded program, vendor staff of each role, partners A and B, and a
sub-operator with two children, each with users; ``api_as(user)`` calls the API as them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests explore new random examples when run by hand; `make test` (CI) sets
# HYPOTHESIS_PROFILE=ci and replays the same derandomized examples, so a landing never
# depends on the luck of a draw. Hunt for new cases with `.venv/bin/pytest` directly.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples" / "programs"


@dataclass
class ApiResponse:
    status_code: int
    body: object

    def json(self):
        return self.body


class ApiClient:
    """Calls /api/v1 as one user through a personal API token (or anonymously)."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, data=None, **params) -> ApiResponse:
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        kwargs = dict(self.headers)
        if method == "get":
            response = self.client.get(url, data=params or None, **kwargs)
        else:
            response = getattr(self.client, method)(
                url,
                data=json.dumps(data) if data is not None else None,
                content_type="application/json",
                **kwargs,
            )
        if response.streaming:  # file downloads
            body = b"".join(response.streaming_content)
        else:
            body = (
                response.json()
                if response.content and response["Content-Type"].startswith("application/json")
                else response.content
            )
        return ApiResponse(response.status_code, body)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, data=None):
        return self._call("post", path, data if data is not None else {})

    def patch(self, path, data=None):
        return self._call("patch", path, data or {})

    def delete(self, path):
        return self._call("delete", path)


@pytest.fixture
def api_as(client):
    from partnerhub.accounts.services import api_token_create

    def make(user=None) -> ApiClient:
        if user is None:
            return ApiClient(client, None)
        _, token = api_token_create(user=user, name="test")
        return ApiClient(client, token)

    return make


@pytest.fixture
def ev_program(db):
    from partnerhub.programs.services import program_load

    return program_load(source=(EXAMPLES / "ev-hardware.yaml").read_text()).version.program


@pytest.fixture
def make_user(db):
    from partnerhub.accounts.models import User

    def make(email: str, *, staff_role: str = "", partner=None, role: str = "admin", **extra):
        user = User.objects.create_user(
            email,
            "correct horse battery",
            staff_role=staff_role,
            is_staff=bool(staff_role),
            **extra,
        )
        if partner is not None:
            from partnerhub.partners.models import PartnerUser

            PartnerUser.objects.create(user=user, partner=partner, role=role)
        return user

    return make


@dataclass
class World:
    program_admin: object
    manager: object
    other_manager: object
    finance: object
    viewer: object
    partner_a: object
    partner_b: object
    operator: object
    child_1: object
    child_2: object
    admin_a: object
    sales_a: object
    admin_b: object
    operator_admin: object
    child_1_admin: object


@pytest.fixture
def world(db, ev_program, make_user):
    """A small believable tenancy: A and B unrelated, an operator managing child_1 and child_2."""
    from partnerhub.partners.models import Contact, Partner, TrackMembership

    program_admin = make_user("admin@vendor.test", staff_role="program_admin")
    manager = make_user("pm@vendor.test", staff_role="partner_manager")
    other_manager = make_user("pm2@vendor.test", staff_role="partner_manager")
    finance = make_user("finance@vendor.test", staff_role="finance")
    viewer = make_user("viewer@vendor.test", staff_role="viewer")

    def partner(name, country="DE", **kw):
        p = Partner.objects.create(
            legal_name=f"{name} GmbH", display_name=name, country=country, **kw
        )
        TrackMembership.objects.create(
            partner=p, program=ev_program, track_key="var", joined_on="2025-03-01"
        )
        Contact.objects.create(
            partner=p,
            role="billing",
            name=f"{name} Billing",
            email=f"billing@{name.lower().replace(' ', '')}.test",
        )
        return p

    partner_a = partner("Alpha Charging", partner_manager=manager)
    partner_b = partner("Beta Energy", country="FR", partner_manager=other_manager)
    operator = partner("Omega Operator", partner_manager=manager)
    child_1 = partner("Child One", parent=operator)
    child_2 = partner("Child Two", parent=operator)
    return World(
        program_admin=program_admin,
        manager=manager,
        other_manager=other_manager,
        finance=finance,
        viewer=viewer,
        partner_a=partner_a,
        partner_b=partner_b,
        operator=operator,
        child_1=child_1,
        child_2=child_2,
        admin_a=make_user("admin@alpha.test", partner=partner_a, role="admin"),
        sales_a=make_user("sales@alpha.test", partner=partner_a, role="sales"),
        admin_b=make_user("admin@beta.test", partner=partner_b, role="admin"),
        operator_admin=make_user("admin@omega.test", partner=operator, role="admin"),
        child_1_admin=make_user("admin@child1.test", partner=child_1, role="admin"),
    )


def pytest_report_header(config):
    import os

    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}"
