"""The API contract: the committed OpenAPI document matches what is served, and schemathesis
finds no 500 and no response that breaks the schema, as staff and as a partner user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from partnerhub.core.management.commands.export_openapi import openapi_document
from partnerhub.wsgi import application

COMMITTED = Path(__file__).resolve().parents[4] / "docs" / "openapi.json"


def test_served_openapi_matches_committed_document(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    committed = json.loads(COMMITTED.read_text())
    assert served.json() == committed, (
        "The API changed but docs/openapi.json did not: review the change, then run "
        "`make openapi` and commit docs/openapi.json."
    )
    assert openapi_document() == COMMITTED.read_text()


def test_no_two_api_schemas_share_a_name():
    """The OpenAPI components are keyed by class name: a second schema with the same name
    silently replaces the first in the document, which then lies about one of the endpoints."""
    import collections

    import ninja

    from partnerhub.core.api import api  # noqa: F401  (imports every schema module)

    modules = collections.defaultdict(set)
    pending = [ninja.Schema]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith("partnerhub."):
                modules[sub.__name__].add(sub.__module__)
            pending.append(sub)
    assert {name: mods for name, mods in modules.items() if len(mods) > 1} == {}


def test_api_docs_page_is_served_without_network(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"PartnerHub API" in page.content


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def keep_test_connection_open():
    """schemathesis calls the WSGI app directly, so Django would close the test database
    connection after every request (the test Client prevents this the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# What must hold for every generated request: no 500, documented status codes, content types
# and bodies that match the schema. (Business-rule rejections of schema-valid input, such as an
# unknown program key, are correct answers, so "positive data acceptance" is not checked.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def _headers(user) -> dict:
    # A fresh token per example: the fuzzer may revoke the token it was given.
    from partnerhub.accounts.services import api_token_create

    _, token = api_token_create(user=user, name="fuzz")
    return {"Authorization": f"Bearer {token}"}


FUZZ_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_api_fuzz_as_staff(case, world):
    case.call_and_validate(headers=_headers(world.program_admin), checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_api_fuzz_as_partner_user(case, world):
    case.call_and_validate(headers=_headers(world.admin_a), checks=CHECKS)


def test_api_docs_load_no_asset_from_another_host(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn." not in page and "https://" not in page, "docs must not load assets from a CDN"
