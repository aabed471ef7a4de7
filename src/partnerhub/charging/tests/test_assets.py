"""Locations, charge points with EVSEs and connectors, and the hosting history."""

import datetime as dt

import pytest

from partnerhub.charging import selectors, services
from partnerhub.charging.models import ChargePoint, ChargePointHosting, Location
from partnerhub.charging.tests.conftest import evse_body
from partnerhub.core.errors import Conflict, ServiceError
from partnerhub.core.models import Event

pytestmark = pytest.mark.django_db


def test_staff_create_a_location_with_electricity_prices(api_as, world):
    r = api_as(world.manager).post(
        "/charging/locations",
        {
            "ocpi_id": "LOC-HAM",
            "name": "Hamburg Hub",
            "address": "Kai 3",
            "city": "Hamburg",
            "country": "de",
            "latitude": "53.551086",
            "longitude": "9.993682",
            "time_zone": "Europe/Berlin",
            "electricity_prices": [
                {"valid_from": "2025-07-01", "price_per_kwh": "0.31", "currency": "EUR"},
                {"valid_from": "2025-01-01", "price_per_kwh": "0.285", "currency": "EUR"},
            ],
        },
    )
    assert r.status_code == 201, r.body
    assert r.body["country"] == "DE"
    assert r.body["latitude"] == "53.551086"
    assert [(p["valid_from"], p["price_per_kwh"]) for p in r.body["electricity_prices"]] == [
        ("2025-01-01", "0.285000"),
        ("2025-07-01", "0.310000"),
    ]
    location = Location.objects.get(ocpi_id="LOC-HAM")
    assert str(selectors.electricity_price_on(location.pk, dt.date(2025, 6, 30)).price_per_kwh) == (
        "0.285000"
    )
    assert str(selectors.electricity_price_on(location.pk, dt.date(2025, 7, 1)).price_per_kwh) == (
        "0.310000"
    )
    assert selectors.electricity_price_on(location.pk, dt.date(2024, 12, 31)) is None


@pytest.mark.parametrize(
    "change,status,loc,needle",
    [
        (
            {
                "electricity_prices": [
                    {"valid_from": "2025-01-01", "price_per_kwh": "0.2", "currency": "EUR"},
                    {"valid_from": "2025-01-01", "price_per_kwh": "0.3", "currency": "EUR"},
                ]
            },
            400,
            ["body", "electricity_prices.1.valid_from"],
            "may not overlap",
        ),
        (
            {
                "electricity_prices": [
                    {"valid_from": "2025-01-01", "price_per_kwh": "-0.1", "currency": "EUR"}
                ]
            },
            422,
            ["body", "electricity_prices", 0, "price_per_kwh"],
            "greater than or equal",
        ),
        ({"time_zone": "Mars/Olympus"}, 400, ["body", "time_zone"], "IANA"),
        ({"country": "XX"}, 400, ["body", "country"], "ISO 3166"),
        ({"latitude": "91"}, 422, ["body", "latitude"], "less than or equal"),
        ({"latitude": "52.5", "longitude": None}, 400, ["body", "longitude"], "both"),
    ],
)
def test_bad_location_input_names_the_field(api_as, world, change, status, loc, needle):
    body = {
        "ocpi_id": "LOC-X",
        "name": "X",
        "address": "Y 1",
        "city": "Z",
        "country": "DE",
        **change,
    }
    r = api_as(world.program_admin).post("/charging/locations", body)
    assert r.status_code == status, r.body
    assert r.body["detail"][0]["loc"] == loc
    assert needle in r.body["detail"][0]["msg"]
    assert not Location.objects.exists()


def test_duplicate_location_id_is_a_conflict(api_as, world, site):
    r = api_as(world.program_admin).post(
        "/charging/locations",
        {"ocpi_id": "LOC-BER", "name": "X", "address": "Y", "city": "Z", "country": "DE"},
    )
    assert r.status_code == 409 and r.body["detail"][0]["loc"] == ["body", "ocpi_id"]


def test_location_update_replaces_prices(api_as, world, site):
    r = api_as(world.manager).patch(
        f"/charging/locations/{site.berlin.pk}",
        {
            "name": "Alpha Depot North",
            "electricity_prices": [
                {"valid_from": "2025-03-01", "price_per_kwh": "0.25", "currency": "EUR"}
            ],
        },
    )
    assert r.status_code == 200, r.body
    assert r.body["name"] == "Alpha Depot North"
    assert [p["valid_from"] for p in r.body["electricity_prices"]] == ["2025-03-01"]


