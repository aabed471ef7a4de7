"""The portal's site-host pages: charge points, tariffs (editable only with the contract
option), corporate-billing drivers and their limits, the running month and the statements.

Given partner A hosting an AC and a DC charge point in Berlin (contract: 50 % AC, 40 % DC,
tariffs managed by the partner) and partner B hosting one in Lyon (contract without the
option), each page shows A's figures to A's users, another partner's objects answer 404, and
list pages take a number of queries that does not grow with the list."""

from __future__ import annotations

import datetime as dt
import html
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def this_month() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date().replace(day=1)


def last_month() -> dt.date:
    return (this_month() - dt.timedelta(days=1)).replace(day=1)


def ocpi_tariff(tariff_id: str, *, energy="0.25", flat=None, restrictions=None) -> dict:
    components = [{"type": "ENERGY", "price": energy, "vat": 19, "step_size": 1}]
    if flat is not None:
        components.insert(0, {"type": "FLAT", "price": flat, "vat": 19, "step_size": 1})
    element = {"price_components": components}
    if restrictions:
        element["restrictions"] = restrictions
    return {
        "country_code": "DE",
        "party_id": "ALL",
        "id": tariff_id,
        "currency": "EUR",
        "elements": [element],
        "last_updated": "2025-01-01T00:00:00Z",
    }


def evse(uid: str, current_type: str = "AC", power: str = "22") -> dict:
    standard = "IEC_62196_T2" if current_type == "AC" else "IEC_62196_T2_COMBO"
    return {
        "uid": uid,
        "evse_id": f"DE*ACM*E{uid}",
        "current_type": current_type,
        "max_power_kw": power,
        "connectors": [{"connector_id": "1", "standard": standard, "format": "SOCKET"}],
    }


_cdr = iter(range(1, 10**6))


def make_session(evse_obj, start, *, excl_minor=1000, kwh=10, driver=None, flagged=False):
    from partnerhub.charging.models import ChargingSession

    cp = evse_obj.charge_point
    corporate = driver is not None and driver.corporate_billing
    return ChargingSession.objects.create(
        cdr_id=f"CDR-P-{next(_cdr)}",
        evse=evse_obj,
        charge_point=cp,
        location=cp.location,
        partner=cp.partner,
        current_type=evse_obj.current_type,
        start=start,
        end=start + dt.timedelta(hours=1),
        energy_wh=kwh * 1000,
        charging_seconds=3600,
        currency="EUR",
        energy_cost_minor=excl_minor,
        total_excl_vat_minor=excl_minor,
        total_incl_vat_minor=round(excl_minor * Decimal("1.19")),
        payment_method="corporate" if corporate else "card",
        driver=driver,
        corporate_partner=driver.partner if corporate else None,
        flagged=flagged,
        flag_reason="energy above the EVSE's maximum" if flagged else "",
    )


