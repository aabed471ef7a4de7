"""OCPI tariffs: import and export, who may manage them, assignments (the most specific wins)
and pricing a session through the API."""

import datetime as dt
import json
from pathlib import Path

import pytest

from partnerhub.charging import ocpi, selectors, services
from partnerhub.charging.models import Tariff, TariffAssignment
from partnerhub.charging.tests.conftest import ocpi_tariff

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[5] / "shared" / "conformance" / "ocpi-examples"
UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- import / export ----------------------------------------------------------------------------


def test_import_then_export_keeps_numbers_exact(api_as, world, contract_for):
    contract_for(world.partner_a, can_manage_tariffs=True)
    body = ocpi_tariff("T-A-1", energy="0.3333", flat="1.10")
    body["tariff_alt_text"] = [{"language": "en", "text": "33.33 ct/kWh + 1.10 start"}]
    r = api_as(world.admin_a).post("/charging/tariffs", {"ocpi": body})
    assert r.status_code == 201, r.body
    assert r.body["partner_id"] == world.partner_a.pk  # a partner user's own tariff
    assert r.body["name"] == "33.33 ct/kWh + 1.10 start"
    assert r.body["currency"] == "EUR"
    sales = api_as(world.sales_a)
    url = f"/api/v1/charging/tariffs/{r.body['id']}/ocpi"
    r = sales.get(url)
    assert r.status_code == 200
    assert r.body["elements"][0]["price_components"] == [
        {"type": "FLAT", "price": 1.1, "vat": 19.0, "step_size": 1},
        {"type": "ENERGY", "price": 0.3333, "vat": 19.0, "step_size": 1},
    ]
    text = sales.client.get(url, **sales.headers)
    assert b'"price": 0.3333' in text.content  # a JSON number, written exactly


@pytest.mark.skipif(not EXAMPLES.exists(), reason="no ../shared/conformance/ocpi-examples")
def test_every_specification_tariff_example_round_trips():
    files = sorted(EXAMPLES.glob("tariff_*.json"))
    assert files
    for path in files:
        source = ocpi.ocpi_loads(path.read_text())
        source["id"] = f"{source['id']}-{path.stem}"[:36]  # the examples reuse ids
        tariff = services.tariff_create(data=source)
        exported = services.tariff_export(Tariff.objects.get(pk=tariff.pk))
        assert ocpi.parse_tariff(exported) == ocpi.parse_tariff(source), path.name
        assert json.loads(ocpi.ocpi_dumps(exported)) == json.loads(ocpi.ocpi_dumps(source)), (
            path.name
        )


def test_invalid_ocpi_answers_422_naming_each_json_path(api_as, world):
    body = ocpi_tariff("T-BAD")
    body["elements"][0]["price_components"][0]["price"] = -1
    body["elements"].append({"price_components": [{"type": "KWH", "price": 1, "step_size": 1}]})
    r = api_as(world.program_admin).post("/charging/tariffs", {"ocpi": body})
    assert r.status_code == 422, r.body
    locs = [d["loc"] for d in r.body["detail"]]
    assert ["body", "ocpi", "elements", 0, "price_components", 0, "price"] in locs
    assert ["body", "ocpi", "elements", 1, "price_components", 0, "type"] in locs
    assert not Tariff.objects.exists()
    r = api_as(world.program_admin).post("/charging/tariffs", {"ocpi": {"id": "X"}})
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.body["detail"]} >= {
        ("body", "ocpi", "currency"),
        ("body", "ocpi", "elements"),
    }


def test_duplicate_id_conflicts_and_the_id_cannot_change(api_as, world):
    client = api_as(world.program_admin)
    assert client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-1")}).status_code == 201
    r = client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-1")})
    assert r.status_code == 409 and r.body["detail"][0]["loc"] == ["body", "ocpi.id"]
    tariff = Tariff.objects.get()
    r = client.patch(f"/charging/tariffs/{tariff.pk}", {"ocpi": ocpi_tariff("T-2")})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "ocpi.id"]
    r = client.patch(f"/charging/tariffs/{tariff.pk}", {"ocpi": ocpi_tariff("T-1", energy="0.5")})
    assert r.status_code == 200, r.body
    assert r.body["ocpi"]["elements"][0]["price_components"][0]["price"] == 0.5


# --- who manages tariffs --------------------------------------------------------------------------


