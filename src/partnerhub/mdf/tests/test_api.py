"""The /api/v1/mdf endpoints end to end, with the figures written out."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.mdf.models import MdfClaim, MdfRequest

REQUEST = {
    "title": "Spring roadshow",
    "activity_type": "event",
    "starts_on": "2025-03-01",
    "ends_on": "2025-03-05",
    "budget": "10000.00",
}


def _claim(client, api, request_id, cost="8000.00", name="invoice.pdf"):
    response = client.post(
        f"/api/v1/mdf/requests/{request_id}/claims",
        {
            "actual_cost": cost,
            "notes": "Stand, flyers",
            "file": [
                SimpleUploadedFile(name, b"%PDF-1.4 invoice", "application/pdf"),
                SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff photo", "image/jpeg"),
            ],
        },
        **api.headers,
    )
    return response


def test_request_approve_claim_reimburse(world, api_as, client):
    finance, manager, alpha = api_as(world.finance), api_as(world.manager), api_as(world.admin_a)
    r = finance.post(
        "/mdf/allocations",
        {
            "partner_id": world.partner_a.pk,
            "quarter_start": "2025-02-01",
            "amount": "20000.00",
            "reason": "Launch budget",
        },
    )
    assert r.status_code == 201, r.body
    assert (r.body["amount"], r.body["currency"], r.body["program"]) == (
        "20000.00",
        "USD",
        "ev-hardware",
    )

    r = alpha.post("/mdf/requests", REQUEST)
    assert r.status_code == 201, r.body
    assert (r.body["requested"], r.body["vendor_share_percent"], r.body["status"]) == (
        "5000.00",
        "50.00",
        "submitted",
    )
    request_id = r.body["id"]

    r = manager.post(f"/mdf/requests/{request_id}/approve", {})
    assert r.status_code == 200, r.body
    assert (r.body["approved"], r.body["status"]) == ("5000.00", "approved")
    assert alpha.get(f"/mdf/partners/{world.partner_a.pk}/balance").body == [
        {
            "program": "ev-hardware",
            "currency": "USD",
            "fund": "20000.00",
            "committed": "5000.00",
            "available": "15000.00",
            "reimbursed": "0.00",
            "payable": "0.00",
        }
    ]

    response = _claim(client, alpha, request_id)
    assert response.status_code == 201, response.json()
    claim = response.json()
    assert (claim["actual_cost"], claim["status"], len(claim["proofs"])) == (
        "8000.00",
        "submitted",
        2,
    )

    r = alpha.get(f"/mdf/claims/{claim['id']}/proofs/{claim['proofs'][0]['id']}")
    assert (r.status_code, r.body) == (200, b"%PDF-1.4 invoice")
    # Another partner's people do not even learn the claim exists.
    beta = api_as(world.admin_b)
    assert (
        beta.get(f"/mdf/claims/{claim['id']}/proofs/{claim['proofs'][0]['id']}").status_code == 404
    )
    assert beta.get(f"/mdf/requests/{request_id}").status_code == 404

    # The partner cannot approve its own claim.
    assert alpha.post(f"/mdf/claims/{claim['id']}/approve", {}).status_code == 403
    r = manager.post(f"/mdf/claims/{claim['id']}/approve", {})
    assert r.status_code == 200, r.body
    # min(5,000.00 approved, 8,000.00 × 50% = 4,000.00) = 4,000.00.
    assert (r.body["status"], r.body["reimbursed"]) == ("approved", "4000.00")
    assert alpha.get(f"/mdf/partners/{world.partner_a.pk}/balance").body[0] == {
        "program": "ev-hardware",
        "currency": "USD",
        "fund": "16000.00",
        "committed": "0.00",
        "available": "16000.00",
        "reimbursed": "4000.00",
        "payable": "4000.00",
    }
    assert alpha.get(f"/mdf/requests/{request_id}").body["status"] == "paid"


def test_approval_beyond_available_is_409_with_figures(world, api_as):
    manager, alpha = api_as(world.manager), api_as(world.admin_a)
    request_id = alpha.post("/mdf/requests", REQUEST).body["id"]
    r = manager.post(f"/mdf/requests/{request_id}/approve", {"amount": "100.00"})
    assert r.status_code == 409
    assert r.body["detail"][0]["loc"] == ["body", "amount"]
    assert (
        "100.00 USD would exceed the available MDF of Alpha Charging: 0.00 USD"
        in (r.body["detail"][0]["msg"])
    )
    assert MdfRequest.objects.get(pk=request_id).status == "submitted"


def test_bad_input_is_4xx_naming_the_field(world, api_as, client):
    alpha, finance = api_as(world.admin_a), api_as(world.finance)
    r = alpha.post("/mdf/requests", {**REQUEST, "budget": "-1"})
    assert r.status_code == 422 and r.body["detail"][0]["loc"][-1] == "budget"
    r = alpha.post("/mdf/requests", {**REQUEST, "ends_on": "2025-02-01"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "ends_on"]
    r = finance.post(
        "/mdf/allocations",
        {
            "partner_id": world.partner_a.pk,
            "quarter_start": "2025-03-01",
            "amount": "1",
            "reason": "x",
        },
    )
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "quarter_start"]
    assert (
        api_as(world.manager)
        .post(
            "/mdf/allocations",
            {
                "partner_id": world.partner_a.pk,
                "quarter_start": "2025-02-01",
                "amount": "1",
                "reason": "x",
            },
        )
        .status_code
        == 403
    )

    request_id = alpha.post("/mdf/requests", REQUEST).body["id"]
    r = api_as(world.manager).post(f"/mdf/requests/{request_id}/reject", {"reason": ""})
    assert r.status_code == 422
    # A claim on a request not approved: 409; a bad cost: 400 naming actual_cost.
    response = _claim(client, alpha, request_id)
    assert response.status_code == 409
    req = MdfRequest.objects.get(pk=request_id)
    req.status, req.approved_minor = "approved", 100
    req.save()
    response = _claim(client, alpha, request_id, cost="lots")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "actual_cost"]
    response = _claim(client, alpha, request_id, name="macro.exe")
    assert response.status_code == 400 and "must be one of" in response.json()["detail"][0]["msg"]
    assert not MdfClaim.objects.exists()


def test_lists_are_scoped(world, api_as):
    api_as(world.admin_a).post("/mdf/requests", REQUEST)
    api_as(world.admin_b).post("/mdf/requests", {**REQUEST, "title": "Beta fair"})
    titles = lambda user: [r["title"] for r in api_as(user).get("/mdf/requests").body["items"]]  # noqa: E731
    assert titles(world.admin_a) == ["Spring roadshow"]
    assert titles(world.admin_b) == ["Beta fair"]
    assert titles(world.manager) == ["Spring roadshow"]
    assert sorted(titles(world.finance)) == ["Beta fair", "Spring roadshow"]


def test_expiry_job(world, api_as):
    from partnerhub.mdf import services

    services.allocation_create(
        partner=world.partner_a,
        program=None,
        quarter_start=dt.date(2025, 2, 1),
        amount="10.00",
        reason="x",
    )
    assert api_as(world.manager).post("/mdf/jobs/expire", {}).status_code == 403
    r = api_as(world.finance).post("/mdf/jobs/expire", {"as_of": "2025-05-01"})
    assert r.status_code == 200
    assert [(x["program"], x["period_end"], x["partners"]) for x in r.body] == [
        ("ev-hardware", "2025-04-30", 1)
    ]