@pytest.fixture
def site(world):
    """A: Berlin (CP-AC 22 kW AC, CP-DC 150 kW DC) since 2025-01-01, contract with tariffs;
    B: Lyon (CP-FR), contract without. Tariffs: A's own T-A, B's own T-B, the operator's T-OP
    on CP-AC. A's corporate billing: 100.00 EUR a month, drivers D-1 (own 50.00) and D-2."""
    from partnerhub.charging import services
    from partnerhub.settlements.services import contract_create

    berlin = services.location_create(
        data={
            "ocpi_id": "LOC-BER",
            "name": "Alpha Depot",
            "address": "Hafenweg 1",
            "city": "Berlin",
            "country": "DE",
            "time_zone": "Europe/Berlin",
        }
    )
    lyon = services.location_create(
        data={
            "ocpi_id": "LOC-LYS",
            "name": "Beta Parking",
            "address": "1 rue de la Paix",
            "city": "Lyon",
            "country": "FR",
            "time_zone": "Europe/Paris",
        }
    )
    start = dt.date(2025, 1, 1)
    ac = services.charge_point_create(
        location=berlin,
        data={"identity": "CP-AC", "evses": [evse("E-AC")]},
        partner=world.partner_a,
        hosted_from=start,
    )
    dc = services.charge_point_create(
        location=berlin,
        data={"identity": "CP-DC", "evses": [evse("E-DC", "DC", "150")]},
        partner=world.partner_a,
        hosted_from=start,
    )
    fr = services.charge_point_create(
        location=lyon,
        data={"identity": "CP-FR", "evses": [evse("E-FR")]},
        partner=world.partner_b,
        hosted_from=start,
    )
    terms = {
        "currency": "EUR",
        "start_month": "2025-01",
        "end_month": "2099-12",
        "ac_share_percent": "50",
        "dc_share_percent": "40",
    }
    contract_a = contract_create(
        partner=world.partner_a,
        data={**terms, "name": "Alpha site contract", "can_manage_tariffs": True},
    )
    contract_b = contract_create(partner=world.partner_b, data={**terms, "name": "Beta contract"})
    tariff_a = services.tariff_create(
        data=ocpi_tariff("T-A", energy="0.39", flat="1.00"), partner=world.partner_a, name="Alpha"
    )
    tariff_b = services.tariff_create(data=ocpi_tariff("T-B"), partner=world.partner_b, name="Beta")
    tariff_op = services.tariff_create(
        data=ocpi_tariff(
            "T-OP",
            energy="0.45",
            restrictions={"start_time": "08:00", "end_time": "18:00", "day_of_week": ["MONDAY"]},
        ),
        name="Operator daytime",
    )
    services.assignment_create(tariff=tariff_op, target=ac, valid_from=utc(2025, 1, 1))
    services.corporate_billing_set(
        partner=world.partner_a, enabled=True, currency="EUR", monthly_limit="100.00"
    )
    d1 = services.driver_create(
        partner=world.partner_a,
        data={
            "external_id": "D-1",
            "name": "Dana Fleet",
            "corporate_billing": True,
            "monthly_limit": "50.00",
        },
    )
    d2 = services.driver_create(
        partner=world.partner_a,
        data={"external_id": "D-2", "name": "Eli Van", "corporate_billing": True},
    )
    db = services.driver_create(partner=world.partner_b, data={"external_id": "D-B"})
    return SimpleNamespace(
        berlin=berlin,
        lyon=lyon,
        ac=ac,
        dc=dc,
        fr=fr,
        e_ac=ac.evses.get(),
        e_dc=dc.evses.get(),
        e_fr=fr.evses.get(),
        contract_a=contract_a,
        contract_b=contract_b,
        tariff_a=tariff_a,
        tariff_b=tariff_b,
        tariff_op=tariff_op,
        d1=d1,
        d2=d2,
        db=db,
    )


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def statements(site, world):
    """Last month: A's AC sessions of 10.00 + 20.00 EUR and a DC one of 40.00 EUR, B's AC one of
    8.00 EUR; settled and finalised. This month: A's AC session of 12.34 EUR (draft run)."""
    from partnerhub.settlements import services
    from partnerhub.settlements.models import Statement

    lm = last_month()
    day = dt.datetime.combine(lm + dt.timedelta(days=2), dt.time(10), tzinfo=dt.UTC)
    make_session(site.e_ac, day, excl_minor=1000)
    make_session(site.e_ac, day + dt.timedelta(days=1), excl_minor=2000)
    make_session(site.e_dc, day + dt.timedelta(days=2), excl_minor=4000, kwh=40)
    make_session(site.e_fr, day, excl_minor=800)
    services.settlement_run(month=lm, finalise=True)
    now = timezone.now()
    make_session(site.e_ac, now - dt.timedelta(minutes=90), excl_minor=1234)
    services.settlement_run(month=this_month())
    return SimpleNamespace(
        a_last=Statement.objects.get(partner=world.partner_a, month=lm),
        b_last=Statement.objects.get(partner=world.partner_b, month=lm),
        a_now=Statement.objects.get(partner=world.partner_a, month=this_month()),
    )


SITE_PAGES = [
    "portal:site",
    "portal:site-tariffs",
    "portal:site-drivers",
    "portal:site-month",
    "portal:site-statements",
]


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SITE_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", SITE_PAGES)
def test_staff_are_sent_to_the_console(as_user, world, name):
    response = as_user(world.program_admin).get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")