def test_partner_admins_manage_tariffs_only_when_their_contract_allows(api_as, world, contract_for):
    client = api_as(world.admin_a)
    r = client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-A")})
    assert r.status_code == 403, r.body  # no contract in force
    contract = contract_for(world.partner_a, can_manage_tariffs=False)
    assert client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-A")}).status_code == 403
    contract.can_manage_tariffs = True
    contract.save()
    r = client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-A")})
    assert r.status_code == 201, r.body
    assert (
        api_as(world.sales_a)
        .patch(f"/charging/tariffs/{r.body['id']}", {"ocpi": ocpi_tariff("T-A")})
        .status_code
        == 403
    )  # admins only
    # An expired contract no longer allows it.
    contract.end_month = dt.date(2025, 1, 1)
    contract.save()
    r2 = client.patch(f"/charging/tariffs/{r.body['id']}", {"ocpi": ocpi_tariff("T-A")})
    assert r2.status_code == 403
    # The operator's tariffs are program admins'.
    operator = services.tariff_create(data=ocpi_tariff("T-OP"))
    contract.end_month = dt.date(2099, 1, 1)
    contract.save()
    r = client.patch(f"/charging/tariffs/{operator.pk}", {"ocpi": ocpi_tariff("T-OP")})
    assert r.status_code == 403
    assert (
        api_as(world.manager)
        .patch(f"/charging/tariffs/{operator.pk}", {"ocpi": ocpi_tariff("T-OP")})
        .status_code
        == 403
    )


def test_tariff_lists_show_the_operators_and_own_tariffs(api_as, world):
    services.tariff_create(data=ocpi_tariff("T-OP"))
    services.tariff_create(data=ocpi_tariff("T-A"), partner=world.partner_a)
    services.tariff_create(data=ocpi_tariff("T-B"), partner=world.partner_b)

    def ids(user, **params):
        r = api_as(user).get("/charging/tariffs", **params)
        assert r.status_code == 200, r.body
        return sorted(t["ocpi_id"] for t in r.body["items"])

    assert ids(world.program_admin) == ["T-A", "T-B", "T-OP"]
    assert ids(world.manager) == ["T-A", "T-OP"]
    assert ids(world.admin_a) == ["T-A", "T-OP"]
    assert ids(world.admin_b) == ["T-B", "T-OP"]
    assert ids(world.admin_a, partner_id=world.partner_b.pk) == []
    assert ids(world.admin_a, operator=True) == ["T-OP"]


# --- assignments: the most specific wins ----------------------------------------------------------


def test_most_specific_assignment_wins(world, site):
    group = services.tariff_group_create(name="Berlin standard")
    site.ac.tariff_group = group
    site.ac.save()
    evse = site.ac.evses.get()
    g = services.tariff_create(data=ocpi_tariff("T-GROUP"))
    c = services.tariff_create(data=ocpi_tariff("T-CP"))
    e = services.tariff_create(data=ocpi_tariff("T-EVSE"))
    later = services.tariff_create(data=ocpi_tariff("T-CP-2026"))
    services.assignment_create(tariff=g, target=group, valid_from=at(2025, 1, 1))
    services.assignment_create(tariff=c, target=site.ac, valid_from=at(2025, 2, 1))
    services.assignment_create(tariff=e, target=evse, valid_from=at(2025, 3, 1))
    services.assignment_create(tariff=later, target=site.ac, valid_from=at(2026, 1, 1))

    def tariff_at(moment):
        found = selectors.tariff_for_evse(evse, moment)
        return found.ocpi_id if found else None

    assert tariff_at(at(2024, 12, 31)) is None
    assert tariff_at(at(2025, 1, 15)) == "T-GROUP"
    assert tariff_at(at(2025, 2, 15)) == "T-CP"  # charge point beats group
    assert tariff_at(at(2025, 3, 15)) == "T-EVSE"  # EVSE beats charge point
    assert tariff_at(at(2026, 6, 1)) == "T-EVSE"  # a newer charge-point tariff still loses
    assert selectors.tariff_for_evse(evse.pk, at(2025, 2, 15)).ocpi_id == "T-CP"  # by id too
    # The DC charge point is not in the group.
    assert selectors.tariff_for_evse(site.dc.evses.get(), at(2025, 6, 1)) is None


def test_a_tariff_past_its_end_date_gives_way(world, site):
    evse = site.ac.evses.get()
    old = ocpi_tariff("T-OLD")
    old["end_date_time"] = "2025-06-01T00:00:00Z"
    services.assignment_create(
        tariff=services.tariff_create(data=ocpi_tariff("T-CP")),
        target=site.ac,
        valid_from=at(2025, 1, 1),
    )
    services.assignment_create(
        tariff=services.tariff_create(data=old), target=evse, valid_from=at(2025, 1, 1)
    )
    assert selectors.tariff_for_evse(evse, at(2025, 5, 31)).ocpi_id == "T-OLD"
    assert selectors.tariff_for_evse(evse, at(2025, 6, 1)).ocpi_id == "T-CP"


