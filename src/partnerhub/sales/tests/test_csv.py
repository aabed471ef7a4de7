"""CSV reading (headers, BOM, line numbers) and the ``partnerhub sales`` command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from partnerhub.sales.imports import CsvError, billing_rows, product_rows
from partnerhub.sales.models import BillingLine, Product
from partnerhub.sales.services import ROW_ERROR_KEY, ROW_KEY, billing_lines_import
from partnerhub.sales.tests.conftest import HEADER, counts

pytestmark = pytest.mark.django_db


def rows_of(text: str | bytes) -> list[dict]:
    data = text.encode() if isinstance(text, str) else text
    return list(billing_rows(io.BytesIO(data)))


def test_rows_are_dicts_with_line_numbers():
    rows = rows_of(
        "External_ID , partner_id,customer_id,customer_name,sku,quantity,net_amount,currency,"
        "invoice_date\r\n"
        'INV-1, 7 ,C-1,"Acme, Inc.",CP-22,2,10.00,EUR,2025-03-15\r\n'
        "\r\n"
        ",,,,,,,,\r\n"
        'INV-2,7,C-2,"Multi\nline",CP-22,1,5.00,EUR,2025-03-16\r\n'
        "INV-3,7,C-3,Short\r\n"
    )
    assert rows == [
        {
            "external_id": "INV-1",
            "partner_id": " 7 ",
            "customer_id": "C-1",
            "customer_name": "Acme, Inc.",
            "sku": "CP-22",
            "quantity": "2",
            "net_amount": "10.00",
            "currency": "EUR",
            "invoice_date": "2025-03-15",
            ROW_KEY: 2,
        },
        {
            "external_id": "INV-2",
            "partner_id": "7",
            "customer_id": "C-2",
            "customer_name": "Multi\nline",
            "sku": "CP-22",
            "quantity": "1",
            "net_amount": "5.00",
            "currency": "EUR",
            "invoice_date": "2025-03-16",
            ROW_KEY: 5,
        },
        {ROW_KEY: 7, ROW_ERROR_KEY: "the row has 4 values but the header has 9 columns"},
    ]


def test_bom_is_skipped():
    data = "\ufeff" + HEADER + "\nINV-1,1,C-1,Acme,CP-22,1,1.00,EUR,2025-01-01,,,\n"
    rows = rows_of(data.encode("utf-8"))
    assert rows[0]["external_id"] == "INV-1"
    assert rows[0][ROW_KEY] == 2


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "external_id,partner_id,customer_id,sku,quantity,net_amount,currency",
            "line 1: missing columns: customer_name, invoice_date",
        ),
        (
            "external_id,customer_id,customer_name,sku,quantity,net_amount,currency,invoice_date",
            "line 1: missing column: one of partner_id or partner_duns",
        ),
        (
            HEADER + ",amount,notes",
            "line 1: unknown columns: 'amount', 'notes'",
        ),
        (
            HEADER + ",SKU",
            "line 1: columns given twice: sku",
        ),
        (
            HEADER.replace(",", ";"),
            "line 1: unknown columns: '"
            + HEADER.replace(",", ";")
            + "'; missing columns: external_id, customer_id, customer_name, sku, quantity, "
            "net_amount, currency, invoice_date; missing column: one of partner_id or "
            "partner_duns (columns must be separated by commas)",
        ),
        ("", "line 1: the file is empty; expected a header line"),
    ],
)
def test_wrong_header_is_one_clear_error(header, message):
    with pytest.raises(CsvError) as exc:
        rows_of(header + "\n" if header else "")
    assert str(exc.value) == message


def test_not_utf8_is_an_error_naming_the_line():
    data = (HEADER + "\nINV-1,1,C-1,M\xfcller,CP-22,1,1.00,EUR,2025-01-01,,,\n").encode("latin-1")
    with pytest.raises(CsvError) as exc:
        rows_of(data)
    assert str(exc.value) == "line 2: the file is not UTF-8 text"


def test_bad_quoting_is_an_error_naming_the_line():
    data = HEADER + '\nINV-1,1,C-1,"Acme" Inc,CP-22,1,1.00,EUR,2025-01-01,,,\n'
    with pytest.raises(CsvError) as exc:
        rows_of(data)
    assert str(exc.value) == "line 2: not valid CSV: ',' expected after '\"'"


def test_rows_feed_the_import_with_their_line_numbers(sales_world):
    w = sales_world
    a = w.partner_a.pk
    data = (
        HEADER + "\n"
        f"INV-1,{a},C-1,Acme,CP-22,1,1299.00,EUR,2025-03-15,direct,,no\n"
        "\n"
        f"INV-2,{a},C-1,Acme,CP-99,1,1299.00,EUR,2025-03-15,direct,,no\n"
    )
    report = billing_lines_import(rows=rows_of(data))
    assert report.errors == [{"row": 4, "column": "sku", "message": "no product with SKU 'CP-99'"}]
    assert counts() == (0, 0)


def test_product_rows_header():
    with pytest.raises(CsvError) as exc:
        list(product_rows(io.BytesIO(b"sku,name,price\n")))
    assert str(exc.value) == (
        "line 1: unknown columns: 'price'; missing columns: category, list_price, currency"
    )


# --- the command ----------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sales", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def billing_file(tmp_path, sales_world):
    a, b = sales_world.partner_a.pk, sales_world.partner_b.pk

    def write(*lines: str, name: str = "billing.csv"):
        path = tmp_path / name
        path.write_text(HEADER + "\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    write.good = [
        f"INV-1,{a},C-1,Acme,CP-22,2,2598.00,EUR,2025-03-15,direct,,false",
        f"INV-2,{a},C-2,Borough,SVC-1Y,1,240.00,EUR,2025-03-20,distributor,{b},true",
    ]
    return write


def test_command_imports_and_reports(billing_file):
    path = billing_file(*billing_file.good)
    out, err = run("import-billing", str(path), "--no-progress")
    assert out == f"{path}: 2 rows: 2 created, 0 unchanged, 2 new customers\n"
    assert err == ""
    assert counts() == (2, 2)
    out, err = run("import-billing", str(path), "--no-progress")
    assert out == f"{path}: 2 rows: 0 created, 2 unchanged, 0 new customers\n"
    assert counts() == (2, 2)


def test_command_refuses_a_bad_file_with_exit_status_1(billing_file, sales_world):
    a = sales_world.partner_a.pk
    path = billing_file(
        *billing_file.good,
        f"INV-3,{a},C-3,Cyberdyne,CP-22,1,10.005,EUR,2025-03-21,direct,,",
        f"INV-4,{a},C-4,Duff,NOPE,1,10.00,EUR,2025-13-01,direct,,",
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("sales", "import-billing", str(path), "--no-progress", stdout=out, stderr=err)
    assert exc.value.returncode == 1
    assert str(exc.value) == f"{path}: refused, nothing stored: 2 bad row(s) of 4 (3 error(s))"
    assert err.getvalue().splitlines() == [
        f"  {path}: row 4, net_amount: net_amount 10.005 has more decimals than EUR allows "
        "(2 decimals); amounts are not rounded on import",
        f"  {path}: row 5, invoice_date: invoice_date '2025-13-01' is not a date as YYYY-MM-DD",
        f"  {path}: row 5, sku: no product with SKU 'NOPE'",
    ]
    assert out.getvalue() == ""
    assert counts() == (0, 0)


def test_command_partial_stores_good_rows_and_exits_3(billing_file, sales_world):
    a = sales_world.partner_a.pk
    path = billing_file(
        *billing_file.good, f"INV-3,{a},C-3,Cyberdyne,NOPE,1,10.00,EUR,2025-03-21,direct,,"
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "sales",
            "import-billing",
            str(path),
            "--partial",
            "--no-progress",
            stdout=out,
            stderr=err,
            no_color=True,
        )
    assert exc.value.returncode == 3
    assert out.getvalue() == (
        f"{path}: 3 rows: 2 created, 0 unchanged, 2 new customers; 1 bad row(s) not stored\n"
    )
    assert err.getvalue() == f"  {path}: row 4, sku: no product with SKU 'NOPE'\n"
    assert counts() == (2, 2)


def test_command_lists_the_first_50_errors(billing_file, sales_world):
    a = sales_world.partner_a.pk
    lines = [f"INV-{n},{a},C-1,Acme,NOPE,1,1.00,EUR,2025-03-15,direct,," for n in range(60)]
    path = billing_file(*lines)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("sales", "import-billing", str(path), "--no-progress", stdout=out, stderr=err)
    shown = err.getvalue().splitlines()
    assert len(shown) == 51
    assert shown[0] == f"  {path}: row 2, sku: no product with SKU 'NOPE'"
    assert shown[-1] == "  ... and 10 more errors"


def test_command_wrong_header_and_missing_file(tmp_path, sales_world):
    path = tmp_path / "bad.csv"
    path.write_text("external_id;partner_id\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("import-billing", str(path), "--no-progress")
    assert str(exc.value).startswith(f"{path}: refused, nothing stored: line 1: unknown columns")
    with pytest.raises(CommandError) as exc:
        run("import-billing", str(tmp_path / "missing.csv"), "--no-progress")
    assert str(exc.value) == f"{tmp_path / 'missing.csv'}: cannot read: No such file or directory"


def test_command_progress_bar_is_quiet_at_verbosity_0(billing_file):
    path = billing_file(*billing_file.good)
    out, err = io.StringIO(), io.StringIO()
    call_command("sales", "import-billing", str(path), verbosity=0, stdout=out, stderr=err)
    assert BillingLine.objects.count() == 2


def test_command_import_products(tmp_path, catalog):
    path = tmp_path / "products.csv"
    path.write_text(
        "\ufeffsku,name,category,list_price,currency,required_certification\n"
        "CP-22,Wallbox 22 kW,hardware,1299.00,EUR,\n"
        "CP-50,DC charger,hardware,15000,EUR,\n",
        encoding="utf-8",
    )
    out, err = run("import-products", str(path), "--no-progress")
    assert out == f"{path}: 2 rows: 1 created, 0 updated, 1 unchanged\n"
    assert Product.objects.get(sku="CP-50").list_price_minor == 1500000
    path.write_text(
        "sku,name,category,list_price,currency\nCP-51,DC charger,nope,1,EUR\n", encoding="utf-8"
    )
    with pytest.raises(CommandError) as exc:
        run("import-products", str(path), "--no-progress")
    assert str(exc.value) == f"{path}: refused, nothing stored: 1 bad row(s) of 1 (1 error(s))"
    assert not Product.objects.filter(sku="CP-51").exists()
