"""billing_lines_import: validation, idempotence, all-or-nothing vs partial, customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.partners.models import Partner
from partnerhub.sales import services
from partnerhub.sales.models import BillingLine, Customer
from partnerhub.sales.services import billing_lines_import
from partnerhub.sales.tests.conftest import counts, make_row

pytestmark = pytest.mark.django_db


def good_rows(w) -> list[dict]:
    return [
        make_row(w),
        make_row(
            w,
            external_id="INV-1001-2",
            sku="SVC-1Y",
            quantity="2",
            net_amount="480.00",
            is_renewal="true",
        ),
        make_row(
            w,
            external_id="INV-1002-1",
            partner_id=None,
            partner_duns="123-456-789",
            customer_id="C-200",
            customer_name="Borough of Springfield",
            customer_country="GB",
            quantity="1",
            net_amount="1150.50",
            invoice_date="2025-04-02",
            purchase_path="distributor",
            distributor_id=str(w.partner_b.pk),
        ),
    ]


def line_values(external_id: str) -> dict:
    return BillingLine.objects.values(
        "partner_id",
        "customer__external_id",
        "product__sku",
        "quantity",
        "net_amount_minor",
        "currency",
        "invoice_date",
        "purchase_path",
        "distributor_id",
        "is_renewal",
    ).get(external_id=external_id)


def errors(report) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in report.errors]


def test_happy_path_stores_every_line_and_creates_customers(sales_world):
    w = sales_world
    report = billing_lines_import(rows=good_rows(w))
    assert report.as_dict() == {
        "rows": 3,
        "created": 3,
        "unchanged": 0,
        "updated": 0,
        "customers_created": 2,
        "refused": False,
        "partial": False,
        "bad_rows": 0,
        "error_count": 0,
        "errors": [],
    }
    assert line_values("INV-1001-1") == {
        "partner_id": w.partner_a.pk,
        "customer__external_id": "C-100",
        "product__sku": "CP-22",
        "quantity": Decimal("2.000"),
        "net_amount_minor": 259800,
        "currency": "EUR",
        "invoice_date": dt.date(2025, 3, 15),
        "purchase_path": "direct",
        "distributor_id": None,
        "is_renewal": False,
    }
    assert line_values("INV-1001-2")["is_renewal"] is True
    assert line_values("INV-1001-2")["net_amount_minor"] == 48000
    third = line_values("INV-1002-1")
    assert (third["partner_id"], third["purchase_path"], third["distributor_id"]) == (
        w.partner_a.pk,
        "distributor",
        w.partner_b.pk,
    )
    assert third["net_amount_minor"] == 115050
    assert list(Customer.objects.values_list("external_id", "name", "country", "activated_on")) == [
        ("C-100", "Acme Parking", "", dt.date(2025, 3, 15)),
        ("C-200", "Borough of Springfield", "GB", dt.date(2025, 4, 2)),
    ]


def test_reimport_is_idempotent(sales_world):
    w = sales_world
    billing_lines_import(rows=good_rows(w))
    again = billing_lines_import(rows=good_rows(w))
    assert (again.rows, again.created, again.unchanged, again.customers_created) == (3, 0, 3, 0)
    assert again.errors == [] and not again.refused
    assert counts() == (3, 2)
    # identical values written differently are the same line (DUNS vs id, 2 vs 2.000)
    same = make_row(w, partner_id=None, partner_duns="123456789", quantity="2.000")
    report = billing_lines_import(rows=[same])
    assert (report.created, report.unchanged, report.errors) == (0, 1, [])


def test_changed_duplicate_is_refused(sales_world):
    w = sales_world
    billing_lines_import(rows=good_rows(w))
    changed = make_row(w, net_amount="2500.00", invoice_date="2025-03-16")
    report = billing_lines_import(rows=[make_row(w, external_id="NEW-1"), changed])
    assert report.refused
    assert errors(report) == [
        (
            3,
            "external_id",
            "line 'INV-1001-1' was already imported with different values (net_amount, "
            "invoice_date); billing lines are never changed: send a credit note line instead",
        )
    ]
    assert counts() == (3, 2)
    assert not BillingLine.objects.filter(external_id="NEW-1").exists()
    assert line_values("INV-1001-1")["net_amount_minor"] == 259800


def test_duplicates_within_one_file(sales_world):
    w = sales_world
    report = billing_lines_import(rows=[make_row(w), make_row(w)])
    assert (report.created, report.unchanged, report.errors) == (1, 1, [])
    report = billing_lines_import(
        rows=[make_row(w, external_id="X-1"), make_row(w, external_id="X-1", quantity="3")]
    )
    assert errors(report) == [
        (3, "external_id", "line 'X-1' appears in row 2 with different values (quantity)")
    ]
    assert counts() == (1, 1)


def test_duplicates_across_chunks_of_one_file(sales_world, monkeypatch):
    w = sales_world
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    rows = [
        make_row(w, external_id="X-1"),
        make_row(w, external_id="X-2"),
        make_row(w, external_id="X-1"),
        make_row(w, external_id="X-2", net_amount="1.00"),
    ]
    report = billing_lines_import(rows=rows, partial=True)
    assert (report.created, report.unchanged) == (2, 1)
    assert errors(report) == [
        (
            5,
            "external_id",
            "line 'X-2' was earlier in this file with different values (net_amount); billing "
            "lines are never changed: send a credit note line instead",
        )
    ]


LONG = "x" * 101


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"external_id": ""}, "external_id", "is required"),
        ({"external_id": LONG}, "external_id", "is longer than 100 characters"),
        ({"partner_id": None}, "partner_id", "is required (or partner_duns)"),
        ({"partner_id": "abc"}, "partner_id", "'abc' is not a partner id"),
        ({"partner_id": "0"}, "partner_id", "'0' is not a partner id"),
        ({"partner_id": "\u00b2"}, "partner_id", "'\u00b2' is not a partner id"),
        ({"partner_id": "999999"}, "partner_id", "no partner with id 999999"),
        (
            {"partner_duns": "123456789"},
            "partner_id",
            "give partner_id or partner_duns, not both",
        ),
        (
            {"partner_id": None, "partner_duns": "12345"},
            "partner_duns",
            "'12345' is not a 9-digit DUNS number",
        ),
        (
            {"partner_id": None, "partner_duns": "111111111"},
            "partner_duns",
            "no partner with DUNS 111111111",
        ),
        ({"customer_id": " "}, "customer_id", "is required"),
        ({"customer_name": None}, "customer_name", "is required"),
        ({"customer_name": "Acme\x00"}, "customer_name", "must not contain NUL characters"),
        (
            {"customer_country": "de"},
            "customer_country",
            "'de' is not a country code (2 capital letters, e.g. DE)",
        ),
        (
            {"customer_activated_on": "2025-02-30"},
            "customer_activated_on",
            "customer_activated_on '2025-02-30' is not a date as YYYY-MM-DD",
        ),
        ({"sku": "NOPE"}, "sku", "no product with SKU 'NOPE'"),
        ({"sku": None}, "sku", "is required"),
        (
            {"quantity": "two"},
            "quantity",
            "quantity 'two' is not a decimal number (digits with an optional '.' and decimals, "
            "no thousands separators)",
        ),
        ({"quantity": "1.2345"}, "quantity", "quantity 1.2345 has more than 3 decimals"),
        ({"quantity": "100000000000"}, "quantity", "quantity 100000000000 is out of range"),
        (
            {"net_amount": "2,598.00"},
            "net_amount",
            "net_amount '2,598.00' is not a decimal number (digits with an optional '.' and "
            "decimals, no thousands separators)",
        ),
        (
            {"net_amount": "1e3"},
            "net_amount",
            "net_amount '1e3' is not a decimal number (digits with an optional '.' and "
            "decimals, no thousands separators)",
        ),
        (
            {"net_amount": "2598.005"},
            "net_amount",
            "net_amount 2598.005 has more decimals than EUR allows (2 decimals); amounts are "
            "not rounded on import",
        ),
        (
            {"net_amount": "10000000000000.01"},
            "net_amount",
            "net_amount 10000000000000.01 is out of range",
        ),
        ({"net_amount": ""}, "net_amount", "is required"),
        (
            {"currency": "eur"},
            "currency",
            "'eur' is not a currency code (3 capital letters, e.g. EUR)",
        ),
        (
            {"invoice_date": "15.03.2025"},
            "invoice_date",
            "invoice_date '15.03.2025' is not a date as YYYY-MM-DD",
        ),
        (
            {"purchase_path": "reseller"},
            "purchase_path",
            "'reseller' is not direct or distributor",
        ),
        (
            {"purchase_path": "distributor"},
            "distributor_id",
            "is required (or distributor_duns) for purchase_path distributor",
        ),
        (
            {"distributor_duns": "987654321"},
            "distributor_duns",
            "a distributor is only given for purchase_path distributor",
        ),
        ({"is_renewal": "maybe"}, "is_renewal", "is_renewal 'maybe' is not true or false"),
        ({"quantity": 2.5}, "quantity", "must be text, not float"),
    ],
)
def test_bad_row_is_reported_and_nothing_is_stored(sales_world, overrides, column, message):
    w = sales_world
    rows = [make_row(w, external_id="GOOD-1"), make_row(w, **overrides)]
    report = billing_lines_import(rows=rows)
    assert report.refused
    assert errors(report) == [(3, column, message)]
    assert (report.rows, report.created, report.bad_rows) == (2, 0, 1)
    assert counts() == (0, 0)


def test_every_bad_row_and_column_is_reported(sales_world):
    w = sales_world
    rows = [
        make_row(w, external_id="A", quantity="x", sku="NOPE"),
        make_row(w, external_id="B"),
        {"external_id": "C"},
        {services.ROW_ERROR_KEY: "the row has 3 values but the header has 12 columns"},
    ]
    report = billing_lines_import(rows=rows)
    assert errors(report) == [
        (
            2,
            "quantity",
            "quantity 'x' is not a decimal number (digits with an optional '.' and decimals, "
            "no thousands separators)",
        ),
        (2, "sku", "no product with SKU 'NOPE'"),
        (4, "partner_id", "is required (or partner_duns)"),
        (4, "customer_id", "is required"),
        (4, "customer_name", "is required"),
        (4, "sku", "is required"),
        (4, "quantity", "is required"),
        (4, "currency", "is required"),
        (4, "net_amount", "is required"),
        (4, "invoice_date", "is required"),
        (5, "", "the row has 3 values but the header has 12 columns"),
    ]
    assert report.bad_rows == 3
    assert counts() == (0, 0)


def test_partial_mode_stores_good_rows_only(sales_world):
    w = sales_world
    rows = [
        make_row(w, external_id="A"),
        make_row(w, external_id="B", net_amount="1.234"),
        make_row(w, external_id="C", customer_id="C-300", customer_name="Cyberdyne"),
        make_row(w, external_id="D", sku="NOPE", customer_id="C-400", customer_name="Nope Inc"),
    ]
    report = billing_lines_import(rows=rows, partial=True)
    assert not report.refused and report.partial
    assert (report.rows, report.created, report.unchanged, report.customers_created) == (
        4,
        2,
        0,
        2,
    )
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (3, "net_amount"),
        (5, "sku"),
    ]
    assert sorted(BillingLine.objects.values_list("external_id", flat=True)) == ["A", "C"]
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["C-100", "C-300"]


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [
        ("EUR", "12.34", 1234),
        ("EUR", "12.5", 1250),
        ("EUR", "12.500", 1250),  # trailing zeros are exact: fine
        ("EUR", "+7", 700),
        ("JPY", "1500", 1500),
        ("KWD", "1.234", 1234),
        ("EUR", "-120.00", -12000),  # credit note
        ("EUR", "0", 0),
    ],
)
def test_amounts_become_exact_minor_units(sales_world, currency, amount, minor):
    w = sales_world
    report = billing_lines_import(rows=[make_row(w, net_amount=amount, currency=currency)])
    assert report.errors == []
    assert BillingLine.objects.get().net_amount_minor == minor


@pytest.mark.parametrize(
    ("currency", "amount", "allowed"),
    [("JPY", "1500.5", "no decimals"), ("KWD", "1.2345", "3 decimals"), ("EUR", "0.001", "2")],
)
def test_more_decimals_than_the_currency_has_is_refused(sales_world, currency, amount, allowed):
    w = sales_world
    report = billing_lines_import(rows=[make_row(w, net_amount=amount, currency=currency)])
    allowed = "2 decimals" if allowed == "2" else allowed
    assert errors(report) == [
        (
            2,
            "net_amount",
            f"net_amount {amount} has more decimals than {currency} allows ({allowed}); "
            "amounts are not rounded on import",
        )
    ]
    assert counts() == (0, 0)


def test_credit_note_lines_are_accepted(sales_world):
    w = sales_world
    billing_lines_import(rows=[make_row(w)])
    credit = make_row(w, external_id="CN-1001-1", quantity="-1", net_amount="-1299.00")
    report = billing_lines_import(rows=[credit])
    assert (report.created, report.errors) == (1, [])
    line = BillingLine.objects.get(external_id="CN-1001-1")
    assert (line.quantity, line.net_amount_minor) == (Decimal("-1.000"), -129900)
    assert sum(BillingLine.objects.values_list("net_amount_minor", flat=True)) == 129900


def test_distributor_rules(sales_world):
    w = sales_world
    distributed = {"purchase_path": "distributor"}
    rows = [
        make_row(w, external_id="D-1", distributor_id=str(w.partner_b.pk), **distributed),
        make_row(w, external_id="D-2", distributor_duns="987654321", **distributed),
        make_row(w, external_id="D-3", distributor_id=str(w.suspended.pk), **distributed),
        make_row(w, external_id="D-4", distributor_id=str(w.partner_a.pk), **distributed),
        make_row(w, external_id="D-5", distributor_id="424242", **distributed),
        make_row(
            w,
            external_id="D-6",
            distributor_id=str(w.partner_b.pk),
            distributor_duns="987654321",
            **distributed,
        ),
    ]
    report = billing_lines_import(rows=rows, partial=True)
    assert errors(report) == [
        (
            4,
            "distributor_id",
            f"the distributor (partner {w.suspended.pk}) is suspended; a distributor must be "
            "an active partner",
        ),
        (5, "distributor_id", "the distributor cannot be the selling partner itself"),
        (6, "distributor_id", "no partner with id 424242"),
        (7, "distributor_id", "give distributor_id or distributor_duns, not both"),
    ]
    assert dict(BillingLine.objects.values_list("external_id", "distributor_id")) == {
        "D-1": w.partner_b.pk,
        "D-2": w.partner_b.pk,
    }


def test_a_duns_shared_by_two_partners_is_ambiguous(sales_world):
    w = sales_world
    Partner.objects.create(legal_name="Twin", display_name="Twin", country="DE", duns="123456789")
    report = billing_lines_import(rows=[make_row(w, partner_id=None, partner_duns="123456789")])
    assert errors(report) == [
        (2, "partner_duns", "DUNS 123456789 belongs to several partners; use partner_id")
    ]


def test_partner_status_does_not_matter_for_the_seller(sales_world):
    w = sales_world
    report = billing_lines_import(rows=[make_row(w, partner_id=str(w.suspended.pk))])
    assert (report.created, report.errors) == (1, [])


def activated_on(external_id: str = "C-100") -> dt.date:
    return Customer.objects.get(external_id=external_id).activated_on


def test_customer_activation_is_the_earliest_invoice_unless_given(sales_world):
    w = sales_world
    billing_lines_import(
        rows=[
            make_row(w, external_id="L-1", invoice_date="2025-03-15"),
            make_row(w, external_id="L-2", invoice_date="2025-03-01"),
            make_row(w, external_id="L-3", invoice_date="2025-03-20"),
        ]
    )
    assert activated_on() == dt.date(2025, 3, 1)
    # a later file with an earlier line lowers it; later lines never raise it
    billing_lines_import(rows=[make_row(w, external_id="L-4", invoice_date="2025-05-01")])
    assert activated_on() == dt.date(2025, 3, 1)
    billing_lines_import(rows=[make_row(w, external_id="L-5", invoice_date="2025-01-10")])
    assert activated_on() == dt.date(2025, 1, 10)
    # a given activation date wins (the ERP knows), up or down
    billing_lines_import(rows=[make_row(w, external_id="L-6", customer_activated_on="2024-11-30")])
    assert activated_on() == dt.date(2024, 11, 30)
    billing_lines_import(rows=[make_row(w, external_id="L-7", customer_activated_on="2025-02-01")])
    assert activated_on() == dt.date(2025, 2, 1)
    # unchanged re-imports apply the same rules again (idempotent)
    billing_lines_import(rows=[make_row(w, external_id="L-7", customer_activated_on="2025-02-01")])
    assert activated_on() == dt.date(2025, 2, 1)
    # the name of a known customer is not changed by an import
    billing_lines_import(rows=[make_row(w, external_id="L-8", customer_name="Renamed")])
    assert Customer.objects.get(external_id="C-100").name == "Acme Parking"


def test_new_customer_with_given_activation(sales_world):
    w = sales_world
    billing_lines_import(
        rows=[make_row(w, customer_activated_on="2025-06-01", invoice_date="2025-03-15")]
    )
    assert activated_on() == dt.date(2025, 6, 1)


def test_customers_over_several_chunks(sales_world, monkeypatch):
    w = sales_world
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    rows = [
        make_row(w, external_id=f"L-{n}", invoice_date=f"2025-03-{day:02d}")
        for n, day in enumerate([20, 18, 25, 3, 9])
    ]
    report = billing_lines_import(rows=rows)
    assert (report.created, report.customers_created) == (5, 1)
    assert activated_on() == dt.date(2025, 3, 3)


def test_refused_file_creates_no_customers_and_moves_no_dates(sales_world):
    w = sales_world
    billing_lines_import(rows=[make_row(w)])
    rows = [
        make_row(w, external_id="L-2", invoice_date="2024-01-01"),
        make_row(w, external_id="L-3", customer_id="C-NEW", customer_name="New"),
        make_row(w, external_id="L-4", sku="NOPE"),
    ]
    report = billing_lines_import(rows=rows)
    assert report.refused
    assert (report.created, report.customers_created, report.unchanged) == (0, 0, 0)
    assert counts() == (1, 1)
    assert activated_on() == dt.date(2025, 3, 15)


def test_json_style_values(sales_world):
    """The API passes ids and whole quantities as ints and is_renewal as a bool."""
    w = sales_world
    row = make_row(w, partner_id=w.partner_a.pk, quantity=3, is_renewal=True)
    report = billing_lines_import(rows=[row], first_row=1)
    assert (report.created, report.errors) == (1, [])
    line = BillingLine.objects.get()
    assert (line.quantity, line.is_renewal) == (Decimal("3.000"), True)
    report = billing_lines_import(rows=[make_row(w, external_id="X", sku="NOPE")], first_row=1)
    assert errors(report) == [(1, "sku", "no product with SKU 'NOPE'")]


def test_import_of_200_rows_uses_a_bounded_number_of_queries(
    sales_world, django_assert_max_num_queries
):
    """One query per kind of reference, not per row: 200 rows with 200 customers, 3 partners
    and 2 products take 7 reads and a few batched INSERTs (SQLite fits 83 lines and 142
    customers into one; PostgreSQL 1000)."""
    w = sales_world
    rows = [
        make_row(
            w,
            external_id=f"Q-{n}",
            partner_id=str(w.partner_a.pk) if n % 2 else None,
            partner_duns=None if n % 2 else "987654321",
            customer_id=f"C-{n}",
            customer_name=f"Customer {n}",
            sku="CP-22" if n % 3 else "SVC-1Y",
            invoice_date=f"2025-03-{1 + n % 28:02d}",
            purchase_path="distributor" if n % 2 else "direct",
            distributor_id=str(w.operator.pk) if n % 2 else None,
        )
        for n in range(200)
    ]
    with django_assert_max_num_queries(15):
        report = billing_lines_import(rows=rows)
    assert (report.created, report.customers_created, report.errors) == (200, 200, [])
    # the re-import reads and compares, writes nothing and moves no activation date
    with django_assert_max_num_queries(8):
        again = billing_lines_import(rows=rows)
    assert (again.created, again.unchanged) == (0, 200)


def test_credit_note_names_the_line_it_credits(sales_world, monkeypatch):
    w = sales_world
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    rows = [
        make_row(w, external_id="INV-1"),
        make_row(w, external_id="CN-1", net_amount="-10.00", credits="INV-1"),  # same chunk
        make_row(w, external_id="CN-2", net_amount="-5.00", credits="INV-1"),  # next chunk
    ]
    report = billing_lines_import(rows=rows)
    assert report.created == 3, report.errors
    invoice = BillingLine.objects.get(external_id="INV-1")
    assert set(invoice.credit_notes.values_list("external_id", flat=True)) == {"CN-1", "CN-2"}
    again = billing_lines_import(rows=rows)
    assert (again.created, again.unchanged, again.errors) == (0, 3, [])


def test_credit_note_refusals_name_the_column(sales_world):
    w = sales_world
    report = billing_lines_import(
        rows=[
            make_row(w, external_id="CN-1", net_amount="-10.00", credits="NOPE"),
            make_row(w, external_id="INV-2", credits="INV-1"),
        ]
    )
    assert report.refused
    assert errors(report) == [
        (2, "credits", "no billing line 'NOPE' to credit; import the invoice line first"),
        (3, "credits", "only a credit note (a negative net_amount) credits another line"),
    ]
