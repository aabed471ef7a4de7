"""/api/v1/charging/sessions: imports (OCPI JSON and CSV upload), lists and details scoped to
what each caller may see, and the OCPI CDR export."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.charging.models import ChargingSession
from partnerhub.charging.ocpi import cdr_to_json, ocpi_loads, parse_cdr
from partnerhub.charging.tests.test_imports import (  # noqa: F401 - fixture
    BAD,
    CONFORMANCE,
    SAMPLE,
    _example,
    sessions_site,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sessions_site")]

URL = "/charging/sessions"


@pytest.fixture
def imported():
    import io

    from partnerhub.charging.imports import import_sessions_csv

    assert import_sessions_csv(io.StringIO(SAMPLE)).created == 4
    return {s.cdr_id: s for s in ChargingSession.objects.all()}


def _upload(client, text: str, **data):
    response = client.client.post(
        f"/api/v1{URL}/import-csv",
        {"file": SimpleUploadedFile("sessions.csv", text.encode(), "text/csv"), **data},
        **client.headers,
    )
    return response.status_code, response.json()


def test_csv_upload_imports_and_reports(world, api_as):
    admin = api_as(world.program_admin)
    status, body = _upload(admin, SAMPLE)
    assert status == 200, body
    assert body == {
        "rows": 4,
        "created": 4,
        "skipped": 0,
        "flagged": 0,
        "drivers_created": 1,
        "refused": False,
        "error_count": 0,
        "errors": [],
    }
    status, body = _upload(api_as(world.finance), SAMPLE)
    assert (status, body["created"], body["skipped"]) == (200, 0, 4)


def test_csv_upload_all_or_nothing_answers_422_naming_rows(world, api_as):
    status, body = _upload(api_as(world.program_admin), BAD, partial="false")
    assert status == 422
    first = body["detail"][0]
    assert first == {
        "loc": ["body", "file", 3, "evse_uid"],
        "msg": "Row 3, evse_uid: no EVSE with uid or EVSE ID 'NOPE'",
        "type": "invalid_row",
    }
    assert len(body["detail"]) == 15
    assert not ChargingSession.objects.exists()
    # Partial (the default): the good row is stored, the others listed.
    status, body = _upload(api_as(world.program_admin), BAD)
    assert (status, body["created"], body["error_count"]) == (200, 1, 15)
    assert body["errors"][0] == {
        "row": 3,
        "field": "evse_uid",
        "message": "no EVSE with uid or EVSE ID 'NOPE'",
    }


def test_a_bad_csv_header_is_a_422_naming_the_file(world, api_as):
    status, body = _upload(api_as(world.program_admin), "cdr_id\nX\n")
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "file", 1, "file"]
    assert "missing columns: evse_uid" in body["detail"][0]["msg"]


def test_only_program_admins_and_finance_import(world, api_as):
    for user in (world.manager, world.viewer, world.admin_a, world.sales_a):
        status, body = _upload(api_as(user), SAMPLE)
        assert status == 403, body
        r = api_as(user).post(f"{URL}/import", _cdr("FORBIDDEN"))
        assert r.status_code == 403, r.body
    assert not ChargingSession.objects.exists()


def _cdr(cdr_id, **extra):
    return {
        "id": cdr_id,
        "start_date_time": "2025-03-21T12:00:00Z",
        "end_date_time": "2025-03-21T13:00:00Z",
        "cdr_location": {"evse_uid": "EVSE-DC-1"},
        "currency": "EUR",
        "charging_periods": [],
        "total_cost": {"excl_vat": 4.2, "incl_vat": 5.0},
        "total_energy": 10.5,
        "total_time": 1,
        "last_updated": "2025-03-21T13:00:00Z",
        **extra,
    }


def test_ocpi_import_takes_one_cdr_or_a_list(world, api_as):
    client = api_as(world.program_admin)
    r = client.post(f"{URL}/import", _cdr("J-1"))
    assert (r.status_code, r.body["created"]) == (200, 1), r.body
    r = client.post(f"{URL}/import", [_cdr("J-1"), _cdr("J-2")])
    assert (r.status_code, r.body["created"], r.body["skipped"]) == (200, 1, 1)
    s = ChargingSession.objects.get(cdr_id="J-2")
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor, s.energy_wh) == (420, 500, 10_500)


def test_ocpi_import_all_or_nothing_answers_422(world, api_as):
    client = api_as(world.program_admin)
    bad = _cdr("J-BAD", cdr_location={"evse_uid": "NOPE"})
    r = client.post(f"{URL}/import?partial=false", [_cdr("J-1"), bad])
    assert r.status_code == 422
    assert r.body["detail"] == [
        {
            "loc": ["body", 2, "cdr_location.evse_uid"],
            "msg": "Row 2, cdr_location.evse_uid: no EVSE with uid or EVSE ID 'NOPE'",
            "type": "invalid_row",
        }
    ]
    assert not ChargingSession.objects.exists()
    r = client.post(f"{URL}/import", [])
    assert r.status_code == 422


# --- reads and tenancy ---------------------------------------------------------------------------


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return sorted(item["cdr_id"] for item in response.body["items"])


# CP-1 moved from A to B on 16 March: A sees CDR-1001 and CDR-1004 (its days) and CDR-1003
# (its corporate driver charged at B's site); B sees CDR-1002 and CDR-1003 (its site).
SEEN = [
    ("program_admin", ["CDR-1001", "CDR-1002", "CDR-1003", "CDR-1004"]),
    ("finance", ["CDR-1001", "CDR-1002", "CDR-1003", "CDR-1004"]),
    ("viewer", ["CDR-1001", "CDR-1002", "CDR-1003", "CDR-1004"]),
    ("manager", ["CDR-1001", "CDR-1003", "CDR-1004"]),  # manages A
    ("other_manager", ["CDR-1002", "CDR-1003"]),  # manages B
    ("admin_a", ["CDR-1001", "CDR-1003", "CDR-1004"]),
    ("sales_a", ["CDR-1001", "CDR-1003", "CDR-1004"]),
    ("admin_b", ["CDR-1002", "CDR-1003"]),
    ("operator_admin", []),
    ("child_1_admin", []),
]


@pytest.mark.parametrize("actor,expected", SEEN, ids=[a for a, _ in SEEN])
def test_session_lists_and_details_are_scoped(actor, expected, imported, world, api_as):
    client = api_as(getattr(world, actor))
    assert _ids(client.get(URL)) == expected
    for cdr_id, session in imported.items():
        status = 200 if cdr_id in expected else 404
        assert client.get(f"{URL}/{session.pk}").status_code == status, cdr_id
        assert client.get(f"{URL}/{session.pk}/cdr").status_code == status, cdr_id
    # Filters never widen the scope.
    for partner in (world.partner_a, world.partner_b):
        assert set(_ids(client.get(URL, partner_id=partner.pk))) <= set(expected)


def test_list_filters(imported, world, api_as):
    client = api_as(world.program_admin)
    a, b = world.partner_a.pk, world.partner_b.pk
    assert _ids(client.get(URL, partner_id=a)) == ["CDR-1001", "CDR-1004"]
    assert _ids(client.get(URL, partner_id=b)) == ["CDR-1002", "CDR-1003"]
    assert _ids(client.get(URL, corporate_partner_id=a)) == ["CDR-1003"]
    assert _ids(client.get(URL, payment_method="card")) == ["CDR-1001", "CDR-1004"]
    assert _ids(client.get(URL, month="2025-03")) == [
        "CDR-1001",
        "CDR-1002",
        "CDR-1003",
        "CDR-1004",
    ]
    assert _ids(client.get(URL, month="2025-04")) == []
    assert _ids(client.get(URL, flagged=True)) == []
    cp2 = imported["CDR-1001"].charge_point_id
    assert len(_ids(client.get(URL, charge_point_id=cp2))) == 4
    r = client.get(URL, month="2025-13")
    assert r.status_code == 422 and r.body["detail"][0]["loc"] == ["query", "month"]
    r = client.get(URL, limit=2)
    assert r.body["count"] == 4 and len(r.body["items"]) == 2


def test_session_detail_shows_the_figures(imported, world, api_as):
    s = imported["CDR-1003"]
    r = api_as(world.admin_a).get(f"{URL}/{s.pk}")
    assert r.status_code == 200, r.body
    body = r.body
    assert body["cdr_id"] == "CDR-1003" and body["evse_uid"] == "EVSE-AC-1"
    assert (body["partner_id"], body["corporate_partner_id"]) == (
        world.partner_b.pk,
        world.partner_a.pk,
    )
    assert body["energy_kwh"] == "20.000"
    assert (body["energy_cost"], body["connection_fee"]) == ("6.00", "1.00")
    assert (body["total_excl_vat"], body["total_incl_vat"]) == ("7.00", "8.33")
    assert (body["payment_method"], body["driver"], body["tariff"]) == (
        "corporate",
        "DRV-CORP-1",
        "AC-STD",
    )
    assert body["received_as_ocpi"] is False and body["flagged"] is False


def test_a_built_cdr_is_valid_ocpi_with_the_sessions_figures(imported, world, api_as):
    s = imported["CDR-1001"]
    r = api_as(world.program_admin).get(f"{URL}/{s.pk}/cdr")
    assert r.status_code == 200
    cdr = parse_cdr(r.body)
    assert cdr.id == "CDR-1001"
    assert cdr.cdr_location.evse_uid == "EVSE-AC-1" and cdr.cdr_location.country == "BEL"
    assert cdr.start_date_time == dt.datetime(2025, 3, 10, 8, tzinfo=dt.UTC)
    assert cdr.total_energy == Decimal("22.5")
    assert (cdr.total_cost.excl_vat, cdr.total_cost.incl_vat) == (Decimal("9.25"), Decimal("11.01"))
    assert cdr.total_energy_cost.excl_vat == Decimal("6.75")
    assert cdr.total_parking_cost.excl_vat == Decimal("1.50")
    assert cdr.total_fixed_cost.excl_vat == Decimal("1.00")
    assert (cdr.total_time, cdr.total_parking_time) == (Decimal("2.5"), Decimal("0.5"))
    assert [p.dimensions[0].type for p in cdr.charging_periods] == ["ENERGY", "PARKING_TIME"]
    assert cdr.cdr_token is None  # paid by card, no driver account


def test_the_specifications_cdr_example_exports_unchanged_in_meaning(world, api_as):
    original = _example()
    client = api_as(world.program_admin)
    r = client.client.post(
        "/api/v1/charging/sessions/import",
        data=(CONFORMANCE / "cdr_example.json").read_bytes(),
        content_type="application/json",
        **client.headers,
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.json()
    session = ChargingSession.objects.get(cdr_id="12345")
    response = client.client.get(f"/api/v1{URL}/{session.pk}/cdr", **client.headers)
    exported = ocpi_loads(response.content)
    assert cdr_to_json(parse_cdr(exported)) == cdr_to_json(parse_cdr(original))
    # Numbers come back exactly as JSON numbers (4.00 stays a number, not a string).
    assert b'"excl_vat": 4.00' in response.content
