"""/api/v1/sales: catalogue, imports (JSON and CSV upload), lines and customers, tenancy."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.sales.models import BillingLine, Product, ProductCategory
from partnerhub.sales.services import billing_lines_import
from partnerhub.sales.tests.conftest import HEADER, counts, make_row

pytestmark = pytest.mark.django_db

S = "/sales"


def line_row(w, external_id, partner, customer="C-100", **kw):
    return make_row(
        w, external_id=external_id, partner_id=str(partner.pk), customer_id=customer, **kw
    )


@pytest.fixture
def lines(sales_world):
    """Lines of A (two), B, the operator and its child 1."""
    w = sales_world
    report = billing_lines_import(
        rows=[
            line_row(w, "A-1", w.partner_a, invoice_date="2025-01-10"),
            line_row(w, "A-2", w.partner_a, customer="C-200", sku="SVC-1Y", net_amount="-40.00"),
            line_row(w, "B-1", w.partner_b, invoice_date="2025-02-01"),
            line_row(w, "O-1", w.operator, invoice_date="2025-04-01"),
            line_row(w, "K-1", w.child_1, invoice_date="2025-05-01"),
        ]
    )
    assert report.created == 5
    return w


def ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [line["external_id"] for line in response.json()["items"]]


# --- billing lines: reading and tenancy -----------------------------------------------------


def test_line_output_shape(lines, api_as):
    w = lines
    body = api_as(w.finance).get(f"{S}/billing-lines", customer_id="C-200").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item.pop("id") > 0
    assert item.pop("imported_at")
    assert item == {
        "external_id": "A-2",
        "partner_id": w.partner_a.pk,
        "customer_id": "C-200",
        "customer_name": "Acme Parking",
        "sku": "SVC-1Y",
        "product_name": "Service plan, 1 year",
        "quantity": "2.000",
        "net_amount": "-40.00",
        "currency": "EUR",
        "invoice_date": "2025-03-15",
        "purchase_path": "direct",
        "distributor_id": None,
        "is_renewal": False,
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", ["A-1", "B-1", "A-2", "O-1", "K-1"]),
        ("finance", ["A-1", "B-1", "A-2", "O-1", "K-1"]),
        ("viewer", ["A-1", "B-1", "A-2", "O-1", "K-1"]),
        ("manager", ["A-1", "A-2", "O-1"]),
        ("other_manager", ["B-1"]),
        ("admin_a", ["A-1", "A-2"]),
        ("sales_a", ["A-1", "A-2"]),
        ("admin_b", ["B-1"]),
        ("operator_admin", ["O-1", "K-1"]),
        ("child_1_admin", ["K-1"]),
    ],
)
def test_lines_are_scoped_to_visible_partners(lines, api_as, who, expected):
    assert ids(api_as(getattr(lines, who)).get(f"{S}/billing-lines")) == expected


def test_partner_user_filtering_for_another_partner_sees_nothing(lines, api_as):
    w = lines
    client = api_as(w.admin_a)
    assert ids(client.get(f"{S}/billing-lines", partner_id=w.partner_b.pk)) == []


def test_line_filters(lines, api_as):
    w = lines
    client = api_as(w.program_admin)
    assert ids(client.get(f"{S}/billing-lines", partner_id=w.partner_a.pk)) == ["A-1", "A-2"]
    assert ids(client.get(f"{S}/billing-lines", sku="SVC-1Y")) == ["A-2"]
    assert ids(client.get(f"{S}/billing-lines", date_from="2025-02-01", date_to="2025-04-01")) == [
        "B-1",
        "A-2",
        "O-1",
    ]
    page = client.get(f"{S}/billing-lines", limit=2, offset=1).json()
    assert (page["count"], [i["external_id"] for i in page["items"]]) == (5, ["B-1", "A-2"])
    assert client.get(f"{S}/billing-lines", partner_id=0).status_code == 422
    assert client.get(f"{S}/billing-lines", date_from="yesterday").status_code == 422


def test_anonymous_gets_401_everywhere(api_as, lines):
    anonymous = api_as(None)
    for path in ("billing-lines", "products", "categories", "customers"):
        response = anonymous.get(f"{S}/{path}")
        assert response.status_code == 401
        assert response.json()["detail"][0]["type"] == "unauthenticated"
    assert anonymous.post(f"{S}/billing-lines/import", {"rows": []}).status_code == 401


# --- customers ------------------------------------------------------------------------------


def test_customers_are_for_vendor_staff(lines, api_as):
    w = lines
    for who in (w.program_admin, w.manager, w.finance, w.viewer):
        body = api_as(who).get(f"{S}/customers").json()
        assert [c["external_id"] for c in body["items"]] == ["C-100", "C-200"]
    body = api_as(w.finance).get(f"{S}/customers", q="200").json()
    assert body["items"][0] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "external_id": "C-200",
        "name": "Acme Parking",
        "country": "",
        "website_domain": "",
        "activated_on": "2025-03-15",
        "created_at": "",
    }
    response = api_as(w.admin_a).get(f"{S}/customers")
    assert response.status_code == 403
    assert response.json()["detail"][0]["msg"] == "Only vendor staff see the customer list."


# --- importing through the API --------------------------------------------------------------


def test_json_import(sales_world, api_as):
    w = sales_world
    rows = [
        {**make_row(w), "partner_id": w.partner_a.pk, "quantity": 2, "is_renewal": False},
        make_row(
            w,
            external_id="INV-1001-2",
            purchase_path="distributor",
            distributor_duns="987654321",
            net_amount="-10.00",
        ),
    ]
    response = api_as(w.finance).post(f"{S}/billing-lines/import", {"rows": rows})
    assert response.status_code == 200, response.body
    assert response.json() == {
        "rows": 2,
        "created": 2,
        "unchanged": 0,
        "customers_created": 1,
        "refused": False,
        "partial": False,
        "bad_rows": 0,
        "error_count": 0,
        "errors": [],
    }
    again = api_as(w.program_admin).post(f"{S}/billing-lines/import", {"rows": rows})
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)


def test_json_import_refused_names_rows_and_stores_nothing(sales_world, api_as):
    w = sales_world
    rows = [make_row(w), make_row(w, external_id="X-2", net_amount="1.999", sku="NOPE")]
    response = api_as(w.finance).post(f"{S}/billing-lines/import", {"rows": rows})
    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "rows", 1, "net_amount"],
                "msg": "Row 2, net_amount: net_amount 1.999 has more decimals than EUR allows "
                "(2 decimals); amounts are not rounded on import",
                "type": "invalid_row",
            },
            {
                "loc": ["body", "rows", 1, "sku"],
                "msg": "Row 2, sku: no product with SKU 'NOPE'",
                "type": "invalid_row",
            },
        ]
    }
    assert counts() == (0, 0)


def test_json_import_partial(sales_world, api_as):
    w = sales_world
    rows = [make_row(w), make_row(w, external_id="X-2", sku="NOPE")]
    response = api_as(w.finance).post(f"{S}/billing-lines/import", {"rows": rows, "partial": True})
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["refused"], body["partial"], body["bad_rows"]) == (
        1,
        False,
        True,
        1,
    )
    assert body["errors"] == [{"row": 2, "column": "sku", "message": "no product with SKU 'NOPE'"}]
    assert counts() == (1, 1)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"rows": []}, ["body", "rows"]),
        ({"rows": [{"external_id": "x", "amount": "1"}]}, ["body", "rows", 0, "amount"]),
        ({"rows": [{"net_amount": 12.5}]}, ["body", "rows", 0, "net_amount", "constrained-int"]),
        ({"rows": [{"external_id": "x" * 101}]}, ["body", "rows", 0, "external_id"]),
        ({"rows": [{"partner_id": 2**60}]}, ["body", "rows", 0, "partner_id", "constrained-int"]),
    ],
)
def test_json_import_schema_errors_are_422(sales_world, api_as, body, loc):
    response = api_as(sales_world.finance).post(f"{S}/billing-lines/import", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def upload(client, user, content: bytes, **form):
    from partnerhub.accounts.services import api_token_create

    _, token = api_token_create(user=user, name="upload")
    data = {"file": SimpleUploadedFile("billing.csv", content, content_type="text/csv"), **form}
    response = client.post(
        "/api/v1/sales/billing-lines/import-csv", data, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    return response.status_code, response.json()


def csv_bytes(w, *extra: str) -> bytes:
    a, b = w.partner_a.pk, w.partner_b.pk
    lines = [
        "\ufeff" + HEADER,
        f"INV-1,{a},C-1,Acme,CP-22,2,2598.00,EUR,2025-03-15,direct,,false",
        f"INV-2,{a},C-2,Borough,SVC-1Y,1,240.00,EUR,2025-03-20,distributor,{b},true",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_csv_upload(sales_world, client):
    w = sales_world
    status, body = upload(client, w.finance, csv_bytes(w))
    assert status == 200, body
    assert (body["rows"], body["created"], body["customers_created"]) == (2, 2, 2)
    line = BillingLine.objects.get(external_id="INV-2")
    assert (line.distributor_id, line.is_renewal, line.net_amount_minor) == (
        w.partner_b.pk,
        True,
        24000,
    )


def test_csv_upload_refused_and_partial(sales_world, client):
    w = sales_world
    bad = f"INV-3,{w.partner_a.pk},C-3,Cyberdyne,NOPE,1,1.00,EUR,2025-03-21,,,"
    status, body = upload(client, w.finance, csv_bytes(w, bad))
    assert status == 400
    assert body["detail"] == [
        {
            "loc": ["body", "file", 4, "sku"],
            "msg": "Row 4, sku: no product with SKU 'NOPE'",
            "type": "invalid_row",
        }
    ]
    assert counts() == (0, 0)
    status, body = upload(client, w.finance, csv_bytes(w, bad), partial="true")
    assert status == 200
    assert (body["created"], body["errors"]) == (
        2,
        [{"row": 4, "column": "sku", "message": "no product with SKU 'NOPE'"}],
    )


@pytest.mark.parametrize(
    ("content", "msg"),
    [
        (b"external_id,sku\n", "line 1: missing columns: customer_id"),
        (b"", "line 1: the file is empty; expected a header line"),
        (b"\xff\xfe\x00e\x00x", "line 1: the file is not UTF-8 text"),
    ],
)
def test_csv_upload_unreadable_file_is_400(sales_world, client, content, msg):
    status, body = upload(client, sales_world.finance, content)
    assert status == 400
    assert body["detail"][0]["loc"] == ["body", "file"]
    assert body["detail"][0]["msg"].startswith(msg)


def test_csv_upload_too_large_is_413(sales_world, client, monkeypatch):
    from partnerhub.sales import api

    monkeypatch.setattr(api, "MAX_CSV_UPLOAD_BYTES", 100)
    status, body = upload(client, sales_world.finance, csv_bytes(sales_world))
    assert status == 413
    assert body["detail"][0]["type"] == "too_large"


@pytest.mark.parametrize("who", ["manager", "viewer", "admin_a", "sales_a", "operator_admin"])
def test_only_program_admins_and_finance_import(sales_world, api_as, client, who):
    w = sales_world
    user = getattr(w, who)
    response = api_as(user).post(f"{S}/billing-lines/import", {"rows": [make_row(w)]})
    assert response.status_code == 403
    assert response.json()["detail"][0]["msg"] == (
        "Only program admins and finance import billing lines."
    )
    status, _ = upload(client, user, csv_bytes(w))
    assert status == 403
    assert counts() == (0, 0)


# --- catalogue ------------------------------------------------------------------------------


def test_products_are_readable_by_every_user(sales_world, api_as):
    w = sales_world
    body = api_as(w.sales_a).get(f"{S}/products").json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first.pop("id") == w.catalog["CP-22"].pk
    assert first.pop("created_at") and first.pop("updated_at")
    assert first == {
        "sku": "CP-22",
        "name": "Wallbox 22 kW",
        "category": "hardware",
        "category_name": "Hardware",
        "list_price": "1299.00",
        "currency": "EUR",
        "required_certification": None,
        "is_active": True,
    }
    client = api_as(w.admin_b)
    assert [p["sku"] for p in client.get(f"{S}/products", category="services").json()["items"]] == [
        "SVC-1Y"
    ]
    assert [p["sku"] for p in client.get(f"{S}/products", q="wallbox").json()["items"]] == ["CP-22"]
    one = client.get(f"{S}/products/{w.catalog['SVC-1Y'].pk}").json()
    assert (one["sku"], one["list_price"]) == ("SVC-1Y", "240.00")
    assert client.get(f"{S}/products/999999").status_code == 404
    cats = client.get(f"{S}/categories").json()
    assert [(c["key"], c["name"]) for c in cats] == [
        ("hardware", "Hardware"),
        ("services", "Services"),
    ]


def test_product_create_and_update(sales_world, api_as):
    from partnerhub.training.models import Certification

    Certification.objects.create(key="ev-install", name="EV installation")
    w = sales_world
    client = api_as(w.finance)
    response = client.post(
        f"{S}/products",
        {
            "sku": "CP-11",
            "name": "Wallbox 11 kW",
            "category": "hardware",
            "list_price": "899.90",
            "currency": "EUR",
            "required_certification": "ev-install",
        },
    )
    assert response.status_code == 201, response.body
    created = response.json()
    assert (created["list_price"], created["required_certification"]) == ("899.90", "ev-install")
    assert Product.objects.get(sku="CP-11").list_price_minor == 89990
    pk = created["id"]
    response = api_as(w.program_admin).patch(
        f"{S}/products/{pk}", {"list_price": 950, "required_certification": None}
    )
    assert response.status_code == 200
    assert (response.json()["list_price"], response.json()["required_certification"]) == (
        "950.00",
        None,
    )
    # bad values: 400 naming the field; duplicate SKU: 409; null for a required field: 400
    response = client.patch(f"{S}/products/{pk}", {"list_price": "9.999"})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "list_price"]
    response = client.patch(f"{S}/products/{pk}", {"sku": "CP-22"})
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "sku"]
    response = client.patch(f"{S}/products/{pk}", {"name": None})
    assert response.status_code == 400
    assert response.json()["detail"] == [
        {"loc": ["body", "name"], "msg": "This field cannot be null.", "type": "invalid"}
    ]
    response = client.post(
        f"{S}/products",
        {"sku": "X", "name": "X", "category": "nope", "list_price": "1", "currency": "EUR"},
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["msg"] == "No product category with key 'nope'."
    assert client.post(f"{S}/products", {"sku": "X"}).status_code == 422


def test_category_create(sales_world, api_as):
    w = sales_world
    response = api_as(w.program_admin).post(f"{S}/categories", {"key": "cloud", "name": "Cloud"})
    assert response.status_code == 201
    assert response.json() | {"id": 0} == {"id": 0, "key": "cloud", "name": "Cloud"}
    response = api_as(w.finance).post(f"{S}/categories", {"key": "cloud", "name": "Again"})
    assert response.status_code == 409
    assert api_as(w.finance).post(f"{S}/categories", {"key": "a b", "name": "x"}).status_code == 422


@pytest.mark.parametrize("who", ["manager", "viewer", "admin_a", "sales_a"])
def test_catalogue_writes_are_for_program_admins_and_finance(sales_world, api_as, who):
    w = sales_world
    client = api_as(getattr(w, who))
    body = {"sku": "N", "name": "N", "category": "hardware", "list_price": "1", "currency": "EUR"}
    expected = "Only program admins and finance change the product catalogue."
    for response in (
        client.post(f"{S}/products", body),
        client.patch(f"{S}/products/{w.catalog['CP-22'].pk}", {"name": "Hacked"}),
        client.post(f"{S}/categories", {"key": "x", "name": "x"}),
    ):
        assert response.status_code == 403
        assert response.json()["detail"][0]["msg"] == expected
    assert Product.objects.get(sku="CP-22").name == "Wallbox 22 kW"
    assert ProductCategory.objects.count() == 2


def test_a_distributor_sees_the_lines_bought_through_it(lines, api_as):
    """B distributes to A: B's users see A's line bought through B (and filter by it), never
    A's direct lines; A sees its own lines, whichever the path."""
    w = lines
    report = billing_lines_import(
        rows=[
            line_row(
                w,
                "A-3",
                w.partner_a,
                invoice_date="2025-06-01",
                purchase_path="distributor",
                distributor_id=str(w.partner_b.pk),
            )
        ]
    )
    assert report.created == 1, report.errors
    b = api_as(w.admin_b)
    assert ids(b.get(f"{S}/billing-lines")) == ["B-1", "A-3"]
    assert ids(b.get(f"{S}/billing-lines", distributor_id=w.partner_b.pk)) == ["A-3"]
    assert ids(b.get(f"{S}/billing-lines", partner_id=w.partner_a.pk)) == ["A-3"]
    assert ids(api_as(w.admin_a).get(f"{S}/billing-lines")) == ["A-1", "A-2", "A-3"]
    # Neither the operator's tree nor B's manager's other partners gain anything.
    assert ids(api_as(w.operator_admin).get(f"{S}/billing-lines")) == ["O-1", "K-1"]
    assert ids(api_as(w.other_manager).get(f"{S}/billing-lines")) == ["B-1", "A-3"]
    assert ids(
        api_as(w.program_admin).get(f"{S}/billing-lines", distributor_id=w.partner_b.pk)
    ) == ["A-3"]