def test_a_partners_own_tariff_stops_when_it_stops_hosting(world, site):
    """A's tariff on CP-AC applies while A hosts it; after the move to B on 16 March the
    operator's group tariff applies again."""
    group = services.tariff_group_create(name="Standard")
    site.ac.tariff_group = group
    site.ac.save()
    services.assignment_create(
        tariff=services.tariff_create(data=ocpi_tariff("T-OP")),
        target=group,
        valid_from=at(2025, 1, 1),
    )
    services.assignment_create(
        tariff=services.tariff_create(data=ocpi_tariff("T-A"), partner=world.partner_a),
        target=site.ac,
        valid_from=at(2025, 1, 1),
    )
    services.hosting_assign(
        charge_point=site.ac, partner=world.partner_b, valid_from=dt.date(2025, 3, 16)
    )
    evse = site.ac.evses.get()
    assert selectors.tariff_for_evse(evse, at(2025, 3, 15, 23)).ocpi_id == "T-A"
    assert selectors.tariff_for_evse(evse, at(2025, 3, 16, 1)).ocpi_id == "T-OP"


def test_assignments_through_the_api(api_as, world, site, contract_for):
    contract_for(world.partner_a, can_manage_tariffs=True)
    client = api_as(world.admin_a)
    tariff = client.post("/charging/tariffs", {"ocpi": ocpi_tariff("T-A")}).body
    evse = site.ac.evses.get()
    url = f"/charging/tariffs/{tariff['id']}/assignments"
    r = client.post(url, {"evse_id": evse.pk, "valid_from": "2025-01-01T00:00:00Z"})
    assert r.status_code == 201, r.body
    assert (r.body["level"], r.body["evse_id"]) == ("evse", evse.pk)
    r = client.get(f"/charging/evses/{evse.pk}/tariff", at="2025-02-01T00:00:00Z")
    assert r.status_code == 200 and r.body["tariff"]["ocpi_id"] == "T-A"
    # Exactly one target.
    r = client.post(url, {"evse_id": evse.pk, "charge_point_id": site.ac.pk})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "evse_id"]
    # Partner B's charge point is not A's to price.
    assert client.post(url, {"charge_point_id": site.fr.pk}).status_code == 404
    r = api_as(world.program_admin).post(url, {"charge_point_id": site.fr.pk})
    assert r.status_code == 400 and r.body["detail"][0]["loc"] == ["body", "tariff_id"]
    # An assigned tariff cannot be deleted; removing the assignment first works.
    r = client.delete(f"/charging/tariffs/{tariff['id']}")
    assert r.status_code == 409
    assignment = TariffAssignment.objects.get()
    assert client.delete(f"/charging/tariff-assignments/{assignment.pk}").status_code == 204
    assert client.delete(f"/charging/tariffs/{tariff['id']}").status_code == 204
    assert not Tariff.objects.exists()


# --- pricing --------------------------------------------------------------------------------------


def test_price_a_session_from_totals(api_as, world):
    """0.25 EUR/kWh + 1.00 EUR start, 19 % VAT; 20 kWh: energy 5.00 + flat 1.00 = 6.00 excl.
    VAT, 7.14 incl."""
    tariff = services.tariff_create(data=ocpi_tariff("T-1", energy="0.25", flat="1.00"))
    r = api_as(world.sales_a).post(
        f"/charging/tariffs/{tariff.pk}/price",
        {"start": "2025-03-03T08:00:00Z", "end": "2025-03-03T10:00:00Z", "kwh": "20"},
    )
    assert r.status_code == 200, r.body
    assert r.body["total_energy_cost"] == {"excl_vat": "5.0000", "incl_vat": "5.9500"}
    assert r.body["total_fixed_cost"] == {"excl_vat": "1.0000", "incl_vat": "1.1900"}
    assert r.body["total_cost"] == {"excl_vat": "6.0000", "incl_vat": "7.1400"}
    assert (r.body["total_excl_vat"], r.body["total_incl_vat"]) == ("6.00", "7.14")
    assert r.body["total_charging_time"] == "2"


