"""The sales back office renders; products save through services; billing lines are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partnerhub.sales.models import BillingLine, Product
from partnerhub.sales.services import billing_lines_import
from partnerhub.sales.tests.conftest import make_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_lines(client, sales_world, make_user):
    billing_lines_import(rows=[make_row(sales_world)])
    superuser = make_user("root@vendor.test", is_superuser=True, staff_role="program_admin")
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", ["productcategory", "product", "customer", "billingline"])
def test_changelists_render(admin_client_with_lines, model):
    response = admin_client_with_lines.get(reverse(f"admin:sales_{model}_changelist"))
    assert response.status_code == 200


def test_billing_lines_are_read_only(admin_client_with_lines):
    client = admin_client_with_lines
    line = BillingLine.objects.get()
    change_url = reverse("admin:sales_billingline_change", args=[line.pk])
    response = client.get(change_url)
    assert response.status_code == 200
    assert b'name="net_amount_minor"' not in response.content
    assert client.get(reverse("admin:sales_billingline_add")).status_code == 403
    response = client.get(
        reverse("admin:sales_billingline_changelist"), {"q": "INV-1001-1"}
    ).content.decode()
    assert "INV-1001-1" in response and "2598.00 EUR" in response
    client.post(change_url, {"external_id": "changed"})
    assert BillingLine.objects.get().external_id == "INV-1001-1"


def test_product_saves_through_services_with_a_decimal_price(admin_client_with_lines, catalog):
    client = admin_client_with_lines
    product = catalog["CP-22"]
    url = reverse("admin:sales_product_change", args=[product.pk])
    page = client.get(url).content.decode()
    assert 'value="1299.00"' in page
    data = {
        "sku": "CP-22",
        "name": "Wallbox 22 kW",
        "category": catalog["hardware"].pk,
        "list_price": "1349.50",
        "currency": "EUR",
        "required_certification": "",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.get(pk=product.pk).list_price_minor == 134950
    response = client.post(url, data | {"list_price": "1.999"})
    assert response.status_code == 200
    assert "has more decimals than EUR allows" in response.content.decode()
    response = client.post(
        reverse("admin:sales_product_add"), data | {"sku": "CP-NEW", "list_price": "10"}
    )
    assert response.status_code == 302
    assert Product.objects.get(sku="CP-NEW").list_price_minor == 1000
