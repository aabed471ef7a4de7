"""The statement PDF shows every column of its lines, and the net, inside the page: checked
on WeasyPrint's layout of the PDF (the positions of its text boxes), with large amounts,
long names and many lines. Receipts share the stylesheet and stay one portrait page."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from partnerhub.settlements import exports, selectors
from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.tests.conftest import utc

LONG_NAME = (
    "Nordlicht Ladetechnik und Energiedienstleistungen Norddeutschland GmbH & Co. KG, "
    "Niederlassung Hamburg-Harburg"
)


def render(html: str):
    """The document exactly as ``exports.html_to_pdf`` lays it out."""
    from weasyprint import HTML

    return HTML(
        string=html, base_url=exports.ASSETS.as_uri() + "/", url_fetcher=exports._fetcher()
    ).render()


def descendants(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from descendants(child)


def texts(box) -> list:
    from weasyprint.formatting_structure import boxes

    return [b for b in descendants(box) if isinstance(b, boxes.TextBox) and b.text.strip()]


def text_of(box) -> str:
    return " ".join(t.text.strip() for t in texts(box))


def assert_inside(document) -> None:
    """Every piece of text lies inside its page's content area and inside its table cell."""
    from weasyprint.formatting_structure import boxes

    eps = 0.01
    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        left = page_box.content_box_x()
        right = left + page_box.width
        body = [b for b in page_box.children if not isinstance(b, boxes.MarginBox)]
        for root in body:
            for t in texts(root):
                assert left - eps <= t.position_x, (number, t.text)
                assert t.position_x + t.width <= right + eps, (
                    f"page {number}: {t.text!r} ends {t.position_x + t.width - right:.1f}px "
                    "beyond the right margin"
                )
            for cell in descendants(root):
                if isinstance(cell, boxes.TableCellBox):
                    x0 = cell.border_box_x()
                    x1 = x0 + cell.border_width()
                    for t in texts(cell):
                        assert x0 - eps <= t.position_x and t.position_x + t.width <= x1 + eps, (
                            f"page {number}: {t.text!r} overflows its cell"
                        )


def lines_tables(document) -> list:
    """Per page, the statement's lines table (or its part on that page)."""
    from weasyprint.formatting_structure import boxes

    found = []
    for page in document.pages:
        for b in descendants(page._page_box):
            if isinstance(b, boxes.TableBox) and "statement-lines" in b.element.get("class", ""):
                found.append(b)
    return found


def rows(table) -> list[list[str]]:
    """The text of each cell of each row of ``table``, header rows included."""
    return [
        [text_of(cell) for cell in row.children]
        for group in table.children
        for row in group.children
    ]


@pytest.fixture
def big_statement(settlement_world):
    """Partner A's October: a 1,234,567.89 AC session shared at 100 %, DC sessions with
    every fee, electricity deducted and reimbursed, and a large corporate billing charge of
    its drivers at B's site; long partner and contract names."""
    from partnerhub.charging.models import CorporateBilling, Driver
    from partnerhub.settlements.models import Statement

    w = settlement_world
    a = w.world.partner_a
    a.legal_name = LONG_NAME
    a.save()
    w.contract(
        name="Site hosting agreement for the Hauptbahnhof Süd multi-storey car park, 2026",
        ac_share_percent="100",
        session_fee_ac="0.30",
        session_fee_dc="0.50",
        kwh_fee_dc="0.012345",
        handling_fee_percent="2.5",
        platform_fee_charge_point="10.00",
        platform_fee_dc_evse="6.20",
        deduct_electricity=True,
        reimburse_electricity=True,
        vat_percent="19",
    )
    w.contract(w.world.partner_b)
    CorporateBilling.objects.create(
        partner=a, currency="EUR", monthly_limit_minor=10**12, discount_percent="10"
    )
    driver = Driver.objects.create(external_id="DRV-BIG", partner=a, corporate_billing=True)
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="0", excl="1234567.89", incl="1469135.79")
    for day in range(6, 12):
        w.session(w.dc_a, utc(2026, 10, day, 8), kwh="123456.789", excl="98765.43", fee="1.00")
    w.session(
        w.dc_b1,
        utc(2026, 10, 12, 9),
        kwh="40",
        excl="987654.32",
        incl="1175308.64",
        payment_method="corporate",
        driver=driver,
        corporate_partner=a,
    )
    settlement_run(month="2026-10")
    return Statement.objects.get(partner=a, month=dt.date(2026, 10, 1))


