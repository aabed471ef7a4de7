"""Corporate billing: staff configure it per partner, partner admins mark their drivers and
set limits, and the CSMS authorises sessions against the monthly limit."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.charging import services
from partnerhub.charging.models import CorporateBilling, Driver
from partnerhub.core.errors import Conflict

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 3, 20, 12, tzinfo=dt.UTC)


@pytest.fixture
def billing(world):
    """Alpha offers corporate billing: 150.00 EUR per driver per month, 10 % discount."""
    return services.corporate_billing_set(
        partner=world.partner_a,
        enabled=True,
        currency="EUR",
        monthly_limit=Decimal("150.00"),
        discount_percent=Decimal("10"),
    )


@pytest.fixture
def driver(world, billing):
    return services.driver_create(
        partner=world.partner_a,
        data={"external_id": "DRV-ANNA", "name": "Anna", "corporate_billing": True},
    )


def test_staff_configure_corporate_billing(api_as, world):
    url = f"/charging/partners/{world.partner_a.pk}/corporate-billing"
    r = api_as(world.admin_a).get(url)
    assert r.status_code == 200
    assert r.body == {
        "partner_id": world.partner_a.pk,
        "enabled": False,
        "currency": None,
        "monthly_limit": None,
        "discount_percent": None,
    }
    body = {"currency": "EUR", "monthly_limit": "150", "discount_percent": "12.5"}
    assert api_as(world.admin_a).post(url, body).status_code == 403
    assert api_as(world.finance).post(url, body).status_code == 403
    r = api_as(world.manager).post(url, body)
    assert r.status_code == 200, r.body
    assert r.body == {
        "partner_id": world.partner_a.pk,
        "enabled": True,
        "currency": "EUR",
        "monthly_limit": "150.00",
        "discount_percent": "12.50",
    }
    billing = CorporateBilling.objects.get(partner=world.partner_a)
    assert billing.monthly_limit_minor == 15000


@pytest.mark.parametrize(
    "change,status,loc",
    [
        ({"monthly_limit": "-1"}, 422, ["body", "monthly_limit"]),
        ({"monthly_limit": "10.001"}, 400, ["body", "monthly_limit"]),
        ({"discount_percent": "100.5"}, 422, ["body", "discount_percent"]),
        ({"currency": "EURO"}, 422, ["body", "currency"]),
    ],
)
def test_bad_corporate_billing_names_the_field(api_as, world, change, status, loc):
    body = {"currency": "EUR", "monthly_limit": "150", **change}
    r = api_as(world.program_admin).post(
        f"/charging/partners/{world.partner_a.pk}/corporate-billing", body
    )
    assert r.status_code == status, r.body
    assert r.body["detail"][0]["loc"] == loc
    assert not CorporateBilling.objects.exists()


def test_partner_admins_mark_drivers_only_when_corporate_billing_is_enabled(
    api_as, world, contract_for
):
    contract_for(world.partner_a, can_create_users=True)
    client = api_as(world.admin_a)
    r = client.post("/charging/drivers", {"external_id": "DRV-1", "name": "Ben"})
    assert r.status_code == 201, r.body
    assert r.body["partner_id"] == world.partner_a.pk
    url = f"/charging/drivers/{r.body['id']}"
    r = client.patch(url, {"corporate_billing": True})
    assert r.status_code == 400, r.body
    assert r.body["detail"][0]["loc"] == ["body", "corporate_billing"]
    assert "no corporate billing enabled" in r.body["detail"][0]["msg"]
    services.corporate_billing_set(
        partner=world.partner_a, enabled=True, currency="EUR", monthly_limit="150"
    )
    r = client.patch(url, {"corporate_billing": True, "monthly_limit": "80.50"})
    assert r.status_code == 200, r.body
    assert (r.body["corporate_billing"], r.body["monthly_limit"], r.body["currency"]) == (
        True,
        "80.50",
        "EUR",
    )
    assert Driver.objects.get(external_id="DRV-1").monthly_limit_minor == 8050
    r = client.patch(url, {"monthly_limit": None})
    assert r.status_code == 200 and r.body["monthly_limit"] is None
    assert api_as(world.sales_a).patch(url, {"corporate_billing": False}).status_code == 403
    assert api_as(world.admin_b).patch(url, {"corporate_billing": False}).status_code == 404


def test_partner_admins_add_drivers_only_when_the_contract_allows(api_as, world, contract_for):
    r = api_as(world.admin_a).post("/charging/drivers", {"external_id": "DRV-1"})
    assert r.status_code == 403
    contract_for(world.partner_a, can_create_users=True)
    assert (
        api_as(world.admin_a).post("/charging/drivers", {"external_id": "DRV-1"}).status_code == 201
    )
    r = api_as(world.admin_a).post("/charging/drivers", {"external_id": "DRV-1"})
    assert r.status_code == 409 and r.body["detail"][0]["loc"] == ["body", "external_id"]


# --- authorisation --------------------------------------------------------------------------------


def test_authorisation_with_the_figures(world, site, driver, session_for):
    """Limit 150.00 EUR. In March Anna charged 60.00 + 55.50 = 115.50 EUR on corporate billing
    (a February session of 40.00 and a card session of 99.00 do not count): 34.50 left. An
    expected 30.00 is accepted; an expected 40.00 would pass the limit and is refused; a
    further 34.50 session reaches the limit, and then nothing more is authorised."""
    evse = site.ac.evses.get()
    session_for(evse, dt.datetime(2025, 3, 2, 9, tzinfo=dt.UTC), 6000, driver)
    session_for(evse, dt.datetime(2025, 3, 15, 9, tzinfo=dt.UTC), 5550, driver)
    session_for(evse, dt.datetime(2025, 2, 28, 23, tzinfo=dt.UTC), 4000, driver)
    session_for(evse, dt.datetime(2025, 3, 16, 9, tzinfo=dt.UTC), 9900, driver, corporate=False)

    ok = services.authorize_session(
        driver=driver, evse=evse, expected_amount=Decimal("30.00"), at=NOW
    )
    assert (ok.authorized, ok.corporate, ok.currency) == (True, True, "EUR")
    assert (ok.limit_minor, ok.month_to_date_minor, ok.remaining_minor) == (15000, 11550, 3450)
    assert ok.month == dt.date(2025, 3, 1)

    with pytest.raises(Conflict) as exc:
        services.authorize_session(
            driver=driver, evse=evse, expected_amount=Decimal("40.00"), at=NOW
        )
    assert exc.value.field == "expected_amount"
    assert exc.value.message == (
        "The expected 40.00 EUR would pass the corporate monthly limit of 150.00 EUR: "
        "115.50 EUR already used in March 2025, 34.50 EUR left."
    )

    session_for(evse, dt.datetime(2025, 3, 19, 9, tzinfo=dt.UTC), 3450, driver)
    with pytest.raises(Conflict) as exc:
        services.authorize_session(driver=driver, evse=evse, at=NOW)
    assert exc.value.message == (
        "Corporate monthly limit reached: 150.00 EUR of 150.00 EUR used in March 2025."
    )
    # A new month starts afresh.
    april = services.authorize_session(
        driver=driver, evse=evse, at=dt.datetime(2025, 4, 1, 0, 0, tzinfo=dt.UTC)
    )
    assert april.remaining_minor == 15000


def test_drivers_own_limit_overrides_the_partners(world, site, driver, session_for):
    driver.monthly_limit_minor = 5000
    driver.save()
    evse = site.ac.evses.get()
    session_for(evse, dt.datetime(2025, 3, 2, 9, tzinfo=dt.UTC), 4000, driver)
    result = services.authorize_session(driver=driver, evse=evse, at=NOW)
    assert (result.limit_minor, result.remaining_minor) == (5000, 1000)


def test_non_corporate_driver_pays_itself(world, site, billing):
    driver = services.driver_create(partner=world.partner_a, data={"external_id": "DRV-CARD"})
    result = services.authorize_session(driver=driver, evse=site.ac.evses.get(), at=NOW)
    assert (result.authorized, result.corporate, result.remaining_minor) == (True, False, None)
    billing.enabled = False
    billing.save()
    driver.corporate_billing = True
    driver.save()
    result = services.authorize_session(driver=driver, evse=site.ac.evses.get(), at=NOW)
    assert (result.authorized, result.corporate) == (True, False)


def test_authorise_through_the_api(api_as, world, site, driver, session_for):
    session_for(site.ac.evses.get(), dt.datetime.now(dt.UTC).replace(day=1, hour=0), 14000, driver)
    client = api_as(world.program_admin)
    body = {"driver_external_id": "DRV-ANNA", "evse_uid": "E-AC", "expected_amount": "5.00"}
    r = client.post("/charging/authorize", body)
    assert r.status_code == 200, r.body
    assert (r.body["limit"], r.body["month_to_date"], r.body["remaining"]) == (
        "150.00",
        "140.00",
        "10.00",
    )
    r = client.post("/charging/authorize", {**body, "expected_amount": "10.01"})
    assert r.status_code == 409, r.body
    assert r.body["detail"][0]["loc"] == ["body", "expected_amount"]
    assert r.body["detail"][0]["type"] == "corporate_limit_exceeded"
    assert "150.00 EUR" in r.body["detail"][0]["msg"] and "140.00 EUR" in r.body["detail"][0]["msg"]
    r = client.post("/charging/authorize", {**body, "driver_external_id": "NOPE"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "driver_external_id"]
    r = client.post("/charging/authorize", {**body, "evse_uid": "NOPE"})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "evse_uid"]
    assert api_as(world.admin_a).post("/charging/authorize", body).status_code == 403


def test_a_faulted_charge_point_is_not_authorised(world, site, driver):
    services.charge_point_report_status(charge_point=site.ac, status="faulted")
    with pytest.raises(Conflict) as exc:
        services.authorize_session(driver=driver, evse=site.ac.evses.get(), at=NOW)
    assert exc.value.field == "evse_uid"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(min_value=0, max_value=100_000_00),
    spent=st.lists(st.integers(min_value=0, max_value=500_00), max_size=6),
    expected=st.integers(min_value=0, max_value=200_00),
)
def test_authorisation_accepts_exactly_what_fits_under_the_limit(
    world, site, session_for, limit, spent, expected
):
    """Accepted iff month-to-date + expected <= limit and month-to-date < limit; the remaining
    allowance is limit - month-to-date, to the cent."""
    from partnerhub.charging.models import ChargingSession

    ChargingSession.objects.all().delete()
    Driver.objects.all().delete()
    services.corporate_billing_set(
        partner=world.partner_a,
        enabled=True,
        currency="EUR",
        monthly_limit=Decimal(limit) / 100,
    )
    driver = services.driver_create(
        partner=world.partner_a, data={"external_id": "DRV-P", "corporate_billing": True}
    )
    evse = site.ac.evses.get()
    for i, amount in enumerate(spent):
        session_for(evse, dt.datetime(2025, 3, 1 + i, 9, tzinfo=dt.UTC), amount, driver)
    total = sum(spent)
    try:
        result = services.authorize_session(
            driver=driver, evse=evse, expected_amount=Decimal(expected) / 100, at=NOW
        )
    except Conflict:
        assert total >= limit or total + expected > limit
    else:
        assert total < limit and total + expected <= limit
        assert result.remaining_minor == limit - total
        assert result.month_to_date_minor == total