def test_site_host_entries_are_in_the_nav_of_hosts_only(as_user, world, site):
    home = text(as_user(world.admin_a).get(reverse("portal:home")))
    assert reverse("portal:site") in home and reverse("portal:site-month") in home
    # The operator's admin: its organisation hosts nothing and has no contract.
    home = text(as_user(world.operator_admin).get(reverse("portal:home")))
    assert reverse("portal:site") not in home


# --- site overview -----------------------------------------------------------------------------


def test_overview_shows_own_charge_points_evses_and_hosting(as_user, world, site):
    page = text(as_user(world.sales_a).get(reverse("portal:site")))
    assert "Alpha Depot" in page and "CP-AC" in page and "CP-DC" in page
    assert "E-AC" in page and "150 kW" in page and "CCS (Type 2 Combo)" in page
    assert "Alpha site contract" in page and "50 % / 40 %" in page
    assert "Manage tariffs and tariff groups" in page
    # Partner B's site is nowhere.
    assert "Beta Parking" not in page and "CP-FR" not in page


def test_overview_marks_a_faulted_charge_point(as_user, world, site):
    from partnerhub.charging.models import ChargePoint

    ChargePoint.objects.filter(pk=site.dc.pk).update(status="faulted")
    page = text(as_user(world.admin_a).get(reverse("portal:site")))
    assert '<span class="badge bad">Faulted</span>' in page