def test_charge_point_with_evses_and_connectors(api_as, world, site):
    r = api_as(world.manager).post(
        "/charging/charge-points",
        {
            "location_id": site.berlin.pk,
            "identity": "CP-NEW",
            "vendor": "Alpitronic",
            "model": "HYC300",
            "partner_id": world.partner_a.pk,
            "hosted_from": "2025-05-01",
            "evses": [
                evse_body("E-NEW-1", "DC", "150"),
                {**evse_body("E-NEW-2", "AC", "22"), "connectors": []},
            ],
        },
    )
    assert r.status_code == 201, r.body
    assert r.body["partner_id"] == world.partner_a.pk
    assert [(e["uid"], e["current_type"], e["max_power_kw"]) for e in r.body["evses"]] == [
        ("E-NEW-1", "DC", "150.00"),
        ("E-NEW-2", "AC", "22.00"),
    ]
    assert r.body["evses"][0]["connectors"] == [
        {
            "connector_id": "1",
            "standard": "IEC_62196_T2_COMBO",
            "format": "SOCKET",
            "max_power_kw": "150.00",
        }
    ]
    cp = ChargePoint.objects.get(identity="CP-NEW")
    assert list(cp.hostings.values_list("partner_id", "valid_from", "valid_to")) == [
        (world.partner_a.pk, dt.date(2025, 5, 1), None)
    ]


@pytest.mark.parametrize(
    "evses,status,loc",
    [
        ([], 422, ["body", "evses"]),
        ([evse_body("E-AC")], 409, ["body", "evses.0.uid"]),  # taken by CP-AC
        ([evse_body("E-1"), evse_body("E-1")], 400, ["body", "evses.1.uid"]),
        ([{**evse_body("E-1"), "current_type": "XC"}], 422, ["body", "evses", 0, "current_type"]),
        ([{**evse_body("E-1"), "max_power_kw": "0"}], 422, ["body", "evses", 0, "max_power_kw"]),
        (
            [
                {
                    **evse_body("E-1"),
                    "connectors": [
                        {"connector_id": "1", "standard": "CHADEMO"},
                        {"connector_id": "1", "standard": "CHADEMO"},
                    ],
                }
            ],
            400,
            ["body", "evses.0.connectors.1.connector_id"],
        ),
    ],
)
def test_bad_charge_point_input_names_the_field(api_as, world, site, evses, status, loc):
    before = ChargePoint.objects.count()
    r = api_as(world.program_admin).post(
        "/charging/charge-points",
        {"location_id": site.berlin.pk, "identity": "CP-BAD", "evses": evses},
    )
    assert r.status_code == status, r.body
    assert r.body["detail"][0]["loc"] == loc
    assert ChargePoint.objects.count() == before


def test_a_manager_cannot_place_a_charge_point_at_a_partner_they_do_not_manage(api_as, world, site):
    r = api_as(world.manager).post(
        "/charging/charge-points",
        {
            "location_id": site.berlin.pk,
            "identity": "CP-B",
            "partner_id": world.partner_b.pk,
            "evses": [evse_body("E-B")],
        },
    )
    assert r.status_code == 404  # partner B is not visible to A's manager
    r = api_as(world.manager).post(
        "/charging/charge-points",
        {"location_id": site.berlin.pk, "identity": "CP-U", "evses": [evse_body("E-U")]},
    )
    assert r.status_code == 403  # unhosted charge points are program admins'


def test_charge_point_update_matches_evses_by_uid(api_as, world, site, session_for):
    client = api_as(world.program_admin)
    url = f"/charging/charge-points/{site.ac.pk}"
    r = client.patch(
        url,
        {"evses": [evse_body("E-AC", "AC", "11"), evse_body("E-AC-2", "AC", "22")]},
    )
    assert r.status_code == 200, r.body
    assert [(e["uid"], e["max_power_kw"]) for e in r.body["evses"]] == [
        ("E-AC", "11.00"),
        ("E-AC-2", "22.00"),
    ]
    evse = site.ac.evses.get(uid="E-AC")
    session_for(evse, dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC), 1000, corporate=False)
    r = client.patch(url, {"evses": [evse_body("E-AC-2")]})
    assert r.status_code == 409 and "has charging sessions" in r.body["detail"][0]["msg"]
    r = client.patch(url, {"evses": [evse_body("E-AC")]})
    assert r.status_code == 200
    assert [e["uid"] for e in r.body["evses"]] == ["E-AC"]


