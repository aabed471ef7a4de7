"""The portal's MDF pages (/portal/mdf/) and the console's (/console/mdf/): worked examples
through the forms, tenancy, and bounded query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.mdf import services
from partnerhub.mdf.models import MdfClaim, MdfRequest
from partnerhub.mdf.tests.conftest import Q1


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


NEW = {
    "title": "Installer day",
    "activity_type": "event",
    "description": "Demo stations for installers",
    "starts_on": "2025-03-01",
    "ends_on": "2025-03-02",
    "budget": "10000.00",
}


def test_partner_requests_and_claims_in_the_portal(world, allocate, as_user):
    allocate("20000.00")
    client = as_user(world.admin_a)
    page = client.get("/portal/mdf/")
    assert page.status_code == 200
    assert "20,000.00 USD" in page.content.decode()

    r = client.post("/portal/mdf/new/", NEW)
    assert r.status_code == 302, r.content.decode()[:2000]
    req = MdfRequest.objects.get()
    assert req.requested_minor == 500_000  # 10,000.00 × 50%
    assert "5,000.00 USD" in client.get(r["Location"]).content.decode()

    services.request_approve(request=req, approved_by=world.manager)
    r = client.post(
        f"/portal/mdf/{req.pk}/claim/",
        {
            "actual_cost": "8000.00",
            "notes": "Flyers and catering",
            "files": [
                SimpleUploadedFile("invoice.pdf", b"%PDF invoice", "application/pdf"),
                SimpleUploadedFile("photo.png", b"\x89PNG photo", "image/png"),
            ],
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    claim = MdfClaim.objects.get()
    assert claim.actual_cost_minor == 800_000 and claim.proofs.count() == 2
    detail = client.get(f"/portal/mdf/{req.pk}/").content.decode()
    assert "invoice.pdf" in detail
    proof = claim.proofs.first()
    r = client.get(f"/portal/mdf/claims/{claim.pk}/proofs/{proof.pk}/")
    assert b"".join(r.streaming_content) == b"%PDF invoice"


def test_portal_shows_errors_at_the_field(world, as_user):
    client = as_user(world.admin_a)
    r = client.post("/portal/mdf/new/", {**NEW, "ends_on": "2025-02-01"})
    assert r.status_code == 400
    assert "The activity ends before it starts" in r.content.decode()
    assert not MdfRequest.objects.exists()


def test_claim_without_proof_is_refused_in_the_portal(world, allocate, mdf_request, as_user):
    allocate("20000.00")
    req = mdf_request()
    services.request_approve(request=req, approved_by=world.manager)
    r = as_user(world.admin_a).post(f"/portal/mdf/{req.pk}/claim/", {"actual_cost": "10"})
    assert r.status_code == 400
    assert not MdfClaim.objects.exists()


def test_other_partners_requests_are_404(world, mdf_request, as_user):
    req = mdf_request()
    client = as_user(world.admin_b)
    assert client.get(f"/portal/mdf/{req.pk}/").status_code == 404
    assert client.post(f"/portal/mdf/{req.pk}/close/").status_code == 404
    assert "Spring roadshow" not in client.get("/portal/mdf/").content.decode()
    manager_b = as_user(world.other_manager)
    assert manager_b.post(f"/console/mdf/requests/{req.pk}/approve/").status_code == 404


def test_console_queue_approve_and_reimburse(world, allocate, mdf_request, as_user):
    allocate("6000.00")
    first, second = mdf_request("8000.00"), mdf_request("10000.00")
    client = as_user(world.manager)
    page = client.get("/console/mdf/").content.decode()
    assert "4,000.00 USD" in page and "5,000.00 USD" in page  # requested
    assert "6,000.00 USD" in page  # the fund

    assert client.post(f"/console/mdf/requests/{first.pk}/approve/").status_code == 302
    # 5,000.00 > 6,000.00 − 4,000.00: refused with the figures, shown as a message.
    r = client.post(f"/console/mdf/requests/{second.pk}/approve/", follow=True)
    assert "would exceed the available MDF of Alpha Charging: 2,000.00 USD" in (r.content.decode())
    second.refresh_from_db()
    assert second.status == "submitted"
    r = client.post(f"/console/mdf/requests/{second.pk}/reject/", {"reason": ""}, follow=True)
    assert f"{second.reference}, reason: This field is required." in r.content.decode()
    client.post(f"/console/mdf/requests/{second.pk}/reject/", {"reason": "Over budget"})
    second.refresh_from_db()
    assert (second.status, second.decision_reason) == ("rejected", "Over budget")

    claim = services.claim_submit(
        request=first,
        actual_cost="3000.00",
        files=[SimpleUploadedFile("proof.pdf", b"%PDF", "application/pdf")],
        on=dt.date(2025, 3, 10),
    )
    page = client.get("/console/mdf/").content.decode()
    assert "1,500.00 USD" in page  # min(4,000.00, 3,000.00 × 50%)
    assert client.post(f"/console/mdf/claims/{claim.pk}/approve/").status_code == 302
    claim.refresh_from_db()
    assert claim.reimbursed_minor == 150_000


def test_console_allocation_form(world, as_user):
    """The partner is chosen with the picker (by name), the program from a list: no ids."""
    client = as_user(world.finance)
    page = client.get("/console/mdf/allocate/", {"partner_q": "Alph"}).content.decode()
    assert "Alpha Charging" in page and "Partner id" not in page and "Program key" not in page
    assert "EV Hardware" in page or "ev-hardware" in page  # the program list
    body = {"partner": world.partner_a.pk, "partner_q": "", "amount": "100", "reason": "Boost"}
    r = client.post("/console/mdf/allocate/", {**body, "quarter_start": "2025-03-01"})
    assert r.status_code == 400
    assert "is not the first day of a fiscal quarter" in r.content.decode()
    r = client.post(
        "/console/mdf/allocate/", {**body, "partner": "", "quarter_start": "2025-02-01"}
    )
    assert r.status_code == 400 and "Choose the partner from the list." in r.content.decode()
    r = client.post("/console/mdf/allocate/", {**body, "quarter_start": Q1.isoformat()})
    assert r.status_code == 302
    assert as_user(world.manager).get("/console/mdf/allocate/").status_code == 403


def test_pages_query_counts_do_not_grow(
    world, allocate, mdf_request, as_user, django_assert_max_num_queries
):
    allocate("100000.00")
    allocate("100000.00", partner=world.operator)

    def add(n):
        for _ in range(n):
            req = mdf_request("100.00")
            services.request_approve(request=req, approved_by=world.manager)
            services.claim_submit(
                request=req,
                actual_cost="100",
                files=[SimpleUploadedFile("p.pdf", b"%PDF", "application/pdf")],
                on=dt.date(2025, 3, 10),
            )
            mdf_request("100.00", partner=world.operator, by=world.operator_admin)

    add(2)
    portal, console = as_user(world.admin_a), None
    with django_assert_max_num_queries(25) as small_portal:
        assert portal.get("/portal/mdf/").status_code == 200
    console = as_user(world.manager)
    with django_assert_max_num_queries(30) as small_console:
        assert console.get("/console/mdf/").status_code == 200
    add(8)
    portal = as_user(world.admin_a)
    with django_assert_max_num_queries(len(small_portal.captured_queries)):
        portal.get("/portal/mdf/")
    console = as_user(world.manager)
    with django_assert_max_num_queries(len(small_console.captured_queries)):
        console.get("/console/mdf/")


def test_admin_lists_are_read_only_and_scoped(world, allocate, mdf_request, as_user):
    allocate("100.00")
    allocate("100.00", partner=world.partner_b)
    mdf_request()
    client = as_user(world.manager)  # sees partner A (and the operator) only
    for model in ("mdfallocation", "mdfrequest", "mdfclaim", "mdfexpiryrun"):
        assert client.get(f"/admin/mdf/{model}/").status_code == 200, model
    page = client.get("/admin/mdf/mdfallocation/").content.decode()
    assert "Alpha Charging" in page and "Beta Energy" not in page
    assert client.get("/admin/mdf/mdfrequest/add/").status_code == 403