def test_overview_queries_do_not_grow_with_charge_points(
    as_user, world, site, django_assert_max_num_queries
):
    from partnerhub.charging import services

    client = as_user(world.admin_a)
    with django_assert_max_num_queries(30) as small:
        assert client.get(reverse("portal:site")).status_code == 200
    for i in range(12):
        services.charge_point_create(
            location=site.berlin,
            data={"identity": f"CP-X{i}", "evses": [evse(f"E-X{i}"), evse(f"E-Y{i}", "DC")]},
            partner=world.partner_a,
            hosted_from=dt.date(2025, 1, 1),
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "CP-X11" in text(client.get(reverse("portal:site")))


# --- tariffs -----------------------------------------------------------------------------------


def test_tariffs_are_shown_in_words(as_user, world, site):
    page = text(as_user(world.admin_a).get(reverse("portal:site-tariffs")))
    assert "Alpha" in page and "T-A" in page
    assert "0.39 EUR per kWh" in page and "1.00 EUR per session" in page and "19 % VAT" in page
    # The operator's tariff on CP-AC, with its restrictions; not B's own tariff.
    assert "Operator daytime" in page and "0.45 EUR per kWh" in page
    assert "from 08:00 to 18:00" in page and "Monday" in page
    assert "T-B" not in page


def test_another_partners_tariff_is_404(as_user, world, site):
    client = as_user(world.admin_a)
    assert client.get(reverse("portal:site-tariff", args=[site.tariff_b.pk])).status_code == 404
    body = {"name": "x", "ocpi": json.dumps(ocpi_tariff("T-B", energy="0.01"))}
    assert (
        client.post(reverse("portal:site-tariff", args=[site.tariff_b.pk]), body).status_code == 404
    )
    prices = {"editor": "prices", "prices-energy": "0.01"}
    url = reverse("portal:site-tariff", args=[site.tariff_b.pk])
    assert client.post(url, prices).status_code == 404
    site.tariff_b.refresh_from_db()
    assert site.tariff_b.ocpi["elements"][0]["price_components"][0]["price"] == 0.25


def test_partner_admin_edits_a_tariff_when_the_contract_allows(as_user, world, site):
    client = as_user(world.admin_a)
    url = reverse("portal:site-tariff", args=[site.tariff_a.pk])
    page = text(client.get(url))
    assert "Save tariff" in page
    response = client.post(
        url, {"name": "Alpha night", "ocpi": json.dumps(ocpi_tariff("T-A", energy="0.29"))}
    )
    assert response.status_code == 302
    site.tariff_a.refresh_from_db()
    assert site.tariff_a.name == "Alpha night"
    assert Decimal(str(site.tariff_a.ocpi["elements"][0]["price_components"][0]["price"])) == (
        Decimal("0.29")
    )
    assert "0.29 EUR per kWh" in text(client.get(url))


def test_invalid_tariff_shows_every_problem_and_changes_nothing(as_user, world, site):
    client = as_user(world.admin_a)
    url = reverse("portal:site-tariff", args=[site.tariff_a.pk])
    bad = ocpi_tariff("T-A", energy="-1")
    response = client.post(url, {"name": "Alpha", "ocpi": json.dumps(bad)})
    assert response.status_code == 200
    page = text(response)
    assert "The tariff does not validate" in page
    assert "elements.0.price_components.0.price" in page
    response = client.post(url, {"name": "Alpha", "ocpi": "{not json"})
    assert "This is not valid JSON" in text(response)
    response = client.post(url, {"name": "Alpha", "ocpi": json.dumps(ocpi_tariff("T-OTHER"))})
    assert "cannot change to T-OTHER" in text(response)
    site.tariff_a.refresh_from_db()
    assert site.tariff_a.ocpi["elements"][0]["price_components"][1]["price"] == 0.39


def test_partner_admin_changes_prices_without_writing_json(as_user, world, site):
    """T-A is one price per item all day (a 1.00 EUR start fee and 0.39 EUR per kWh, 19 %
    VAT): the page offers those prices as fields, and saving them writes the OCPI tariff."""
    client = as_user(world.admin_a)
    url = reverse("portal:site-tariff", args=[site.tariff_a.pk])
    page = client.get(url)
    prices = page.context["prices_form"]
    assert (prices["energy"].value(), prices["flat"].value(), prices["vat"].value()) == (
        Decimal("0.39"),
        Decimal("1.00"),
        Decimal("19"),
    )
    body = {
        "editor": "prices",
        "prices-name": "Alpha 2027",
        "prices-energy": "0.35",
        "prices-parking": "2.40",
        "prices-flat": "",
        "prices-time": "",
        "prices-vat": "19",
    }
    response = client.post(url, body)
    assert response.status_code == 302, text(response)
    site.tariff_a.refresh_from_db()
    assert site.tariff_a.name == "Alpha 2027"
    components = site.tariff_a.ocpi["elements"][0]["price_components"]
    assert [(c["type"], Decimal(str(c["price"])), c["vat"]) for c in components] == [
        ("ENERGY", Decimal("0.35"), 19),
        ("PARKING_TIME", Decimal("2.40"), 19),
    ]
    page = text(client.get(url))
    assert "0.35 EUR per kWh" in page and "1.00 EUR per session" not in page


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"prices-energy": "", "prices-flat": ""}, None, "Give at least one price."),
        ({"prices-energy": "-0.10"}, "energy", "greater than or equal to 0"),
        ({"prices-energy": "0,35"}, "energy", "Enter a number."),
        ({"prices-vat": "120"}, "vat", "less than or equal to 100"),
    ],
)
def test_wrong_prices_are_shown_at_their_field(as_user, world, site, change, field, message):
    client = as_user(world.admin_a)
    url = reverse("portal:site-tariff", args=[site.tariff_a.pk])
    body = {"editor": "prices", "prices-name": "Alpha", "prices-energy": "0.30",
            "prices-flat": "1.00", "prices-vat": "19", **change}  # fmt: skip
    response = client.post(url, body)
    assert response.status_code == 200
    errors = response.context["prices_form"].errors.get(field or "__all__")
    assert errors and message in " ".join(errors)
    site.tariff_a.refresh_from_db()
    assert site.tariff_a.ocpi["elements"][0]["price_components"][1]["price"] == 0.39


def test_a_tariff_with_restrictions_is_changed_as_json_only(as_user, world, site):
    client = as_user(world.admin_a)
    url = reverse("portal:site-tariff", args=[site.tariff_a.pk])
    night = ocpi_tariff(
        "T-A", energy="0.20", restrictions={"start_time": "22:00", "end_time": "06:00"}
    )
    assert client.post(url, {"name": "Alpha", "ocpi": json.dumps(night)}).status_code == 302
    response = client.get(url)
    assert response.context["prices_form"] is None and response.context["json_open"]
    assert "change it as an OCPI Tariff below" in text(response)
    response = client.post(url, {"editor": "prices", "prices-energy": "0.30"})
    assert "change it as OCPI JSON" in text(response)
    site.tariff_a.refresh_from_db()
    assert site.tariff_a.ocpi["elements"][0]["restrictions"]["start_time"] == "22:00"