def test_price_time_and_parking_with_step_sizes(api_as, world):
    """TIME 2.00 EUR/h (VAT 10 %, 60 s steps) and PARKING_TIME 5.00 EUR/h (300 s steps):
    1.5 h charging = 3.00, 0.2 h parking = 12 min → billed 15 min = 1.25; total 4.25 excl,
    3.30 + 1.375 = 4.675 incl → 4.68 rounded."""
    body = ocpi_tariff("T-TIME")
    body["elements"] = [
        {
            "price_components": [
                {"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 60},
                {"type": "PARKING_TIME", "price": 5.00, "vat": 10.0, "step_size": 300},
            ]
        }
    ]
    tariff = services.tariff_create(data=body)
    r = api_as(world.program_admin).post(
        f"/charging/tariffs/{tariff.pk}/price",
        {
            "start": "2025-03-03T08:00:00Z",
            "end": "2025-03-03T09:42:00Z",
            "kwh": "11",
            "charging_hours": "1.5",
            "parking_hours": "0.2",
        },
    )
    assert r.status_code == 200, r.body
    assert r.body["total_time_cost"] == {"excl_vat": "3.0000", "incl_vat": "3.3000"}
    assert r.body["total_parking_cost"] == {"excl_vat": "1.2500", "incl_vat": "1.3750"}
    assert (r.body["total_excl_vat"], r.body["total_incl_vat"]) == ("4.25", "4.68")


def test_time_of_day_restrictions_apply_in_the_locations_time_zone(api_as, world):
    """Peak 18:00-22:00 at 0.40, else 0.30 EUR/kWh. 17:30 UTC on 15 January is 18:30 in
    Berlin: 10 kWh cost 4.00 there, 3.00 in UTC."""
    body = ocpi_tariff("T-PEAK")
    body["elements"] = [
        {
            "price_components": [{"type": "ENERGY", "price": 0.40, "step_size": 1}],
            "restrictions": {"start_time": "18:00", "end_time": "22:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]},
    ]
    tariff = services.tariff_create(data=body)
    url = f"/charging/tariffs/{tariff.pk}/price"
    session = {"start": "2025-01-15T17:30:00Z", "end": "2025-01-15T18:30:00Z", "kwh": "10"}
    client = api_as(world.program_admin)
    assert (
        client.post(url, {**session, "time_zone": "Europe/Berlin"}).body["total_cost"]["excl_vat"]
        == "4.0000"
    )
    assert client.post(url, session).body["total_cost"]["excl_vat"] == "3.0000"


def test_price_from_ocpi_charging_periods(api_as, world):
    """Two periods: 10 kWh at 0.40 (peak), then 5 kWh at 0.30: 5.50 excl. VAT."""
    body = ocpi_tariff("T-PEAK")
    body["elements"] = [
        {
            "price_components": [{"type": "ENERGY", "price": 0.40, "step_size": 1}],
            "restrictions": {"start_time": "18:00", "end_time": "22:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]},
    ]
    tariff = services.tariff_create(data=body)
    r = api_as(world.program_admin).post(
        f"/charging/tariffs/{tariff.pk}/price",
        {
            "start": "2025-01-15T21:00:00Z",
            "end": "2025-01-15T23:00:00Z",
            "charging_periods": [
                {
                    "start_date_time": "2025-01-15T21:00:00Z",
                    "dimensions": [{"type": "ENERGY", "volume": "10"}],
                },
                {
                    "start_date_time": "2025-01-15T22:00:00Z",
                    "dimensions": [{"type": "ENERGY", "volume": "5"}],
                },
            ],
        },
    )
    assert r.status_code == 200, r.body
    assert r.body["total_cost"]["excl_vat"] == "5.5000"
    assert r.body["total_energy"] == "15"


@pytest.mark.parametrize(
    "change,loc",
    [
        ({"end": "2025-03-03T07:00:00Z"}, ["body", "end"]),
        ({"kwh": None}, ["body", "kwh"]),
        ({"kwh": "-1"}, ["body", "kwh"]),
        ({"time_zone": "Nowhere/Else"}, ["body", "time_zone"]),
        (
            {
                "charging_periods": [
                    {
                        "start_date_time": "2025-03-03T08:00:00Z",
                        "dimensions": [{"type": "LITRES", "volume": "1"}],
                    }
                ]
            },
            ["body", "charging_periods"],
        ),
    ],
)
def test_bad_price_input_names_the_field(api_as, world, change, loc):
    tariff = services.tariff_create(data=ocpi_tariff("T-1"))
    body = {"start": "2025-03-03T08:00:00Z", "end": "2025-03-03T09:00:00Z", "kwh": "5", **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = api_as(world.program_admin).post(f"/charging/tariffs/{tariff.pk}/price", body)
    assert r.status_code in (400, 422), r.body
    assert r.body["detail"][0]["loc"][:2] == loc[:2]
    if r.status_code == 400:
        assert r.body["detail"][0]["loc"] == loc