def test_statement_pdf_shows_every_column_and_the_net_inside_the_page(big_statement):
    st = big_statement
    lines = list(selectors.statement_lines(st))
    assert len(lines) >= 8, [line.kind for line in lines]
    amounts = [exports._money(line.amount_minor, st.currency) for line in lines]
    assert "1,234,567.89" in amounts  # the AC revenue line, shared at 100 %
    assert any(a.startswith("-1,") and len(a) == len("-1,234,567.89") for a in amounts)
    net = exports._money(st.net_minor, st.currency)

    document = render(exports.statement_html(st))
    assert_inside(document)

    tables = lines_tables(document)
    assert tables
    shown = [row for table in tables for row in rows(table)]
    header = shown[0]
    assert (len(header), header[0], header[-2:]) == (15, "Line", ["VAT", "Amount"])
    body = [row for row in shown if row != header]
    # Every line with all 15 cells, its amount in the Amount column, then the net row.
    assert [row[-1] for row in body] == [*amounts, net]
    assert all(len(row) == 15 for row in body[:-1])
    assert body[-1][0].startswith("Net ")
    # No per-session line in the PDF: the table has the statement lines and the net only.
    assert len(body) == len(lines) + 1

    # Legible: nothing in the table below 7.5 pt (10 CSS px).
    assert min(t.style["font_size"] for table in tables for t in texts(table)) >= 10
    assert exports.statement_pdf(st).startswith(b"%PDF")


def synthetic_context(count: int) -> dict:
    """The template's context for a statement of ``count`` lines with 7-digit amounts."""
    line = SimpleNamespace(
        description="Adjustment 2026-09: Corporate billing sessions in another currency (DC)",
        sessions=123456,
        flagged_sessions=1234,
        quantity=1234,
        asset_days=38254,
        kind="corporate",
        currency="",
    )
    names = [
        "revenue",
        "excluded_connection_fee",
        "electricity_deducted",
        "shareable",
        "partner_share",
        "operator_share",
        "reimbursement",
        "fee",
        "charged_excl_vat",
        "vat",
    ]
    rows_ = [
        {
            "line": line,
            "energy": "999999.999",
            "rate": "100.00",
            "amounts": {**dict.fromkeys(names, "1,234,567.89"), "amount": f"-1,{i:03},567.89"},
        }
        for i in range(count)
    ]
    statement = SimpleNamespace(
        number="ST-2026-00042",
        month=dt.date(2026, 10, 1),
        get_status_display="Final",
        currency="EUR",
        contract=SimpleNamespace(name="A contract " * 12),
        net_minor=-123456789,
        warning="",
    )
    return {
        "statement": statement,
        "partner": SimpleNamespace(legal_name=LONG_NAME, city="Hamburg"),
        "operator": {"name": "PartnerHub Charging Operator", "address": "", "vat_id": ""},
        "rows": rows_,
        "totals": {"net_minor": "-1,234,567.89"},
        "payments": [],
    }


def test_many_lines_repeat_the_header_and_keep_each_row_on_one_page():
    count = 60
    document = render(render_to_string("settlements/statement.html", synthetic_context(count)))
    assert len(document.pages) > 2
    assert_inside(document)
    tables = lines_tables(document)
    assert len(tables) > 2  # the table runs over several pages
    amounts = []
    for table in tables:
        shown = rows(table)
        assert shown[0][-1] == "Amount" and len(shown[0]) == 15  # the header on every page
        amounts += [row[-1] for row in shown[1:]]
        assert all(
            row[1] == "123456 (1234 flagged)" for row in shown[1:] if not row[0].startswith("Net ")
        )
    # Each row whole on one page: every amount once, none cut into two parts.
    assert amounts == [f"-1,{i:03},567.89" for i in range(count)] + ["-1,234,567.89"]


def test_receipt_stays_one_portrait_page(settlement_world):
    from partnerhub.charging.models import Driver

    w = settlement_world
    w.contract(supplier_on_receipts=True)
    driver = Driver.objects.create(external_id="DRV-R", partner=w.world.partner_a, name="Dana")
    for day in range(1, 11):
        w.session(w.ac_a, utc(2026, 10, day, 8), kwh="12.345", excl="1234.56", driver=driver)
    (receipt,) = [
        r
        for r in selectors.driver_receipts(driver=driver, month=dt.date(2026, 10, 1))
        if r["supplier"]["kind"] == "partner"
    ]
    html = render_to_string(
        "settlements/receipt.html",
        {"receipt": receipt, "driver": driver, "generated_at": dt.datetime(2026, 11, 1)},
    )
    document = render(html)
    assert len(document.pages) == 1
    page = document.pages[0]
    assert page.width < page.height  # A4 portrait
    assert_inside(document)
    words = text_of(page._page_box)
    assert "Incl." in words and str(receipt["total_incl_vat"]) in words
    assert exports.receipt_pdf(receipt, driver).startswith(b"%PDF")