def test_tariffs_are_read_only_without_the_contract_option(as_user, world, site):
    client = as_user(world.admin_b)
    url = reverse("portal:site-tariff", args=[site.tariff_b.pk])
    page = text(client.get(url))
    assert "Save tariff" not in page
    assert "does not include managing tariffs" in page
    body = {"name": "x", "ocpi": json.dumps(ocpi_tariff("T-B", energy="0.01"))}
    assert client.post(url, body).status_code == 403
    site.tariff_b.refresh_from_db()
    assert site.tariff_b.name == "Beta"


def test_sales_users_and_operator_tariffs_are_read_only(as_user, world, site):
    client = as_user(world.sales_a)
    page = text(client.get(reverse("portal:site-tariff", args=[site.tariff_a.pk])))
    assert "Only your organisation's admins change its tariffs." in page
    client = as_user(world.admin_a)
    page = text(client.get(reverse("portal:site-tariff", args=[site.tariff_op.pk])))
    assert "the operator's own tariff" in page and "Save tariff" not in page
    assert "Charge point CP-AC" in page


# --- corporate billing -------------------------------------------------------------------------


def test_drivers_show_limits_and_month_to_date_use(as_user, world, site):
    # D-1: 30.00 EUR excl. → 35.70 EUR incl. VAT this month against its own 50.00 EUR limit.
    make_session(site.e_ac, timezone.now() - dt.timedelta(hours=2), excl_minor=3000, driver=site.d1)
    page = text(as_user(world.admin_a).get(reverse("portal:site-drivers")))
    assert "100.00 EUR" in page  # the default
    assert "50.00 EUR" in page and "35.70 EUR" in page and "14.30 EUR" in page
    assert "Dana Fleet" in page and "Eli Van" in page
    assert "D-B" not in page


def test_a_driver_past_the_limit_shows_by_how_much(as_user, world, site):
    # D-1 (50.00 EUR limit): two imported sessions of 30.00 excl. = 71.40 incl. VAT, flagged.
    for hours in (3, 2):
        make_session(
            site.e_ac,
            timezone.now() - dt.timedelta(hours=hours),
            excl_minor=3000,
            driver=site.d1,
            flagged=True,
        )
    page = text(as_user(world.admin_a).get(reverse("portal:site-drivers")))
    assert "71.40 EUR" in page and "21.40 EUR over the limit" in page
    assert "billed to you all the same and flagged" in page


def test_partner_admin_changes_a_driver_limit(as_user, world, site):
    client = as_user(world.admin_a)
    url = reverse("portal:site-driver-update", args=[site.d2.pk])
    prefix = f"driver-{site.d2.pk}"
    response = client.post(
        url, {f"{prefix}-corporate_billing": "on", f"{prefix}-monthly_limit": "75.50"}
    )
    assert response.status_code == 302
    site.d2.refresh_from_db()
    assert site.d2.monthly_limit_minor == 7550 and site.d2.corporate_billing
    # Empty: back to the company's default.
    client.post(url, {f"{prefix}-corporate_billing": "on", f"{prefix}-monthly_limit": ""})
    site.d2.refresh_from_db()
    assert site.d2.monthly_limit_minor is None


def test_invalid_driver_limit_is_shown_at_the_row(as_user, world, site):
    client = as_user(world.admin_a)
    prefix = f"driver-{site.d1.pk}"
    response = client.post(
        reverse("portal:site-driver-update", args=[site.d1.pk]),
        {f"{prefix}-corporate_billing": "on", f"{prefix}-monthly_limit": "-5"},
    )
    assert response.status_code == 200
    assert f'id="driver-{site.d1.pk}-error"' in text(response)
    site.d1.refresh_from_db()
    assert site.d1.monthly_limit_minor == 5000