# --- hosting history ------------------------------------------------------------------------------


def test_mid_month_move_settles_each_host_for_its_days(world, site):
    """CP-AC moves from A to B on 16 March: A hosted it 1-15 March, B from the 16th."""
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2025, 3, 16)
    )
    assert list(
        site.ac.hostings.order_by("valid_from").values_list("partner_id", "valid_from", "valid_to")
    ) == [
        (world.partner_a.pk, dt.date(2025, 1, 1), dt.date(2025, 3, 15)),
        (world.partner_b.pk, dt.date(2025, 3, 16), None),
    ]
    ids = [site.ac.pk, site.dc.pk]
    assert selectors.host_on(ids, dt.date(2025, 3, 15)) == {
        site.ac.pk: world.partner_a.pk,
        site.dc.pk: world.partner_a.pk,
    }
    assert selectors.host_on(ids, dt.date(2025, 3, 16)) == {
        site.ac.pk: world.partner_b.pk,
        site.dc.pk: world.partner_a.pk,
    }
    assert selectors.host_on(ids, dt.date(2024, 12, 31)) == {}
    # Days hosted in March: A 15, B 16.
    days = {}
    for day in range(1, 32):
        host = selectors.host_on([site.ac.pk], dt.date(2025, 3, day))[site.ac.pk]
        days[host] = days.get(host, 0) + 1
    assert days == {world.partner_a.pk: 15, world.partner_b.pk: 16}
    site.ac.refresh_from_db()
    assert site.ac.partner_id == world.partner_b.pk  # the host today
    event = Event.objects.filter(name="charging.hosting_changed").order_by("pk").last()
    assert event.payload["from_partner_id"] == world.partner_a.pk
    assert event.payload["to_partner_id"] == world.partner_b.pk


def test_back_dated_change_is_refused(api_as, world, site):
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2025, 3, 16)
    )
    before = list(ChargePointHosting.objects.order_by("pk").values())
    for day in (dt.date(2025, 3, 16), dt.date(2025, 2, 1)):
        with pytest.raises(Conflict) as exc:
            services.hosting_assign(charge_point=site.ac, partner=world.partner_a, valid_from=day)
        assert exc.value.field == "valid_from"
        assert "rewrite hosting history" in exc.value.message
        assert "2025-03-16" in exc.value.message
    assert list(ChargePointHosting.objects.order_by("pk").values()) == before


def test_hosting_through_the_api_and_ending_it(api_as, world, site):
    client = api_as(world.program_admin)
    url = f"/charging/charge-points/{site.ac.pk}/hostings"
    r = client.post(url, {"partner_id": world.partner_a.pk, "valid_from": "2025-04-01"})
    assert r.status_code == 409 and "already hosted" in r.body["detail"][0]["msg"]
    r = client.post(url, {"partner_id": None, "valid_from": "2025-04-01"})
    assert r.status_code == 200, r.body
    assert [(h["partner_id"], h["valid_from"], h["valid_to"]) for h in r.body] == [
        (world.partner_a.pk, "2025-01-01", "2025-03-31")
    ]
    site.ac.refresh_from_db()
    assert site.ac.partner_id is None
    r = client.post(url, {"partner_id": None, "valid_from": "2025-05-01"})
    assert r.status_code == 409 and r.body["detail"][0]["loc"] == ["body", "partner_id"]
    r = client.post(url, {"partner_id": world.partner_b.pk, "valid_from": "2025-06-01"})
    assert r.status_code == 200
    assert [(h["partner_id"], h["valid_from"], h["valid_to"]) for h in r.body] == [
        (world.partner_a.pk, "2025-01-01", "2025-03-31"),
        (world.partner_b.pk, "2025-06-01", None),
    ]
    assert selectors.host_on([site.ac.pk], dt.date(2025, 5, 15)) == {}


def test_future_dated_move_takes_effect_with_the_daily_refresh(world, site):
    today = services.today()
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=today + dt.timedelta(days=10)
    )
    site.ac.refresh_from_db()
    assert site.ac.partner_id == world.partner_a.pk
    assert services.hostings_refresh(day=today) == 0
    assert services.hostings_refresh(day=today + dt.timedelta(days=10)) == 1
    site.ac.refresh_from_db()
    assert site.ac.partner_id == world.partner_b.pk


