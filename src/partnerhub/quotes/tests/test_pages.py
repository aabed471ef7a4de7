"""Quote pages: the portal (list, new quote with the price steps, detail and accept, NFR) and
the console (credit lines, quotes). Query budgets do not grow with the lists."""

import html

import pytest
from django.urls import reverse

from partnerhub.quotes import services
from partnerhub.quotes.models import CreditLine, NfrPurchase, Quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def text(response) -> str:
    return html.unescape(response.content.decode())


def quote(partner, n=1, sku="WB-1000"):
    return services.quote_create(partner=partner, data={"lines": [{"sku": sku, "quantity": n}]})


def test_new_quote_shows_the_price_steps_then_saves(as_user, world, catalogue, gold, distributor):
    client = as_user(world.sales_a)
    page = text(client.get(reverse("portal:quote-new")))
    assert "Delta Distribution" in page  # the authorised distributors to choose from
    form = {
        "sku_0": "WB-1000",
        "quantity_0": "2",
        "purchase_path": "distributor",
        "distributor_id": str(distributor.pk),
        "action": "preview",
    }
    page = text(client.post(reverse("portal:quote-new"), form))
    assert (
        "List 1,000.00 USD → tier Gold hardware −20% → distributor −5 pts → net 850.00 USD" in page
    ), page
    assert "Line total: 1,700.00 USD" in page and "Total: 1,700.00 USD" in page
    assert not Quote.objects.exists()
    response = client.post(reverse("portal:quote-new"), {**form, "action": "create"})
    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:quote-detail", args=[quote.pk])
    page = text(client.get(response["Location"]))
    assert quote.number in page and "1,700.00 USD" in page
    assert "tier Gold hardware −20% (−200.00) → distributor −5 pts (+50.00)" in page
    response = client.post(reverse("portal:quote-accept", args=[quote.pk]))
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == "accepted"


def test_new_quote_errors_name_the_field(as_user, world, catalogue, gold):
    client = as_user(world.admin_a)
    response = client.post(reverse("portal:quote-new"), {"action": "preview"})
    assert response.status_code == 400
    page = text(response)
    assert "Quote at least one product." in page and '<span class="muted">(lines)</span>' in page


def test_direct_quote_without_credit_says_where_to_buy(
    as_user, world, catalogue, gold, distributor
):
    client = as_user(world.admin_a)
    page = text(
        client.post(
            reverse("portal:quote-new"),
            {"sku_0": "WB-1000", "quantity_0": "1", "purchase_path": "direct", "action": "preview"},
        )
    )
    assert (
        "Buy through an authorised distributor: Alpha Charging has no credit line for direct "
        "purchases. Authorised distributors: Delta Distribution." in page
    )
    q = quote(world.partner_a)
    response = client.post(reverse("portal:quote-accept", args=[q.pk]))
    assert response.status_code == 409
    assert "Buy through an authorised distributor" in text(response)


def test_other_partners_quotes_are_404(as_user, world, catalogue, gold):
    q = quote(world.partner_a)
    client = as_user(world.admin_b)
    assert client.get(reverse("portal:quote-detail", args=[q.pk])).status_code == 404
    assert client.post(reverse("portal:quote-accept", args=[q.pk])).status_code == 404
    assert q.number not in text(client.get(reverse("portal:quotes")))


