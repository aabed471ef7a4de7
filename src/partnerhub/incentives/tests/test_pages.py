"""The incentive pages of the portal (/portal/incentives/) and the console
(/console/incentives/): what each shows, the forms (with JavaScript off: plain posts),
tenancy (another partner's statement answers 404), query budgets that do not grow with the
lists, and the read-only admin.

Alpha and Beta are Silver VARs of ev-hardware (8 % commission on sourced sales, 1 % MDF).
Alpha sold 1,000.00 on 2025-03-10 (won): 80.00 commission payable, 10.00 MDF held.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerhub.incentives.models import (
    AccrualRun,
    ClaimStatus,
    CustomerPayment,
    LedgerEntry,
    PayoutRun,
    ReferralElection,
    SpiffClaim,
)
from partnerhub.incentives.services import (
    accrual_run,
    adjustment_create,
    spiff_campaign_create,
    spiff_claim_submit,
)
from partnerhub.incentives.tests.builders import bill, hold, won

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def accrued(world, ev_program):
    hold(world.partner_a, ev_program, "var", "silver")
    hold(world.partner_b, ev_program, "var", "silver")
    line = bill(world.partner_a, "1000.00", "2025-03-10")
    won(world.partner_a, ev_program, line)
    other = bill(world.partner_b, "2000.00", "2025-03-12")
    won(world.partner_b, ev_program, other)
    accrual_run()
    return line


@pytest.fixture
def campaign(ev_program, world):
    return spiff_campaign_create(
        program=ev_program,
        name="Demo day bounty",
        basis="activity",
        starts_on=dt.date(2025, 1, 1),
        ends_on=dt.date(2099, 12, 31),
        bounty=Decimal("75.00"),
        currency="USD",
    )


def _adjust(partner, n: int) -> None:
    for i in range(n):
        adjustment_create(
            partner=partner,
            kind="spiff",
            amount=Decimal("1.00"),
            currency="USD",
            booked_on=dt.date(2025, 5, 1) + dt.timedelta(days=i),
            reason=f"Bonus {i}",
        )


# --- portal --------------------------------------------------------------------------------


def test_portal_overview_balances_and_ledger(as_user, world, accrued):
    page = text(as_user(world.sales_a).get(reverse("portal:incentives")))
    assert "Commission" in page and "80.00 USD" in page
    assert "Market development funds" in page and "10.00 USD" in page
    # An MDF fund is budget to spend, not money owed to the partner.
    assert "a fund to spend on approved claims, not paid out" in page and "owed" not in page
    assert "160.00" not in page  # Beta's commission
    filtered = text(as_user(world.sales_a).get(reverse("portal:incentives"), {"kind": "mdf"}))
    assert "1 entry" in filtered


def test_portal_ledger_pages_and_queries_do_not_grow(
    as_user, world, accrued, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    url = reverse("portal:incentives")
    with django_assert_max_num_queries(25) as small:
        assert client.get(url).status_code == 200
    _adjust(world.partner_a, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = text(client.get(url))
    assert "62 entries" in page and "Page 1 of 2" in page
    assert "Bonus 59" in page  # newest first


def test_portal_statement_with_downloads(as_user, world, accrued):
    client = as_user(world.sales_a)
    url = reverse("portal:incentives-statement")
    page = text(client.get(url, {"date_from": "2025-03-01", "date_to": "2025-03-31"}))
    assert "Opening balance on 2025-03-01" in page
    assert f"Invoice line {accrued.external_id}" in page
    assert "Closing balance on 2025-03-31" in page and "90.00 USD" in page
    assert "date_from=2025-03-01&date_to=2025-03-31" in page
    r = client.get(
        reverse("portal:incentives-statement-pdf"),
        {"date_from": "2025-03-01", "date_to": "2025-03-31"},
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get(
        reverse("portal:incentives-statement-csv"),
        {"date_from": "2025-03-01", "date_to": "2025-03-31"},
    )
    assert r["Content-Type"] == "text/csv" and r.content.decode().endswith(",90.00\r\n")
    r = client.get(url, {"date_from": "2025-04-01", "date_to": "2025-03-01"})
    assert r.status_code == 400 and "The period starts after it ends." in text(r)


def test_portal_statement_of_another_partner_is_404(as_user, world, accrued):
    client = as_user(world.admin_b)
    a = world.partner_a.pk
    for name in ("incentives-statement", "incentives-statement-csv", "incentives-statement-pdf"):
        assert client.get(reverse(f"portal:{name}"), {"partner": a}).status_code == 404
    assert client.get(reverse("portal:incentives"), {"partner": a}).status_code == 404
    # A sub-operator reads its child's statement.
    client = as_user(world.operator_admin)
    r = client.get(reverse("portal:incentives-statement"), {"partner": world.child_1.pk})
    assert r.status_code == 200 and "Child One" in text(r)


def test_portal_referral_election(as_user, world):
    client = as_user(world.admin_a)
    url = reverse("portal:incentives-referral")
    page = text(client.get(url))
    assert "applies to later referrals only" in page
    assert "Referral fee (default)" in page
    r = client.post(url, {"program": "ev-hardware", "choice": "discount", "effective_from": ""})
    assert r.status_code == 302
    page = text(client.get(url))
    assert "Discount for the referred customer" in page
    r = client.post(
        url, {"program": "ev-hardware", "choice": "fee", "effective_from": "2020-01-01"}
    )
    assert r.status_code == 400
    assert "An election applies from today or a later day" in text(r)
    assert ReferralElection.objects.count() == 1
    # Sales users read it but may not change it.
    client = as_user(world.sales_a)
    assert "Save the election" not in text(client.get(url))
    assert client.post(url, {"program": "ev-hardware", "choice": "fee"}).status_code == 403
    assert ReferralElection.objects.count() == 1


def test_portal_spiff_claim(as_user, world, campaign):
    client = as_user(world.sales_a)
    url = reverse("portal:incentives-spiffs")
    page = text(client.get(url))
    assert "Demo day bounty" in page and "75.00 USD per qualifying" in page
    claim_url = reverse("portal:incentives-spiff-claim", args=[campaign.pk])
    prefix = f"c{campaign.pk}"
    r = client.post(claim_url, {f"{prefix}-activity": "", f"{prefix}-activity_on": ""})
    assert r.status_code == 400 and "Describe the activity." in text(r)
    r = client.post(
        claim_url,
        {f"{prefix}-activity": "Showroom demo", f"{prefix}-activity_on": "2025-06-01"},
    )
    assert r.status_code == 302
    page = text(client.get(url))
    assert "Showroom demo" in page and "Submitted" in page
    assert SpiffClaim.objects.get().partner_id == world.partner_a.pk


# --- console -----------------------------------------------------------------------------------


def test_console_liability_and_accrual_button(as_user, world, accrued):
    client = as_user(world.finance)
    page = text(client.get(reverse("console:incentives")))
    # 80.00 + 160.00 commission payable; 10.00 + 20.00 MDF held.
    assert "240.00 USD" in page and "30.00 USD" in page
    r = client.post(reverse("console:incentives-accruals"))
    assert r.status_code == 302
    page = text(client.get(reverse("console:incentives-accruals")))
    latest = AccrualRun.objects.order_by("-id").first()
    assert AccrualRun.objects.count() == 2 and latest.triggered_by_id == world.finance.pk
    assert "Run accrual now" in page and f"#{latest.pk}" in page and "finance@vendor.test" in page
    # A manager sees the liability of their partners only and may not run accruals.
    client = as_user(world.manager)
    page = text(client.get(reverse("console:incentives")))
    assert "80.00 USD" in page and "240.00 USD" not in page
    assert "Run accrual now" not in text(client.get(reverse("console:incentives-accruals")))
    assert client.post(reverse("console:incentives-accruals")).status_code == 403


def test_console_payout_form_is_idempotent(as_user, world, accrued):
    client = as_user(world.finance)
    url = reverse("console:incentives-payouts")
    r = client.post(url, {"reference": "PAY-1", "as_of": "2025-03-31", "currency": ""})
    assert r.status_code == 302
    r = client.post(url, {"reference": "PAY-1", "as_of": "2025-03-31", "currency": ""}, follow=True)
    assert "was already made; nothing more is paid" in text(r)
    assert PayoutRun.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="payout").count() == 2
    r = client.post(url, {"reference": "PAY-2", "as_of": "2999-01-01", "currency": ""})
    assert r.status_code == 400 and "up to today at the latest" in text(r)


def test_console_rebate_close_form(as_user, world, ev_program):
    client = as_user(world.finance)
    url = reverse("console:incentives-rebates")
    r = client.post(url, {"program": "ev-hardware", "rebate": "nope", "period_day": "2025-02-01"})
    assert r.status_code == 400 and "has no rebate 'nope'" in text(r)
    r = client.post(
        url, {"program": "ev-hardware", "rebate": "hardware-volume", "period_day": "2025-02-01"}
    )
    assert r.status_code == 302
    assert "2025-01-01 – 2025-03-31" in text(client.get(url))


def test_console_spiff_create_and_claim_queue(as_user, world, ev_program, campaign):
    admin = as_user(world.program_admin)
    url = reverse("console:incentives-spiffs")
    body = {
        "program": "ev-hardware",
        "name": "Summer wallboxes",
        "basis": "sale",
        "products": "",
        "starts_on": "2025-06-01",
        "ends_on": "2025-08-31",
        "bounty": "100",
        "currency": "USD",
    }
    r = admin.post(url, body)
    assert r.status_code == 400 and "names the products that qualify" in text(r)
    r = admin.post(url, {**body, "basis": "activity"})
    assert r.status_code == 302
    assert "Summer wallboxes" in text(admin.get(url))
    claim_a = spiff_claim_submit(
        campaign=campaign,
        partner=world.partner_a,
        activity="Demo A",
        activity_on=dt.date(2025, 6, 1),
    )
    claim_b = spiff_claim_submit(
        campaign=campaign,
        partner=world.partner_b,
        activity="Demo B",
        activity_on=dt.date(2025, 6, 2),
    )
    manager = as_user(world.manager)  # manages Alpha, not Beta
    page = text(manager.get(reverse("console:incentives-claims")))
    assert "Demo A" in page and "Demo B" not in page
    decide = reverse("console:incentives-claim-decide", args=[claim_b.pk])
    assert manager.post(decide, {"decision": "approve"}).status_code == 404
    decide = reverse("console:incentives-claim-decide", args=[claim_a.pk])
    r = manager.post(decide, {"decision": "reject", "reason": ""}, follow=True)
    assert "Give the partner a reason" in text(r)
    manager.post(decide, {"decision": "reject", "reason": "No proof of the demo"})
    claim_a.refresh_from_db()
    assert (claim_a.status, claim_a.decision_reason) == (
        ClaimStatus.REJECTED,
        "No proof of the demo",
    )
    assert not LedgerEntry.objects.filter(kind="spiff").exists()
    # Finance reads the queue but does not decide.
    r = as_user(world.finance).post(
        reverse("console:incentives-claim-decide", args=[claim_b.pk]), {"decision": "approve"}
    )
    assert r.status_code == 403


def test_console_claim_queue_queries_do_not_grow(
    as_user, world, campaign, django_assert_max_num_queries
):
    client = as_user(world.program_admin)
    url = reverse("console:incentives-claims")
    spiff_claim_submit(
        campaign=campaign, partner=world.partner_a, activity="x", activity_on=dt.date(2025, 6, 1)
    )
    with django_assert_max_num_queries(25) as small:
        assert client.get(url).status_code == 200
    for p in (world.partner_b, world.operator, world.child_1, world.child_2):
        for i in range(3):
            spiff_claim_submit(
                campaign=campaign, partner=p, activity=f"y{i}", activity_on=dt.date(2025, 6, 1)
            )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "Child Two" in text(client.get(url))


def test_console_statement_and_tenancy(as_user, world, accrued, django_assert_max_num_queries):
    client = as_user(world.manager)
    a, b = world.partner_a.pk, world.partner_b.pk
    q = {"date_from": "2025-03-01", "date_to": "2025-12-31"}
    with django_assert_max_num_queries(25):
        page = text(client.get(reverse("console:incentives-statement", args=[a]), q))
    assert "Alpha Charging" in page and "90.00 USD" in page
    r = client.get(reverse("console:incentives-statement-pdf", args=[a]), q)
    assert r.content.startswith(b"%PDF")
    for name in ("incentives-statement", "incentives-statement-csv", "incentives-statement-pdf"):
        assert client.get(reverse(f"console:{name}", args=[b]), q).status_code == 404
    r = client.get(reverse("console:incentives"), {"partner": a})
    assert r.status_code == 302 and r["Location"].endswith(f"/incentives/partners/{a}/statement/")


def test_pages_need_the_right_side(as_user, world):
    assert as_user(world.admin_a).get(reverse("console:incentives")).status_code == 302
    assert as_user(world.finance).get(reverse("portal:incentives")).status_code == 302


# --- admin -----------------------------------------------------------------------------------


def test_admin_is_read_only(as_user, world, accrued):
    user = world.program_admin
    user.is_staff = True
    user.save()
    client = as_user(user)
    r = client.get("/admin/incentives/ledgerentry/")
    assert r.status_code == 200 and "Alpha Charging" in text(r)
    entry = LedgerEntry.objects.first()
    assert client.get(f"/admin/incentives/ledgerentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/incentives/ledgerentry/add/").status_code == 403
    r = client.post(f"/admin/incentives/ledgerentry/{entry.pk}/delete/", {"post": "yes"})
    assert r.status_code == 403
    for model in ("accrualrun", "payoutrun", "rebateclose", "spiffcampaign", "spiffclaim",
                  "referralelection", "customerpayment"):  # fmt: skip
        assert client.get(f"/admin/incentives/{model}/").status_code == 200, model
    # A partner manager's admin list holds their partners' entries only.
    manager = world.manager
    client = as_user(manager)
    r = client.get("/admin/incentives/ledgerentry/")
    assert r.status_code == 200 and "Beta Energy" not in text(r)


def test_portal_spiff_and_referral_pages_queries_do_not_grow(
    as_user, world, ev_program, campaign, django_assert_max_num_queries
):
    from partnerhub.sales.models import Product
    from partnerhub.tiers.tests.factories import category

    def product(sku):
        return Product.objects.create(
            sku=sku, name=sku, category=category("hardware"), list_price_minor=100, currency="USD"
        )

    client = as_user(world.admin_a)
    url = reverse("portal:incentives-spiffs")
    spiff_claim_submit(
        campaign=campaign,
        partner=world.partner_a,
        activity="First",
        activity_on=dt.date(2025, 6, 1),
    )
    with django_assert_max_num_queries(25) as small:
        assert client.get(url).status_code == 200
    for i in range(5):
        spiff_campaign_create(
            program=ev_program,
            name=f"Sale push {i}",
            basis="sale",
            products=[product(f"SKU-{i}"), product(f"SKU-{i}-B")],
            starts_on=dt.date(2025, 1, 1),
            ends_on=dt.date(2099, 12, 31),
            bounty=Decimal("10"),
            currency="USD",
        )
        spiff_claim_submit(
            campaign=campaign, partner=world.partner_a, activity=f"Demo {i}",
            activity_on=dt.date(2025, 6, 1),
        )  # fmt: skip
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = text(client.get(url))
    assert "Sale push 4" in page and "SKU-4-B" in page and "Demo 4" in page
    referral = reverse("portal:incentives-referral")
    with django_assert_max_num_queries(25):
        assert client.get(referral).status_code == 200


# --- console: adjustments and customer payments ---------------------------------------------


def test_console_adjustment_booked_by_finance(as_user, world, accrued):
    client = as_user(world.finance)
    url = reverse("console:incentives-adjustments")
    assert "No adjustment yet." in text(client.get(url))
    body = {
        "partner": str(world.partner_a.pk),
        "partner_q": "",
        "kind": "commission",
        "amount": "-12.50",
        "currency": "usd",
        "booked_on": "2025-04-02",
        "reason": "Credit note CN-7 reduced the order",
    }
    r = client.post(url, body, follow=True)
    assert "Adjustment of -12.50 USD booked for Alpha Charging" in text(r)
    entry = LedgerEntry.objects.get(entry_type="adjustment")
    assert (entry.partner_id, entry.amount_minor, entry.currency, entry.kind) == (
        world.partner_a.pk,
        -1250,
        "USD",
        "commission",
    )
    assert entry.memo == "Credit note CN-7 reduced the order"
    assert entry.created_by_id == world.finance.pk
    page = text(client.get(url))
    assert "Credit note CN-7" in page and "finance@vendor.test" in page
    # Refused, naming the field; nothing booked.
    for changes, message in (
        ({"amount": "0"}, "An adjustment of 0 changes nothing."),
        ({"amount": "1.005"}, "more decimals than USD has"),
        ({"reason": ""}, "This field is required."),
        ({"partner": ""}, "Choose the partner from the list."),
        ({"partner": "999999"}, "Choose a partner from the list."),
    ):
        r = client.post(url, {**body, **changes})
        assert r.status_code == 400 and message in text(r), changes
    assert LedgerEntry.objects.filter(entry_type="adjustment").count() == 1


def test_console_adjustments_seen_per_partner_and_booked_by_finance_only(as_user, world, accrued):
    _adjust(world.partner_a, 1)
    _adjust(world.partner_b, 1)
    url = reverse("console:incentives-adjustments")
    client = as_user(world.manager)  # manages Alpha only
    page = text(client.get(url))
    assert "Alpha Charging" in page and "Beta Energy" not in page
    assert "Book the adjustment" not in page
    body = {"partner": str(world.partner_a.pk), "kind": "spiff", "amount": "5", "currency": "USD"}
    assert client.post(url, {**body, "booked_on": "2025-05-01", "reason": "x"}).status_code == 403
    assert as_user(world.admin_a).get(url).status_code == 302  # partner users: the portal
    assert LedgerEntry.objects.filter(entry_type="adjustment").count() == 2


def _csv(*rows: str) -> SimpleUploadedFile:
    content = "\n".join(["external_id,billing_line,amount,paid_on", *rows]) + "\n"
    return SimpleUploadedFile("payments.csv", content.encode(), "text/csv")


def test_console_customer_payments_import(as_user, world, accrued):
    line = accrued  # Alpha's 1,000.00 USD invoice
    client = as_user(world.finance)
    url = reverse("console:incentives-payments")
    assert "No customer payment imported yet." in text(client.get(url))
    # All or nothing: one bad row refuses the file, every bad row is named.
    r = client.post(
        url,
        {
            "file": _csv(
                f"P-1,{line.external_id},400.00,2025-04-01",
                "P-2,NO-SUCH-LINE,10.00,2025-04-01",
                f"P-3,{line.external_id},700.00,2025-04-01",
                f"P-4,{line.external_id},1.00,01/04/2025",
            )
        },
    )
    page = text(r)
    assert r.status_code == 400 and "Nothing was imported" in page
    assert "Row 3, billing_line: no billing line 'NO-SUCH-LINE'" in page
    assert "Row 4, amount: 700.00 is more than the 600.00 USD left to pay" in page
    assert "Row 5, paid_on: '01/04/2025' is not a date" in page
    assert not CustomerPayment.objects.exists()
    bad_header = SimpleUploadedFile("payments.csv", b"id,amount\n1,2\n", "text/csv")
    r = client.post(url, {"file": bad_header})
    assert r.status_code == 400 and "payments.csv:" in text(r) and "billing_line" in text(r)
    r = client.post(url, {"file": _csv("a,b")})
    assert r.status_code == 400 and "Row 2" in text(r)
    assert client.post(url, {}).status_code == 400

    r = client.post(url, {"file": _csv(f"P-1,{line.external_id},400.00,2025-04-01")}, follow=True)
    assert "1 rows: 1 imported, 0 already there." in text(r)
    r = client.post(url, {"file": _csv(f"P-1,{line.external_id},400.00,2025-04-01")}, follow=True)
    assert "1 rows: 0 imported, 1 already there." in text(r)
    payment = CustomerPayment.objects.get()
    assert (payment.amount_minor, payment.paid_on) == (40000, dt.date(2025, 4, 1))
    page = text(client.get(url))
    assert "P-1" in page and "400.00 USD" in page and "Alpha Charging" in page


def test_console_customer_payments_scoped_and_imported_by_finance_only(as_user, world, accrued):
    other = bill(world.partner_b, "50.00", "2025-03-20")
    CustomerPayment.objects.create(
        external_id="PAY-B",
        billing_line=other,
        amount_minor=5000,
        currency="USD",
        paid_on=dt.date(2025, 4, 1),
    )
    url = reverse("console:incentives-payments")
    client = as_user(world.manager)  # manages Alpha only
    page = text(client.get(url))
    assert "PAY-B" not in page and 'name="file"' not in page  # no import form either
    r = client.post(url, {"file": _csv(f"P-9,{accrued.external_id},1.00,2025-04-01")})
    assert r.status_code == 403
    assert "PAY-B" in text(as_user(world.viewer).get(url))
    assert CustomerPayment.objects.count() == 1


# --- portal: a sub-operator acts for its children --------------------------------------------


def test_sub_operator_elects_and_claims_for_a_child(as_user, world, campaign):
    child = world.child_1
    client = as_user(world.operator_admin)
    url = reverse("portal:incentives-referral")
    page = text(client.get(url))
    # The chooser lists the operator and its children, never anyone else.
    for partner in (world.operator, world.child_1, world.child_2):
        assert f">{partner.display_name}</option>" in page
    assert world.partner_a.display_name not in page
    page = text(client.get(url, {"partner": child.pk}))
    assert f"Referral benefit · {child.display_name}" in page
    assert f'name="partner" value="{child.pk}"' in page  # the form keeps the child
    r = client.post(url, {"partner": child.pk, "program": "ev-hardware", "choice": "discount"})
    assert r.status_code == 302 and r["Location"].endswith(f"?partner={child.pk}")
    election = ReferralElection.objects.get()
    assert election.partner_id == child.pk

    spiffs = reverse("portal:incentives-spiffs")
    assert "Demo day bounty" in text(client.get(spiffs, {"partner": child.pk}))
    prefix = f"c{campaign.pk}"
    r = client.post(
        reverse("portal:incentives-spiff-claim", args=[campaign.pk]),
        {
            "partner": child.pk,
            f"{prefix}-activity": "Depot open day",
            f"{prefix}-activity_on": "2025-06-01",
        },
    )
    assert r.status_code == 302 and r["Location"].endswith(f"?partner={child.pk}")
    assert SpiffClaim.objects.get().partner_id == child.pk
    assert "Depot open day" in text(client.get(spiffs, {"partner": child.pk}))
    assert "Depot open day" not in text(client.get(spiffs))  # the operator's own claims


def test_child_and_unrelated_partners_cannot_act_for_others(as_user, world, campaign):
    referral = reverse("portal:incentives-referral")
    spiffs = reverse("portal:incentives-spiffs")
    claim = reverse("portal:incentives-spiff-claim", args=[campaign.pk])
    prefix = f"c{campaign.pk}"
    body = {f"{prefix}-activity": "x", f"{prefix}-activity_on": "2025-06-01"}
    for user, target in (
        (world.child_1_admin, world.operator),  # a child never acts for its parent...
        (world.child_1_admin, world.child_2),  # ...nor a sibling
        (world.admin_a, world.child_1),  # an unrelated partner
    ):
        client = as_user(user)
        assert client.get(referral, {"partner": target.pk}).status_code == 404
        assert client.get(spiffs, {"partner": target.pk}).status_code == 404
        r = client.post(referral, {"partner": target.pk, "program": "ev-hardware", "choice": "fee"})
        assert r.status_code == 404
        assert client.post(claim, {"partner": target.pk, **body}).status_code == 404
    assert "acting-partner" not in text(as_user(world.admin_a).get(referral))  # no chooser
    assert not ReferralElection.objects.exists() and not SpiffClaim.objects.exists()