def test_a_manager_cannot_move_a_charge_point_to_a_partner_they_do_not_manage(api_as, world, site):
    url = f"/charging/charge-points/{site.ac.pk}/hostings"
    r = api_as(world.manager).post(
        url, {"partner_id": world.partner_b.pk, "valid_from": "2025-05-01"}
    )
    assert r.status_code == 404
    r = api_as(world.manager).post(
        url, {"partner_id": world.operator.pk, "valid_from": "2025-05-01"}
    )
    assert r.status_code == 200, r.body


def test_terminated_partner_cannot_host(world, site):
    world.partner_b.status = "terminated"
    world.partner_b.save()
    with pytest.raises(ServiceError) as exc:
        services.hosting_assign(
            charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2025, 5, 1)
        )
    assert exc.value.field == "partner_id"


def test_a_host_whose_contract_is_in_another_currency_than_the_sites_prices_is_refused(
    world, site, api_as
):
    """Berlin's electricity is priced in EUR; B signs in CHF: moving CP-AC to B is refused (409,
    partner_id) and the hosting history is untouched; once B's contract is in EUR, it moves."""
    from partnerhub.charging.models import ChargePointHosting
    from partnerhub.settlements.services import contract_create, contract_update

    terms = {
        "name": "Zurich depot",
        "start_month": "2025-01",
        "end_month": "2025-12",
        "ac_share_percent": "30",
        "dc_share_percent": "40",
        "currency": "CHF",
    }
    contract = contract_create(partner=world.partner_b, data=terms)
    before = list(ChargePointHosting.objects.values_list("charge_point_id", "partner_id"))
    r = api_as(world.program_admin).post(
        f"/charging/charge-points/{site.ac.pk}/hostings",
        {"partner_id": world.partner_b.pk, "valid_from": "2025-06-01"},
    )
    assert r.status_code == 409, r.body
    assert r.body["detail"][0]["loc"] == ["body", "partner_id"]
    assert "'Zurich depot' is in CHF" in r.body["detail"][0]["msg"]
    assert "priced in EUR" in r.body["detail"][0]["msg"]
    assert list(ChargePointHosting.objects.values_list("charge_point_id", "partner_id")) == before

    contract_update(contract=contract, data={"currency": "EUR"})
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2025, 6, 1)
    )
    site.ac.refresh_from_db()
    assert site.ac.hostings.order_by("-valid_from").first().partner == world.partner_b


def test_host_on_is_one_query_per_chunk(world, site, django_assert_num_queries):
    with django_assert_num_queries(1):
        hosts = selectors.host_on([site.ac.pk, site.dc.pk, site.fr.pk], dt.date(2025, 2, 1))
    assert hosts == {
        site.ac.pk: world.partner_a.pk,
        site.dc.pk: world.partner_a.pk,
        site.fr.pk: world.partner_b.pk,
    }
    with django_assert_num_queries(1):
        assert len(selectors.host_on(None, dt.date(2025, 2, 1))) == 3


# --- visibility -----------------------------------------------------------------------------------


def _identities(response):
    assert response.status_code == 200, response.body
    return sorted(cp["identity"] for cp in response.body["items"])


@pytest.mark.parametrize(
    "actor,expected",
    [
        ("program_admin", ["CP-AC", "CP-DC", "CP-FR", "CP-UNHOSTED"]),
        ("finance", ["CP-AC", "CP-DC", "CP-FR"]),
        ("manager", ["CP-AC", "CP-DC"]),
        ("other_manager", ["CP-FR"]),
        ("admin_a", ["CP-AC", "CP-DC"]),
        ("sales_a", ["CP-AC", "CP-DC"]),
        ("admin_b", ["CP-FR"]),
        ("operator_admin", []),
    ],
)
def test_charge_point_and_location_lists_are_scoped(api_as, world, site, actor, expected):
    services.charge_point_create(
        location=site.lyon, data={"identity": "CP-UNHOSTED", "evses": [evse_body("E-U")]}
    )
    client = api_as(getattr(world, actor))
    assert _identities(client.get("/charging/charge-points")) == expected
    # Filters cannot widen the scope.
    r = client.get("/charging/charge-points", partner_id=world.partner_b.pk)
    assert _identities(r) == [i for i in expected if i == "CP-FR"]
    locations = sorted(loc["ocpi_id"] for loc in client.get("/charging/locations").body["items"])
    expected_locations = sorted(
        {"CP-AC": "LOC-BER", "CP-DC": "LOC-BER", "CP-FR": "LOC-LYS", "CP-UNHOSTED": "LOC-LYS"}[i]
        for i in set(expected)
    )
    assert locations == sorted(set(expected_locations))