def test_quote_list_queries_do_not_grow(
    as_user, world, catalogue, gold, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    quote(world.partner_a)
    with django_assert_max_num_queries(20) as small:
        assert client.get(reverse("portal:quotes")).status_code == 200
    for n in range(2, 12):
        quote(world.partner_a, n)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "Q-" in text(client.get(reverse("portal:quotes")))


def test_detail_queries_do_not_grow_with_lines(
    as_user, world, catalogue, gold, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    one = quote(world.partner_a)
    with django_assert_max_num_queries(20) as small:
        assert client.get(reverse("portal:quote-detail", args=[one.pk])).status_code == 200
    many = services.quote_create(
        partner=world.partner_a,
        data={"lines": [{"sku": s} for s in ("WB-1000", "CABLE-9", "PLUG-1", "CL-PRO", "SUP-1")]},
    )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "SUP-1" in text(client.get(reverse("portal:quote-detail", args=[many.pk])))


def test_nfr_page_offers_only_nfr_products_and_the_bundle_categories(
    as_user, world, catalogue, gold
):
    """The program's NFR offer: category nfr, bundle of services and cloud. Listing every
    product made every order of a non-NFR product fail."""
    from partnerhub.sales.models import Product

    response = as_user(world.sales_a).get(reverse("portal:quote-nfr"))
    assert [p.sku for p in response.context["products"]] == ["NFR-ST"]
    assert [p.sku for p in response.context["bundle_products"]] == ["CL-PRO", "SUP-1"]
    Product.objects.filter(category__key="nfr").update(is_active=False)
    page = text(as_user(world.sales_a).get(reverse("portal:quote-nfr")))
    assert (
        "The catalogue has no not-for-resale product yet" in page and "Order</button>" not in page
    )


def test_nfr_page_orders_and_refuses_with_the_limit(as_user, world, catalogue, gold):
    client = as_user(world.sales_a)
    form = {"sku": "NFR-ST", "quantity": "2", "bundle": ["SUP-1", "CL-PRO"]}
    response = client.post(reverse("portal:quote-nfr"), form)
    assert response.status_code == 302
    page = text(client.get(reverse("portal:quote-nfr")))
    assert "2 × NFR-ST ordered for 2,400.00 USD." in page
    response = client.post(reverse("portal:quote-nfr"), {**form, "quantity": "1"})
    assert response.status_code == 400
    assert (
        "At most 2 NFR units per partner: Alpha Charging already holds 2, so it cannot order "
        "1 more." in text(response)
    )
    renewal = {"sku": "NFR-ST", "quantity": "2", "renews_id": NfrPurchase.objects.get().pk}
    assert client.post(reverse("portal:quote-nfr"), renewal).status_code == 302
    assert NfrPurchase.objects.filter(is_renewal=True).get().price_minor == 2000_00


def test_console_credit_lines_recorded_by_finance(as_user, world, django_assert_max_num_queries):
    world.partner_a.duns = "123456789"
    world.partner_a.save()
    client = as_user(world.finance)
    # The picker offers partners with a DUNS number and no credit line, searched by name.
    page = text(client.get(reverse("console:credit-lines"), {"partner_q": "Alpha"}))
    assert "Alpha Charging" in page
    page = text(client.get(reverse("console:credit-lines"), {"partner_q": "Beta"}))
    assert "Beta Energy" not in page
    url = reverse("console:credit-line", args=[world.partner_a.pk])
    response = client.post(
        url, {"limit": "25000", "currency": "EUR", "approved_on": "2025-06-01", "action": "save"}
    )
    assert response.status_code == 302, text(response)
    line = CreditLine.objects.get()
    assert (line.limit_minor, line.currency, line.approved_by) == (25000_00, "EUR", world.finance)
    with django_assert_max_num_queries(20):
        page = text(client.get(reverse("console:credit-lines")))
    assert "25,000.00 EUR" in page and "0.00 EUR" in page
    # Without a DUNS number: refused, naming the field.
    response = client.post(
        reverse("console:credit-line", args=[world.partner_b.pk]),
        {"limit": "1000", "currency": "EUR", "action": "save"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Beta Energy has no DUNS number" in page and "(duns)" in page
    response = client.post(url, {"action": "remove"})
    assert response.status_code == 302 and not CreditLine.objects.exists()


def test_console_credit_lines_are_kept_by_admins_and_finance_only(as_user, world):
    url = reverse("console:credit-line", args=[world.partner_a.pk])
    assert as_user(world.viewer).get(url).status_code == 403
    assert as_user(world.manager).get(url).status_code == 403
    assert as_user(world.program_admin).get(url).status_code == 200
    # Partner users are sent to their portal.
    assert as_user(world.admin_a).get(url).status_code == 302


def test_console_quote_list(as_user, world, catalogue, gold, django_assert_max_num_queries):
    q = quote(world.partner_a)
    client = as_user(world.viewer)
    with django_assert_max_num_queries(15):
        page = text(client.get(reverse("console:quotes")))
    assert q.number in page and "Alpha Charging" in page and "no credit" in page
    assert q.number not in text(as_user(world.other_manager).get(reverse("console:quotes")))


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"sku_0": "WB-1000", "registration_id": "abc"}, "(registration)"),
        ({"sku_0": "WB-1000", "quantity_0": "lots"}, "(line 1, quantity)"),
        (
            {"sku_0": "WB-1000", "purchase_path": "distributor", "distributor_id": "9" * 30},
            "(distributor id)",
        ),
    ],
)
def test_crafted_quote_forms_are_400_not_500(as_user, world, catalogue, gold, form, words):
    response = as_user(world.admin_a).post(
        reverse("portal:quote-new"), {**form, "action": "create"}
    )
    assert response.status_code == 400
    assert words in text(response)
    assert not Quote.objects.exists()


def test_crafted_nfr_form_is_400_not_500(as_user, world, catalogue, gold):
    response = as_user(world.admin_a).post(
        reverse("portal:quote-nfr"), {"sku": "NFR-ST", "renews_id": "x", "quantity": "1"}
    )
    assert response.status_code == 400 and "(renews id)" in text(response)


def test_admin_lists_quotes_read_only(as_user, world, catalogue, gold):
    q = quote(world.partner_a)
    client = as_user(world.program_admin)
    page = text(client.get("/admin/quotes/quote/"))
    assert q.number in page
    assert client.get(f"/admin/quotes/quote/{q.pk}/change/").status_code == 200


def test_quote_list_shows_the_partners_credit(as_user, world, catalogue, gold, credit):
    client = as_user(world.admin_a)
    assert "No credit line: buy through an authorised distributor" in text(
        client.get(reverse("portal:quotes"))
    )
    credit(limit="10000.00")
    q = quote(world.partner_a, 2)
    services.quote_accept(quote=q)
    page = text(client.get(reverse("portal:quotes")))
    assert "Limit 10,000.00 USD; used 1,600.00 USD; available 8,400.00 USD." in page