def test_only_partner_admins_change_limits_and_only_their_own(as_user, world, site):
    prefix = f"driver-{site.d1.pk}"
    body = {f"{prefix}-corporate_billing": "on", f"{prefix}-monthly_limit": "1.00"}
    url = reverse("portal:site-driver-update", args=[site.d1.pk])
    assert as_user(world.sales_a).post(url, body).status_code == 403
    assert as_user(world.admin_b).post(url, body).status_code == 404
    site.d1.refresh_from_db()
    assert site.d1.monthly_limit_minor == 5000
    page = text(as_user(world.sales_a).get(reverse("portal:site-drivers")))
    assert "Your organisation's admins change limits." in page


def test_drivers_page_queries_do_not_grow(as_user, world, site, django_assert_max_num_queries):
    from partnerhub.charging import services

    client = as_user(world.admin_a)
    with django_assert_max_num_queries(30) as small:
        client.get(reverse("portal:site-drivers"))
    for i in range(15):
        d = services.driver_create(
            partner=world.partner_a, data={"external_id": f"D-X{i}", "corporate_billing": True}
        )
        make_session(site.e_ac, timezone.now() - dt.timedelta(hours=1), driver=d)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "D-X14" in text(client.get(reverse("portal:site-drivers")))


# --- running month and statements --------------------------------------------------------------


def test_running_month_shows_live_figures_and_the_draft(as_user, world, site, statements):
    make_session(site.e_dc, timezone.now() - dt.timedelta(minutes=30), excl_minor=500, flagged=True)
    page = text(as_user(world.sales_a).get(reverse("portal:site-month")))
    # Live: AC 1 session 12.34 EUR; DC 1 session 5.00 EUR, flagged.
    assert "12.34 EUR" in page and "5.00 EUR" in page
    assert '<span class="badge warn">1</span>' in page
    assert "<svg" in page  # revenue per day
    # Computed now: AC 50 % of 12.34 = 6.17 EUR, DC 40 % of 5.00 = 2.00 EUR: 8.17 EUR.
    assert "6.17 EUR" in page and "8.17 EUR" in page
    assert "8.00 EUR" not in page  # B's figures


def test_statement_list_and_detail(as_user, world, statements):
    client = as_user(world.admin_a)
    page = text(client.get(reverse("portal:site-statements")))
    st = statements.a_last
    assert st.number in page and "Final" in page
    assert statements.b_last.number not in page
    detail = text(client.get(reverse("portal:site-statement", args=[st.pk])))
    # Revenue 10.00 + 20.00 (AC, 50 %) + 40.00 (DC, 40 %): share 15.00 + 16.00 = 31.00 EUR.
    assert "70.00 EUR" in detail and "31.00 EUR" in detail
    assert "Revenue share (AC)" in detail and "Revenue share (DC)" in detail
    assert "CP-AC" in detail and "CP-DC" in detail
    assert "Open balance" in detail and "31.00 EUR still to be paid to you" in detail
    assert "Net: payable to you" in detail and "Your share" in detail
    assert reverse("portal:site-statement-pdf", args=[st.pk]) in detail


def test_another_partners_statement_is_404(as_user, world, statements):
    client = as_user(world.admin_a)
    for name in (
        "portal:site-statement",
        "portal:site-statement-pdf",
        "portal:site-statement-csv",
        "portal:site-statement-sessions-csv",
    ):
        assert client.get(reverse(name, args=[statements.b_last.pk])).status_code == 404
    assert client.get(reverse("portal:site-statement", args=[10**18])).status_code == 404


def test_statement_detail_shows_payments_and_the_open_balance(as_user, world, statements):
    from partnerhub.settlements.services import payment_record

    st = statements.a_last
    payment_record(statement=st, direction="made", paid_on="2026-01-05", amount="30.00")
    detail = text(as_user(world.admin_a).get(reverse("portal:site-statement", args=[st.pk])))
    assert "30.00 EUR" in detail and "1.00 EUR still to be paid to you" in detail


def test_statement_detail_queries_do_not_grow(
    as_user, world, site, statements, django_assert_max_num_queries
):
    client = as_user(world.admin_a)
    url = reverse("portal:site-statement", args=[statements.a_now.pk])
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    for i in range(20):
        make_session(site.e_dc, timezone.now() - dt.timedelta(minutes=i + 1), excl_minor=100 + i)
    from partnerhub.settlements import services
    from partnerhub.settlements.models import Statement

    services.settlement_run(month=this_month())  # drafts are made anew
    draft = Statement.objects.get(partner=world.partner_a, month=this_month())
    assert draft.sessions == 21
    url = reverse("portal:site-statement", args=[draft.pk])
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = text(client.get(url))
    assert "21 lines: one per session" in page and "Page 1 of 1" not in page


