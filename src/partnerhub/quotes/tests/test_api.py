"""Quotes, credit lines and NFR through the API, as a partner and as staff."""

import pytest

from partnerhub.quotes.models import CreditLine, Quote

pytestmark = pytest.mark.django_db


def test_partner_previews_creates_and_accepts_a_quote(api_as, world, catalogue, gold, credit):
    credit()
    client = api_as(world.sales_a)
    body = {"lines": [{"sku": "WB-1000", "quantity": 2}]}
    r = client.post("/quotes/price", body)
    assert r.status_code == 200, r.body
    assert r.body["total"] == "1600.00" and r.body["list_total"] == "2000.00"
    assert r.body["lines"][0]["steps"] == [
        {"label": "tier Gold hardware −20%", "percent": "20", "amount": "200.00"}
    ]
    assert Quote.objects.count() == 0  # a preview writes nothing
    r = client.post("/quotes", body)
    assert r.status_code == 201, r.body
    quote = r.body
    assert quote["number"].startswith("Q-") and quote["status"] == "draft"
    assert quote["lines"][0]["unit_net"] == "800.00"
    assert quote["lines"][0]["line_total"] == "1600.00"
    assert quote["direct_allowed"] is True
    r = client.post(f"/quotes/{quote['id']}/accept")
    assert r.status_code == 200 and r.body["status"] == "accepted"
    r = client.post(f"/quotes/{quote['id']}/accept")
    assert r.status_code == 409
    r = client.get("/quotes")
    assert [q["number"] for q in r.body["items"]] == [quote["number"]]
    r = api_as(world.admin_b).get(f"/quotes/{quote['id']}")
    assert r.status_code == 404


def test_direct_refusal_is_explained_in_the_preview(api_as, world, catalogue, gold):
    r = api_as(world.admin_a).post("/quotes/price", {"lines": [{"sku": "WB-1000"}]})
    assert r.status_code == 200, r.body
    assert r.body["direct_allowed"] is False
    assert r.body["direct_message"].startswith(
        "Buy through an authorised distributor: Alpha Charging has no credit line"
    )


def test_refusals_name_the_field(api_as, world, catalogue, gold):
    from partnerhub.training.models import Certification

    client = api_as(world.admin_a)
    r = client.post("/quotes", {"lines": [{"sku": "WB-1000"}, {"sku": "WB-EU"}]})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "lines"]
    r = client.post("/quotes", {"lines": [{"sku": "WB-1000"}], "registration_id": 99999})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "registration"]
    cert = Certification.objects.create(key="ev-installer", name="EV Installer")
    catalogue["wallbox"].required_certification = cert
    catalogue["wallbox"].save()
    r = client.post("/quotes", {"lines": [{"sku": "WB-1000"}]})
    assert r.status_code == 403, r.body
    assert "'EV Installer' certification, required for WB-1000" in r.body["detail"][0]["msg"]
    r = api_as(world.program_admin).post("/quotes", {"lines": [{"sku": "WB-1000"}]})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "partner_id"]
    assert Quote.objects.count() == 0


def test_staff_keep_credit_lines_partners_read_their_own(api_as, world):
    world.partner_a.duns = "123456789"
    world.partner_a.save()
    url = f"/quotes/partners/{world.partner_a.pk}"
    body = {"limit": "25000.00", "currency": "EUR", "approved_on": "2025-06-01"}
    r = api_as(world.finance).post(f"{url}/credit-line", body)
    assert r.status_code == 200, r.body
    assert r.body["limit"] == "25000.00" and r.body["approved_by"] == "finance@vendor.test"
    assert api_as(world.manager).post(f"{url}/credit-line", body).status_code == 403
    r = api_as(world.admin_a).get(f"{url}/credit")
    assert r.status_code == 200, r.body
    assert r.body["credit_line"]["limit"] == "25000.00"
    assert (r.body["used"], r.body["available"]) == ("0.00", "25000.00")
    assert api_as(world.admin_b).get(f"{url}/credit").status_code == 404
    r = api_as(world.admin_b).get(f"/quotes/partners/{world.partner_b.pk}/credit")
    assert r.status_code == 200 and r.body["credit_line"] is None
    assert api_as(world.admin_a).delete(f"{url}/credit-line").status_code == 403
    assert api_as(world.viewer).delete(f"{url}/credit-line").status_code == 403
    assert api_as(world.program_admin).delete(f"{url}/credit-line").status_code == 204
    assert not CreditLine.objects.exists()


def test_credit_line_without_duns_is_refused(api_as, world):
    r = api_as(world.program_admin).post(
        f"/quotes/partners/{world.partner_b.pk}/credit-line", {"limit": "1000", "currency": "EUR"}
    )
    assert r.status_code == 400
    assert r.body["detail"][0]["loc"] == ["body", "duns"]
    assert not CreditLine.objects.exists()


def test_nfr_through_the_api(api_as, world, catalogue, gold):
    client = api_as(world.sales_a)
    r = client.post("/quotes/nfr", {"sku": "NFR-ST", "quantity": 2, "bundle": ["SUP-1", "CL-PRO"]})
    assert r.status_code == 201, r.body
    assert (r.body["price"], r.body["list_price"]) == ("2400.00", "2000.00")
    r = client.post("/quotes/nfr", {"sku": "NFR-ST", "bundle": ["SUP-1", "CL-PRO"]})
    assert r.status_code == 400
    assert r.body["detail"][0]["loc"] == ["body", "quantity"]
    assert "At most 2 NFR units per partner" in r.body["detail"][0]["msg"]
    assert len(client.get("/quotes/nfr").body["items"]) == 1
    assert api_as(world.admin_b).get("/quotes/nfr").body["items"] == []


def test_credit_lines_and_quotes_are_audited_with_events(api_as, world, catalogue, gold):
    from auditlog.models import LogEntry

    from partnerhub.core.models import Event

    world.partner_a.duns = "123456789"
    world.partner_a.save()
    r = api_as(world.finance).post(
        f"/quotes/partners/{world.partner_a.pk}/credit-line",
        {"limit": "5000", "currency": "USD"},
    )
    assert r.status_code == 200, r.body
    entry = LogEntry.objects.get(content_type__model="creditline")
    assert entry.actor == world.finance
    r = api_as(world.admin_a).post("/quotes", {"lines": [{"sku": "WB-1000"}]})
    assert r.status_code == 201, r.body
    assert LogEntry.objects.filter(content_type__model="quote").count() == 1
    names = list(Event.objects.order_by("id").values_list("name", flat=True))
    assert names[-2:] == ["credit_line.recorded", "quote.created"]


def test_staff_quote_for_a_partner_they_do_not_manage_is_404(api_as, world, catalogue):
    r = api_as(world.manager).post(
        "/quotes", {"partner_id": world.partner_b.pk, "lines": [{"sku": "WB-1000"}]}
    )
    assert r.status_code == 404
    r = api_as(world.finance).post(
        "/quotes", {"partner_id": world.partner_b.pk, "lines": [{"sku": "WB-1000"}]}
    )
    assert r.status_code == 403
    r = api_as(world.finance).post(
        "/quotes/price", {"partner_id": world.partner_b.pk, "lines": [{"sku": "WB-1000"}]}
    )
    assert r.status_code == 200 and r.body["total"] == "900.00"
