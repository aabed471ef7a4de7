"""The partner portal pages: each renders for its partner user, another partner's objects are
404, writes go through the services (errors shown at their field), and list pages take a
number of queries that does not grow with the list."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from partnerhub.deals.models import DealRegistration, DealStatus
from partnerhub.deals.tests import factories
from partnerhub.deals.tests.factories import create_products, registration_body

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "programs"

pytestmark = pytest.mark.django_db


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def products(db):
    return create_products("wallbox", "dc")


@pytest.fixture
def register(world, products):
    def make(partner=None, *, submit=True, user=None, name="Acme Logistics GmbH", **overrides):
        return factories.register(
            partner or world.partner_a, submit=submit, user=user, name=name, **overrides
        )

    return make


def form_post(products, *, action="draft", rows=None, **overrides):
    """The registration form as the browser posts it."""
    data = registration_body(**overrides)
    data.pop("products")
    data["action"] = action
    rows = rows if rows is not None else [(products["wallbox"].pk, "20")]
    total = max(len(rows), 3)
    data.update(
        {
            "products-TOTAL_FORMS": str(total),
            "products-INITIAL_FORMS": "0",
            "products-MIN_NUM_FORMS": "0",
            "products-MAX_NUM_FORMS": "100",
        }
    )
    for i in range(total):
        product, quantity = rows[i] if i < len(rows) else ("", "")
        data[f"products-{i}-product"] = str(product)
        data[f"products-{i}-quantity"] = quantity
    return data


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- access ------------------------------------------------------------------------------------


PARTNER_PAGES = ["portal:home", "portal:deals", "portal:deal-new", "portal:training"]


@pytest.mark.parametrize("name", [*PARTNER_PAGES, "portal:users"])
def test_anonymous_visitors_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", [*PARTNER_PAGES, "portal:users"])
def test_staff_are_sent_to_the_console(as_user, world, name):
    response = as_user(world.program_admin).get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")


def test_users_page_is_for_partner_admins_only(as_user, world):
    client = as_user(world.sales_a)
    assert client.get(reverse("portal:users")).status_code == 403
    assert client.post(reverse("portal:users-invite"), {"email": "x@alpha.test"}).status_code == 403
    home = client.get(reverse("portal:home"))
    assert reverse("portal:users") not in home.content.decode()


def test_pages_carry_no_inline_script_or_style(as_user, world, register):
    register(user=world.admin_a)
    reg = register(submit=False, name="Other Customer AG", customer_website="other.de")
    client = as_user(world.admin_a)
    for url in [
        *(reverse(n) for n in PARTNER_PAGES),
        reverse("portal:users"),
        reverse("portal:deal-detail", args=[reg.pk]),
        reverse("portal:deal-edit", args=[reg.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert " style=" not in html, url
        assert " onclick=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "Content-Security-Policy" in response.headers


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_shows_tier_progress_billings_pipeline_and_expiring(as_user, world, register):
    from partnerhub.sales.models import BillingLine, Customer
    from partnerhub.training.models import Certification, Person, PersonCertification

    today = timezone.localdate()
    register(user=world.admin_a)
    register(submit=False, name="Draft Customer SA", customer_website="draft.fr")
    customer = Customer.objects.create(
        external_id="C1", name="Acme", country="DE", activated_on=today - dt.timedelta(days=200)
    )
    product = DealRegistration.objects.first().products.first().product
    BillingLine.objects.create(
        external_id="L1",
        partner=world.partner_a,
        customer=customer,
        product=product,
        quantity=1,
        net_amount_minor=1_234_500,
        currency="USD",
        invoice_date=today,
    )
    cert = Certification.objects.create(key="ev-sales", name="EV Sales", validity_months=24)
    person = Person.objects.create(partner=world.partner_a, email="p@alpha.test", full_name="Pia")
    PersonCertification.objects.create(
        person=person,
        certification=cert,
        partner=world.partner_a,
        earned_on=today - dt.timedelta(days=700),
        expires_on=today + dt.timedelta(days=30),
    )

    response = as_user(world.sales_a).get(reverse("portal:home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Authorized" in html  # current tier of the var track
    assert "To reach Silver" in html
    assert "Annual billings of at least $250k" in html
    assert "12,345.00 USD / 250,000.00 USD" in html
    assert "237,655.00 USD to go" in html  # the exact gap
    assert 'role="progressbar"' in html
    assert '<svg class="chart"' in html
    assert "Silver pace" in html  # the target line of the billings chart
    # Each requirement says over which period it counts (billings reset with the fiscal year).
    assert "· this fiscal year so far" in html
    assert "Pipeline by stage" in html
    assert "Submitted" in html and "Draft" in html
    assert "24,000.00 USD" in html
    assert "EV Sales" in html and "Pia" in html
    assert "Acme Logistics GmbH" in html
    assert "Incentive and MDF balances" in html
    assert "No market development funds yet." in html


def test_dashboard_shows_met_requirements_with_their_date(as_user, world):
    from partnerhub.training.models import Certification, Person, PersonCertification

    today = timezone.localdate()
    cert = Certification.objects.create(key="ev-sales", name="EV Sales")
    for i in range(2):
        person = Person.objects.create(partner=world.partner_a, email=f"p{i}@alpha.test")
        PersonCertification.objects.create(
            person=person,
            certification=cert,
            partner=world.partner_a,
            earned_on=today - dt.timedelta(days=10 - i),
        )
    html = as_user(world.admin_a).get(reverse("portal:home")).content.decode()
    met_on = today - dt.timedelta(days=9)
    assert f"Met on {date_format(met_on)}" in html


def test_dashboard_queries_do_not_grow_with_registrations(
    as_user, world, register, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    # Six submitted already meet Silver's "five registered deals" in both runs (a met
    # requirement costs one more query for the day it was met, whatever the number of deals).
    for i in range(7):
        register(name=f"Customer {i} Ltd", customer_website=f"c{i}.com", submit=i != 6)
    client.get(reverse("portal:home"))  # warm caches (content types, sessions)
    with django_assert_max_num_queries(40) as small:
        client.get(reverse("portal:home"))
    for i in range(7, 30):
        register(name=f"Customer {i} Ltd", customer_website=f"c{i}.com", submit=i % 2 == 0)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("portal:home")).status_code == 200


# --- deal registrations ------------------------------------------------------------------------


def test_deal_list_shows_own_registrations_filtered_and_paginated(as_user, world, register):
    for i in range(27):
        register(name=f"Customer {i} Ltd", customer_website=f"c{i}.com", submit=i < 26)
    register(world.partner_b, name="Beta Only Customer", customer_website="beta-only.fr")
    client = as_user(world.sales_a)

    first = client.get(reverse("portal:deals")).content.decode()
    assert "28 registrations" not in first and "27 registrations" in first
    assert "Beta Only Customer" not in first
    assert "Page 1 of 2" in first
    assert first.count("/portal/deals/") >= 25

    drafts = client.get(reverse("portal:deals"), {"status": "draft"}).content.decode()
    assert "1 registration" in drafts and "Customer 26 Ltd" in drafts
    assert "Customer 1 Ltd" not in drafts

    page_2 = client.get(reverse("portal:deals"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in page_2


def test_deal_list_filter_answers_the_results_partial_to_htmx(as_user, world, register):
    register(user=world.admin_a)
    response = as_user(world.admin_a).get(
        reverse("portal:deals"),
        {"status": "submitted"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="deal-results",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="deal-results"')
    assert "<html" not in html and "Acme Logistics GmbH" in html


def test_deal_list_queries_do_not_grow_with_registrations(
    as_user, world, register, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    for i in range(3):
        register(name=f"Customer {i} Ltd", customer_website=f"c{i}.com")
    client.get(reverse("portal:deals"))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("portal:deals"))
    for i in range(3, 30):
        register(name=f"Customer {i} Ltd", customer_website=f"c{i}.com")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("portal:deals"))
    assert response.content.decode().count("<tr>") == 26  # header + 25 rows


def test_registration_form_saves_a_draft(as_user, world, products):
    client = as_user(world.sales_a)
    page = client.get(reverse("portal:deal-new"))
    html = page.content.decode()
    assert page.status_code == 200
    for field in [
        "customer_name",
        "customer_website",
        "customer_country",
        "customer_address",
        "contact_name",
        "contact_email",
        "estimated_value",
        "currency",
        "expected_close_date",
        "source",
        "notes",
        "products-0-product",
        "products-0-quantity",
    ]:
        assert f'<label for="id_{field}"' in html, field
    assert 'hx-post="/portal/deals/conflict-hints/"' in html
    assert 'hx-trigger="keyup changed delay:400ms, change"' in html
    assert "Save draft" in html and "Submit" in html

    response = client.post(reverse("portal:deal-new"), form_post(products, action="draft"))

    reg = DealRegistration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:deal-detail", args=[reg.pk])
    assert reg.status == DealStatus.DRAFT
    assert reg.partner == world.partner_a and reg.created_by == world.sales_a
    assert [(p.product.sku, p.quantity) for p in reg.products.all()] == [("WB-22", 20)]
    assert reg.estimated_value_minor == 2_400_000


def test_registration_form_submits(as_user, world, products):
    client = as_user(world.sales_a)
    rows = [(products["wallbox"].pk, "2"), ("", ""), (products["dc"].pk, "")]
    response = client.post(
        reverse("portal:deal-new"), form_post(products, action="submit", rows=rows)
    )
    assert response.status_code == 302
    reg = DealRegistration.objects.get()
    assert reg.status == DealStatus.SUBMITTED
    assert sorted((p.product.sku, p.quantity) for p in reg.products.all()) == [
        ("DC-150", 1),
        ("WB-22", 2),
    ]
    detail = client.get(response["Location"]).content.decode()
    assert "is submitted for review" in detail


def test_registration_form_shows_a_missing_product_at_the_products(as_user, world, products):
    client = as_user(world.sales_a)
    response = client.post(reverse("portal:deal-new"), form_post(products, rows=[]))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="products_error"[^>]*>\s*<li>Name at least one product', html)
    assert not DealRegistration.objects.exists()
    assert 'value="Acme Logistics GmbH"' in html  # what was typed is kept


def test_registration_form_shows_a_close_date_beyond_the_horizon_at_its_field(
    as_user, world, products
):
    client = as_user(world.sales_a)
    late = (timezone.localdate() + dt.timedelta(days=400)).isoformat()
    response = client.post(
        reverse("portal:deal-new"),
        form_post(products, action="submit", expected_close_date=late),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(
        r'id="id_expected_close_date_error"[^>]*>\s*<li>The expected close date [^<]* beyond '
        r"the program&#x27;s horizon",
        html,
    )
    assert 'aria-invalid="true"' in html
    assert not DealRegistration.objects.exists()


def test_registration_form_shows_a_product_row_error_at_its_row(as_user, world, products):
    client = as_user(world.sales_a)
    rows = [("", ""), (products["wallbox"].pk, "1"), (products["wallbox"].pk, "2")]
    html = client.post(reverse("portal:deal-new"), form_post(products, rows=rows)).content.decode()
    assert re.search(r'id="id_products-2-product_error"[^>]*>\s*<li>Product WB-22 is listed', html)


def test_add_a_product_row_and_check_conflicts_save_nothing(as_user, world, products, register):
    register(world.partner_b, user=world.admin_b)
    client = as_user(world.sales_a)
    html = client.post(
        reverse("portal:deal-new"), form_post(products, action="add_row")
    ).content.decode()
    assert 'name="products-3-product"' in html
    assert "errorlist" not in html
    html = client.post(
        reverse("portal:deal-new"), form_post(products, action="check")
    ).content.decode()
    assert "Another partner has already submitted" in html
    assert not DealRegistration.objects.filter(partner=world.partner_a).exists()


def test_conflict_hints_warn_without_naming_the_other_partner(as_user, world, register):
    other = register(world.partner_a, user=world.admin_a)
    client = as_user(world.admin_b)
    response = client.post(
        reverse("portal:deal-conflict-hints"),
        {"customer_name": "ACME Logistics", "customer_country": "DE"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Another partner has already submitted a registration of this customer" in html
    assert re.search("Another partner(&#x27;|')s registration", html)
    assert "Alpha" not in html
    assert other.reference not in html
    assert "acme-logistics" not in html
    assert "<html" not in html  # the partial only


def test_conflict_hints_say_when_another_partner_is_protected(as_user, world, register):
    from partnerhub.deals import services

    reg = register(world.partner_a, user=world.admin_a)
    services.registration_approve(registration=reg, approved_by=world.program_admin)
    html = (
        as_user(world.admin_b)
        .post(
            reverse("portal:deal-conflict-hints"),
            {"customer_website": "acme-logistics.de"},
            HTTP_HX_REQUEST="true",
        )
        .content.decode()
    )
    assert "Another partner holds an approved registration of this customer" in html
    assert "Alpha" not in html


def test_conflict_hints_show_the_partners_own_registration(as_user, world, register):
    reg = register(world.partner_a, user=world.admin_a)
    html = (
        as_user(world.sales_a)
        .post(
            reverse("portal:deal-conflict-hints"),
            {"customer_name": "Acme Logistics"},
            HTTP_HX_REQUEST="true",
        )
        .content.decode()
    )
    assert "Your organisation already has an active registration" in html
    assert reg.reference in html


def test_conflict_hints_with_nothing_typed_ask_for_a_name(as_user, world):
    html = (
        as_user(world.sales_a)
        .post(reverse("portal:deal-conflict-hints"), {}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Type the customer" in html


def test_deal_detail_shows_facts_products_history_and_actions(as_user, world, register):
    reg = register(user=world.sales_a, submit=False)
    html = as_user(world.sales_a).get(reverse("portal:deal-detail", args=[reg.pk])).content
    html = html.decode()
    assert reg.reference in html
    assert "Acme Logistics GmbH" in html and "Germany" in html
    assert "WB-22" in html and "24,000.00 USD" in html
    assert "Submit for review" in html
    assert reverse("portal:deal-edit", args=[reg.pk]) in html
    assert reverse("portal:deal-delete", args=[reg.pk]) in html
    assert 'enctype="multipart/form-data"' in html
    assert "History" in html


def test_detail_shows_own_stored_conflicts_only(as_user, world, register):
    own_first = register(user=world.admin_a)
    register(world.partner_b, user=world.admin_b)  # B's, submitted before A's second one
    second = register(user=world.admin_a)
    assert second.flagged
    html = as_user(world.admin_a).get(reverse("portal:deal-detail", args=[second.pk])).content
    html = html.decode()
    assert own_first.reference in html
    assert "Beta" not in html
    b_html = as_user(world.admin_b).get(reverse("portal:deals")).content.decode()
    assert own_first.reference not in b_html


def test_edit_a_draft_then_submit(as_user, world, register, products):
    reg = register(user=world.sales_a, submit=False)
    client = as_user(world.sales_a)
    page = client.get(reverse("portal:deal-edit", args=[reg.pk])).content.decode()
    assert 'value="Acme Logistics GmbH"' in page
    assert f'<option value="{products["wallbox"].pk}" selected>' in page
    data = form_post(products, action="draft", customer_name="Acme Logistics Hamburg GmbH")
    response = client.post(reverse("portal:deal-edit", args=[reg.pk]), data)
    assert response.status_code == 302
    reg.refresh_from_db()
    assert reg.customer_name == "Acme Logistics Hamburg GmbH"
    assert reg.status == DealStatus.DRAFT
    response = client.post(reverse("portal:deal-submit", args=[reg.pk]))
    assert response.status_code == 302
    reg.refresh_from_db()
    assert reg.status == DealStatus.SUBMITTED
    # A submitted registration is no longer editable.
    response = client.get(reverse("portal:deal-edit", args=[reg.pk]))
    assert response.status_code == 302


def test_delete_a_draft_asks_first(as_user, world, register):
    reg = register(user=world.sales_a, submit=False)
    client = as_user(world.sales_a)
    page = client.get(reverse("portal:deal-delete", args=[reg.pk]))
    assert page.status_code == 200 and "Delete the draft" in page.content.decode()
    assert DealRegistration.objects.filter(pk=reg.pk).exists()
    response = client.post(reverse("portal:deal-delete", args=[reg.pk]))
    assert response["Location"] == reverse("portal:deals")
    assert not DealRegistration.objects.filter(pk=reg.pk).exists()


def test_close_as_lost_needs_a_reason_shown_at_the_field(as_user, world, register):
    reg = register(user=world.sales_a)
    client = as_user(world.sales_a)
    response = client.post(reverse("portal:deal-close", args=[reg.pk]), {"reason": ""})
    assert response.status_code == 200
    assert 'id="id_reason_error"' in response.content.decode()
    response = client.post(
        reverse("portal:deal-close", args=[reg.pk]), {"reason": "Customer chose a competitor"}
    )
    assert response.status_code == 302
    reg.refresh_from_db()
    assert reg.status == DealStatus.LOST and reg.close_reason == "Customer chose a competitor"


def test_request_an_extension_of_an_approved_registration(as_user, world, register):
    from partnerhub.deals import services

    reg = register(user=world.sales_a)
    client = as_user(world.sales_a)
    html = client.get(reverse("portal:deal-detail", args=[reg.pk])).content.decode()
    assert "Request an extension" not in html  # only once approved
    services.registration_approve(registration=reg, approved_by=world.program_admin)
    html = client.get(reverse("portal:deal-detail", args=[reg.pk])).content.decode()
    assert "Request an extension" in html
    bad = client.post(reverse("portal:deal-extend", args=[reg.pk]), {"days": "999", "reason": "x"})
    assert 'id="id_days_error"' in bad.content.decode()
    response = client.post(
        reverse("portal:deal-extend", args=[reg.pk]), {"days": "30", "reason": "Budget moved"}
    )
    assert response.status_code == 302
    assert reg.extensions.get().days == 30
    html = client.get(reverse("portal:deal-detail", args=[reg.pk])).content.decode()
    assert "waiting for a decision" in html


def test_attach_and_download_a_file(as_user, world, register):
    reg = register(user=world.sales_a)
    client = as_user(world.sales_a)
    upload = SimpleUploadedFile("quote.pdf", b"%PDF-1.4 quote", content_type="application/pdf")
    response = client.post(reverse("portal:deal-attach", args=[reg.pk]), {"file": upload})
    assert response.status_code == 302
    attachment = reg.attachments.get()
    html = client.get(reverse("portal:deal-detail", args=[reg.pk])).content.decode()
    url = reverse("portal:deal-attachment", args=[reg.pk, attachment.pk])
    assert url in html
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 quote"
    assert download["Content-Disposition"].startswith("attachment;")


def test_attach_without_a_file_shows_the_error_at_the_field(as_user, world, register):
    reg = register(user=world.sales_a)
    response = as_user(world.sales_a).post(reverse("portal:deal-attach", args=[reg.pk]), {})
    assert response.status_code == 200
    assert 'id="id_file_error"' in response.content.decode()


def test_another_partners_registration_is_not_found(as_user, world, register):
    reg = register(user=world.admin_a, submit=False)
    from partnerhub.deals import services

    upload = SimpleUploadedFile("a.txt", b"a")
    attachment = services.attachment_add(registration=reg, upload=upload, uploaded_by=None)
    client = as_user(world.admin_b)
    for name, args in [
        ("portal:deal-detail", [reg.pk]),
        ("portal:deal-edit", [reg.pk]),
        ("portal:deal-delete", [reg.pk]),
        ("portal:deal-attachment", [reg.pk, attachment.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    for name in [
        "portal:deal-submit",
        "portal:deal-close",
        "portal:deal-extend",
        "portal:deal-attach",
    ]:
        assert client.post(reverse(name, args=[reg.pk]), {"reason": "x"}).status_code == 404, name
    assert client.get(f"/portal/deals/{2**63}/").status_code == 404
    reg.refresh_from_db()
    assert reg.status == DealStatus.DRAFT


# --- users and invitations ---------------------------------------------------------------------


def test_users_page_lists_users_and_pending_invitations(as_user, world):
    from partnerhub.partners import services

    services.invitation_create(
        actor=world.admin_a, partner=world.partner_a, email="new@alpha.test", role="sales"
    )
    html = as_user(world.admin_a).get(reverse("portal:users")).content.decode()
    assert "admin@alpha.test" in html and "sales@alpha.test" in html
    assert "admin@beta.test" not in html
    assert "new@alpha.test" in html
    assert '<label for="id_email"' in html and '<label for="id_role"' in html


def test_invite_a_user_sends_the_email(
    as_user, world, mailoutbox, django_capture_on_commit_callbacks
):
    client = as_user(world.admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:users-invite"), {"email": "Newbie@Alpha.test", "role": "technical"}
        )
    assert response.status_code == 302
    invitation = world.partner_a.invitations.get()
    assert invitation.email == "newbie@alpha.test" and invitation.role == "technical"
    assert [m.to for m in mailoutbox] == [["newbie@alpha.test"]]


def test_invite_an_existing_user_shows_the_error_at_the_email(as_user, world):
    response = as_user(world.admin_a).post(
        reverse("portal:users-invite"), {"email": "admin@beta.test", "role": "sales"}
    )
    assert response.status_code == 200
    assert re.search(
        r'id="id_email_error"[^>]*>\s*<li>A user with e-mail admin@beta.test already exists',
        response.content.decode(),
    )


def test_revoke_an_invitation(as_user, world):
    from partnerhub.partners import services

    invitation = services.invitation_create(
        actor=world.admin_a, partner=world.partner_a, email="new@alpha.test", role="sales"
    )
    other = services.invitation_create(
        actor=world.admin_b, partner=world.partner_b, email="new@beta.test", role="sales"
    )
    client = as_user(world.admin_a)
    url = reverse("portal:users-invitation-revoke", args=[other.pk])
    assert client.post(url).status_code == 404
    response = client.post(reverse("portal:users-invitation-revoke", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    other.refresh_from_db()
    assert other.state == "pending"


def test_change_a_users_role(as_user, world):
    client = as_user(world.admin_a)
    url = reverse("portal:users-update", args=[world.sales_a.pk])
    response = client.post(url, {f"member-{world.sales_a.pk}-role": "billing", "action": "role"})
    assert response.status_code == 302
    world.sales_a.partner_membership.refresh_from_db()
    assert world.sales_a.partner_membership.role == "billing"
    own = reverse("portal:users-update", args=[world.admin_a.pk])
    response = client.post(own, {f"member-{world.admin_a.pk}-role": "sales", "action": "role"})
    assert response.status_code == 200
    assert "You cannot change your own role" in response.content.decode()
    assert client.post(reverse("portal:users-update", args=[world.admin_b.pk])).status_code == 404


def test_users_page_queries_do_not_grow_with_users(
    as_user, world, make_user, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    client.get(reverse("portal:users"))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("portal:users"))
    for i in range(20):
        make_user(f"u{i}@alpha.test", partner=world.partner_a, role="sales")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("portal:users")).status_code == 200


# --- training ----------------------------------------------------------------------------------


@pytest.fixture
def certified(world):
    from partnerhub.training.models import Certification, Course, Person, PersonCertification

    today = timezone.localdate()
    course = Course.objects.create(key="ev-101", name="EV basics")
    cert = Certification.objects.create(key="ev-sales", name="EV Sales", validity_months=12)
    cert.required_courses.add(course)

    def make(n, partner=None):
        partner = partner or world.partner_a
        start = Person.objects.filter(partner=partner).count()
        for i in range(start, start + n):
            person = Person.objects.create(
                partner=partner, email=f"p{i}@{partner.pk}.test", full_name=f"Person {i}"
            )
            PersonCertification.objects.create(
                person=person,
                certification=cert,
                partner=partner,
                earned_on=today - dt.timedelta(days=400),
                expires_on=today - dt.timedelta(days=35),
            )
            PersonCertification.objects.create(
                person=person,
                certification=cert,
                partner=partner,
                earned_on=today - dt.timedelta(days=30),
                expires_on=today + dt.timedelta(days=335),
            )

    return make


def test_training_page_shows_people_certifications_and_catalogue(as_user, world, certified):
    certified(2)
    certified(1, world.partner_b)
    html = as_user(world.sales_a).get(reverse("portal:training")).content.decode()
    assert "Person 0" in html and "Person 1" in html
    assert "p0@" + str(world.partner_b.pk) not in html
    assert "Current" in html and "Expired" in html
    assert "EV basics" in html and "12 months" in html


def test_training_page_queries_do_not_grow_with_people(
    as_user, world, certified, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    certified(3)
    client.get(reverse("portal:training"))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("portal:training"))
    certified(27)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("portal:training")).status_code == 200


def test_a_partner_in_several_programs_names_the_program(as_user, world, products):
    from partnerhub.partners.models import TrackMembership
    from partnerhub.programs.services import program_load

    source = (EXAMPLES / "field-service-software.yaml").read_text()
    fieldwise = program_load(source=source).version.program
    TrackMembership.objects.create(
        partner=world.partner_a,
        program=fieldwise,
        track_key="service-provider",
        joined_on="2025-07-01",
    )
    client = as_user(world.sales_a)
    html = client.get(reverse("portal:deal-new")).content.decode()
    assert '<label for="id_program"' in html and ">Choose a program<" in html
    response = client.post(reverse("portal:deal-new"), form_post(products))
    assert 'id="id_program_error"' in response.content.decode()
    response = client.post(reverse("portal:deal-new"), form_post(products, program="fieldwise"))
    assert response.status_code == 302
    assert DealRegistration.objects.get().program == fieldwise
    # The dashboard shows one card per track.
    home = client.get(reverse("portal:home")).content.decode()
    assert "Value-added reseller" in home and "Service Provider" in home


def test_an_operator_sees_its_childrens_registrations(as_user, world, register):
    register(world.child_1, name="Child Customer BV", customer_website="child-customer.nl")
    html = as_user(world.operator_admin).get(reverse("portal:deals")).content.decode()
    assert "Child Customer BV" in html and "Child One" in html  # with a partner column
    assert ">Partner<" in html


def test_dashboard_shows_own_incentive_balances_only(as_user, world):
    import datetime as dt
    from decimal import Decimal

    from partnerhub.incentives.services import adjustment_create

    for partner, amount in ((world.partner_a, "1234.50"), (world.partner_b, "999.99")):
        adjustment_create(
            partner=partner,
            kind="commission",
            amount=Decimal(amount),
            currency="USD",
            booked_on=dt.date(2025, 5, 1),
            reason="Opening balance migrated from the old system",
        )
    html = as_user(world.sales_a).get(reverse("portal:home")).content.decode()
    assert "Commission" in html and "1,234.50 USD" in html
    assert "999.99" not in html


def test_an_entry_tier_is_not_said_to_be_held_through_the_day_it_began(as_user, world):
    """An entry tier's guarantee ends the day it starts: "Since 7 March. Held at least
    through 7 March." said nothing, so the second sentence is left out."""
    from partnerhub.tiers.models import PartnerTier
    from partnerhub.tiers.services import tiers_evaluate

    tiers_evaluate(as_of=timezone.localdate())
    tier = PartnerTier.objects.filter(partner=world.partner_a).first()
    assert tier is not None
    PartnerTier.objects.filter(pk=tier.pk).update(held_until=tier.since)
    page = as_user(world.admin_a).get(reverse("portal:home")).content.decode()
    assert "Since " in page and "Held at least through" not in page
    PartnerTier.objects.filter(pk=tier.pk).update(held_until=tier.since + dt.timedelta(days=90))
    page = as_user(world.admin_a).get(reverse("portal:home")).content.decode()
    assert "Held at least through" in page