def test_statement_downloads(as_user, world, statements):
    client = as_user(world.admin_a)
    st = statements.a_last
    response = client.get(reverse("portal:site-statement-csv", args=[st.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="{st.number}.csv"' in response["Content-Disposition"]
    assert "31.00" in response.content.decode()
    response = client.get(reverse("portal:site-statement-sessions-csv", args=[st.pk]))
    rows = b"".join(response.streaming_content).decode().strip().splitlines()
    assert len(rows) == 1 + 3  # the header and A's three sessions of the month
    response = client.get(reverse("portal:site-statement-pdf", args=[st.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_a_sub_operator_sees_its_childrens_statements_not_the_reverse(as_user, world, site):
    from partnerhub.settlements import services
    from partnerhub.settlements.models import Statement

    terms = {"start_month": "2025-01", "end_month": "2099-12", "ac_share_percent": "30"}
    for partner in (world.operator, world.child_1):
        services.contract_create(
            partner=partner, data={**terms, "name": "Sub", "dc_share_percent": "30"}
        )
    services.settlement_run(month=last_month())
    parent = Statement.objects.get(partner=world.operator, month=last_month())
    child = Statement.objects.get(partner=world.child_1, month=last_month())

    def status(user, statement):
        url = reverse("portal:site-statement", args=[statement.pk])
        return as_user(user).get(url).status_code

    assert status(world.operator_admin, child) == 200
    assert status(world.operator_admin, parent) == 200
    assert status(world.child_1_admin, child) == 200
    assert status(world.child_1_admin, parent) == 404
    assert status(world.admin_a, child) == 404 and status(world.admin_a, parent) == 404


# --- receipts of the partner's drivers ---------------------------------------------------------


@pytest.fixture
def receipts(site, world):
    """Last month: A's driver Dana (D-1) charged at A's CP-AC (A appears as supplier on
    receipts) and at B's CP-FR (the operator supplies); B's driver D-B charged at A's site."""
    from partnerhub.settlements.models import Contract

    Contract.objects.filter(pk=site.contract_a.pk).update(supplier_on_receipts=True)
    day = dt.datetime.combine(last_month() + dt.timedelta(days=2), dt.time(10), tzinfo=dt.UTC)
    make_session(site.e_ac, day, excl_minor=1000, driver=site.d1)
    make_session(site.e_ac, day + dt.timedelta(hours=3), excl_minor=500, driver=site.d1)
    make_session(site.e_fr, day, excl_minor=800, driver=site.d1)
    make_session(site.e_ac, day, excl_minor=700, driver=site.db)
    return f"{last_month():%Y-%m}"


def test_receipts_list_own_drivers_per_supplier_with_pdf(as_user, world, site, receipts):
    from partnerhub.settlements import selectors as settlement_selectors

    client = as_user(world.admin_a)
    url = reverse("portal:site-receipts")
    response = client.get(url, {"month": receipts})
    assert response.status_code == 200
    # The menu shows where the page belongs (the receipts have no entry of their own).
    assert 'aria-current="page">Corporate billing</a>' in response.content.decode()
    page, issued = text(response).split("Receipts issued in your name", 1)
    assert "Dana Fleet" in page and "D-B" not in page  # its own drivers' receipts
    assert "Alpha Charging GmbH" in page  # A supplies its own site's sessions...
    operator = settlement_selectors.operator_identity()["name"]
    assert page.count(operator) == 1  # ...the operator the sessions at B's site
    assert "17.85 EUR" in page  # 10.00 + 5.00 excl. VAT, 11.90 + 5.95 incl.
    assert "9.52 EUR" in page  # 8.00 at B's site, 9.52 incl.
    pdf = client.get(
        reverse("portal:site-receipt-pdf", args=[site.d1.pk]),
        {"month": receipts, "supplier": str(world.partner_a.pk), "currency": "EUR"},
    )
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    pdf = client.get(
        reverse("portal:site-receipt-pdf", args=[site.d1.pk]),
        {"month": receipts, "supplier": "operator", "currency": "EUR"},
    )
    assert pdf.status_code == 200
    # No such receipt (no session in that currency): 404.
    missing = client.get(
        reverse("portal:site-receipt-pdf", args=[site.d1.pk]),
        {"month": receipts, "supplier": "operator", "currency": "CHF"},
    )
    assert missing.status_code == 404
    # Another month: none.
    assert "No receipts this month" in text(client.get(url, {"month": "2020-01"}))
    # A bad month is named on the page.
    assert "YYYY-MM" in text(client.get(url, {"month": "2026-13"}))


def test_receipts_issued_in_the_hosts_name_for_every_driver_at_its_site(
    as_user, world, site, receipts
):
    """A is supplier on receipts: its page lists the receipts issued in its name, to its own
    driver D-1 (10.00 + 5.00 excl. VAT at CP-AC) and to B's driver D-B (7.00), with totals,
    each as PDF; not D-1's session at B's site (the operator supplies it). B, not supplier
    for anything, has none and cannot download A's."""
    client = as_user(world.admin_a)
    page = text(client.get(reverse("portal:site-receipts"), {"month": receipts}))
    issued = page.split("Receipts issued in your name", 1)[1]
    assert "2 receipts issued in your name" in issued
    assert "D-1" in issued and "D-B" in issued and "Dana Fleet" not in issued
    assert "17.85 EUR" in issued and "8.33 EUR" in issued  # incl. VAT
    assert "Total in EUR" in issued and "22.00 EUR" in issued and "26.18 EUR" in issued
    assert "9.52 EUR" not in issued  # D-1 at B's site: the operator's receipt
    url = reverse("portal:site-issued-receipt-pdf", args=[site.db.pk])
    pdf = client.get(url, {"month": receipts, "currency": "EUR"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(url, {"month": receipts, "currency": "CHF"}).status_code == 404
    b = as_user(world.admin_b)
    assert b.get(url, {"month": receipts, "currency": "EUR"}).status_code == 404
    page = text(b.get(reverse("portal:site-receipts"), {"month": receipts}))
    assert "No receipt was issued in your name this month." in page


def test_no_receipts_in_the_hosts_name_without_the_contract_option(as_user, world, site, receipts):
    from partnerhub.settlements.models import Contract

    Contract.objects.filter(pk=site.contract_a.pk).update(supplier_on_receipts=False)
    page = text(as_user(world.admin_a).get(reverse("portal:site-receipts"), {"month": receipts}))
    assert "No receipt was issued in your name this month." in page


def test_another_partners_driver_receipt_is_404(as_user, world, site, receipts):
    query = {"month": receipts, "supplier": str(world.partner_a.pk), "currency": "EUR"}
    # B's user asks for A's driver's receipt; A's user for B's driver's (supplied by A!).
    b = as_user(world.admin_b)
    assert b.get(reverse("portal:site-receipt-pdf", args=[site.d1.pk]), query).status_code == 404
    assert "Dana Fleet" not in text(b.get(reverse("portal:site-receipts"), {"month": receipts}))
    a = as_user(world.admin_a)
    assert a.get(reverse("portal:site-receipt-pdf", args=[site.db.pk]), query).status_code == 404


def test_receipts_page_queries_do_not_grow(
    as_user, world, site, receipts, django_assert_max_num_queries
):
    from partnerhub.charging import services

    client = as_user(world.admin_a)
    url = reverse("portal:site-receipts")
    with django_assert_max_num_queries(30) as small:
        client.get(url, {"month": receipts})
    day = dt.datetime.combine(last_month() + dt.timedelta(days=5), dt.time(9), tzinfo=dt.UTC)
    for i in range(15):
        d = services.driver_create(
            partner=world.partner_a, data={"external_id": f"D-R{i}", "corporate_billing": True}
        )
        make_session(site.e_ac, day, driver=d)
        make_session(site.e_fr, day, driver=d)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "D-R14" in text(client.get(url, {"month": receipts}))
