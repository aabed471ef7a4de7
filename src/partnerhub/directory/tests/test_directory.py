"""The public partner directory: who is shown, filters, distance search, pages, query budget."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerhub.directory.selectors import Place, bounding_box, haversine_km
from partnerhub.partners.models import Contact, Partner, PartnerStatus, TrackMembership
from partnerhub.tiers.models import PartnerTier
from partnerhub.training.models import Certification, Competency, Person, PersonCertification

LIST = reverse("directory:list")
TODAY = dt.date.today()

# Places (WGS 84): distances from Berlin by haversine, mean Earth radius.
BERLIN = (Decimal("52.520008"), Decimal("13.404954"))
POTSDAM = (Decimal("52.390569"), Decimal("13.064473"))  # ~27 km
HAMBURG = (Decimal("53.551086"), Decimal("9.993682"))  # ~255 km
MUNICH = (Decimal("48.135125"), Decimal("11.581981"))  # ~504 km
PARIS = (Decimal("48.856613"), Decimal("2.352222"))  # ~878 km


@pytest.fixture
def make_partner(db, ev_program):
    def make(
        name,
        *,
        country="DE",
        city="",
        at=None,
        listed=True,
        status=PartnerStatus.ACTIVE,
        tracks=(("var", "authorized"),),
        summary="",
        **kw,
    ):
        partner = Partner.objects.create(
            legal_name=f"{name} GmbH",
            display_name=name,
            country=country,
            city=city,
            status=status,
            directory_listed=listed,
            directory_summary=summary,
            latitude=at[0] if at else None,
            longitude=at[1] if at else None,
            **kw,
        )
        for track, tier in tracks:
            TrackMembership.objects.create(
                partner=partner, program=ev_program, track_key=track, joined_on="2025-03-01"
            )
            if tier:
                PartnerTier.objects.create(
                    partner=partner,
                    program=ev_program,
                    track_key=track,
                    tier_key=tier,
                    rank=0 if tier in ("authorized", "listed") else 1,
                    since="2025-03-01",
                    held_until="2026-01-31",
                    source="entry",
                    last_evaluated_on=TODAY,
                )
        return partner

    return make


def names(response) -> list[str]:
    """Partner names on a listing page, in order."""
    return [listing.partner.display_name for listing in response.context["listings"]]


@pytest.fixture
def fast_charging(db):
    """A competency held while 2 people hold the HPC installer certification."""
    cert = Certification.objects.create(key="hpc-installer", name="HPC installer")
    comp = Competency.objects.create(key="fast-charging", name="Fast charging", min_people=2)
    comp.certifications.add(cert)
    return cert


def certify(partner, cert, n, *, earned=None, expires=None, revoked=None):
    for i in range(n):
        person = Person.objects.create(partner=partner, email=f"p{i}.{cert.key}@{partner.pk}.test")
        PersonCertification.objects.create(
            person=person,
            certification=cert,
            partner=partner,
            earned_on=earned or TODAY - dt.timedelta(days=30),
            expires_on=expires,
            revoked_on=revoked,
        )


# --- who is shown --------------------------------------------------------------------------------


def test_only_active_opted_in_partners_are_listed(client, make_partner):
    shown = make_partner("Shown")
    hidden = make_partner("Not opted in", listed=False)
    suspended = make_partner("Suspended", status=PartnerStatus.SUSPENDED)
    applied = make_partner("Applied", status=PartnerStatus.APPLIED)
    terminated = make_partner("Terminated", status=PartnerStatus.TERMINATED)

    response = client.get(LIST)
    assert response.status_code == 200
    assert names(response) == ["Shown"]
    assert client.get(reverse("directory:detail", args=[shown.pk])).status_code == 200
    for partner in (hidden, suspended, applied, terminated):
        assert client.get(reverse("directory:detail", args=[partner.pk])).status_code == 404
    assert client.get(reverse("directory:detail", args=[999999])).status_code == 404


def test_the_directory_needs_no_login_and_only_reads(client, make_partner):
    make_partner("Shown")
    assert client.get(LIST).status_code == 200
    assert client.post(LIST).status_code == 405


def test_detail_shows_public_profile_only(client, make_partner):
    partner = make_partner(
        "Volt Installers",
        city="Potsdam",
        at=POTSDAM,
        summary="Wallboxes and HPC sites in Brandenburg.",
        website_domain="volt-installers.example",
        vat_id="DE136695976",
        tracks=(("var", "silver"), ("contractor", "preferred")),
    )
    Contact.objects.create(
        partner=partner, role="billing", name="Erika Secret", email="erika@secret.test"
    )
    response = client.get(reverse("directory:detail", args=[partner.pk]))
    html = response.content.decode()
    assert "Volt Installers" in html
    assert "Potsdam, Germany" in html
    assert "Wallboxes and HPC sites in Brandenburg." in html
    assert 'href="https://volt-installers.example"' in html
    # Track and tier names come from the program version in force.
    assert "Value-added reseller: Silver" in html
    assert "Preferred contractor: Preferred Contractor" in html
    # Never private data: contacts, legal name, VAT ID, coordinates.
    for private in ("Erika Secret", "erika@secret.test", "Volt Installers GmbH", "DE136695976"):
        assert private not in html
    assert str(POTSDAM[0]) not in html
    # No place searched: no distance ("km" alone also occurs in random CSRF tokens).
    assert re.search(r"\d km", html) is None


def test_detail_shows_the_distance_from_the_searched_place(client, make_partner):
    partner = make_partner("Volt Installers", at=POTSDAM)
    url = reverse("directory:detail", args=[partner.pk])
    response = client.get(url, {"lat": BERLIN[0], "lon": BERLIN[1], "radius": 100})
    assert response.context["listing"].distance_km == pytest.approx(27.2, abs=0.5)
    assert "27.2 km" in response.content.decode()
    # The way back keeps the search.
    assert f'href="{LIST}?lat=52.520008&amp;lon=13.404954&amp;radius=100"' in (
        response.content.decode()
    )


# --- filters -------------------------------------------------------------------------------------


def test_filter_by_track(client, make_partner):
    make_partner("Reseller", tracks=(("var", "authorized"),))
    make_partner("Distributor", tracks=(("distributor", "premier"),))
    make_partner("Both", tracks=(("var", "silver"), ("distributor", "authorized")))
    assert names(client.get(LIST, {"track": "distributor"})) == ["Both", "Distributor"]
    assert names(client.get(LIST, {"track": "var"})) == ["Both", "Reseller"]
    assert names(client.get(LIST)) == ["Both", "Distributor", "Reseller"]


def test_filter_by_current_tier_and_by_tier_within_a_track(client, make_partner):
    make_partner("Authorized reseller", tracks=(("var", "authorized"),))
    make_partner("Authorized distributor", tracks=(("distributor", "authorized"),))
    make_partner("Gold reseller", tracks=(("var", "gold"),))
    make_partner("New reseller", tracks=(("var", None),))  # no tier evaluated yet
    assert names(client.get(LIST, {"tier": "gold"})) == ["Gold reseller"]
    assert names(client.get(LIST, {"tier": "authorized"})) == [
        "Authorized distributor",
        "Authorized reseller",
    ]
    assert names(client.get(LIST, {"track": "var", "tier": "authorized"})) == [
        "Authorized reseller"
    ]
    # A tier key shared by two tracks is one choice naming both tiers.
    choices = dict(client.get(LIST).context["form"].fields["tier"].choices)
    assert choices["authorized"] == "Authorized / Authorized Distributor"


def test_filter_by_specialisation_counts_current_certifications(
    client, make_partner, fast_charging
):
    certified = make_partner("Certified")
    one_person = make_partner("One person")
    expired = make_partner("Expired")
    revoked = make_partner("Revoked")
    make_partner("Untrained")
    certify(certified, fast_charging, 2)
    certify(one_person, fast_charging, 1)
    certify(expired, fast_charging, 2, earned=TODAY - dt.timedelta(days=400), expires=TODAY)
    certify(revoked, fast_charging, 2, revoked=TODAY - dt.timedelta(days=1))

    response = client.get(LIST, {"specialisation": "fast-charging"})
    assert names(response) == ["Certified"]
    assert response.context["listings"][0].specialisations == ["Fast charging"]
    everyone = {x.partner.display_name: x for x in client.get(LIST).context["listings"]}
    assert everyone["Certified"].specialisations == ["Fast charging"]
    assert everyone["One person"].specialisations == []
    detail = client.get(reverse("directory:detail", args=[certified.pk]))
    assert "Fast charging" in detail.content.decode()


def test_filter_by_country_offers_only_countries_of_listed_partners(client, make_partner):
    make_partner("German", country="DE")
    make_partner("French", country="FR")
    make_partner("Hidden Italian", country="IT", listed=False)
    response = client.get(LIST, {"country": "FR"})
    assert names(response) == ["French"]
    assert [c for c, _ in response.context["form"].fields["country"].choices] == ["", "FR", "DE"]


def test_filters_combine(client, make_partner, fast_charging):
    match = make_partner("Match", country="DE", at=POTSDAM, tracks=(("var", "silver"),))
    certify(match, fast_charging, 2)
    wrong_country = make_partner("Wrong country", country="FR", at=POTSDAM)
    certify(wrong_country, fast_charging, 2)
    far = make_partner("Too far", at=MUNICH, tracks=(("var", "silver"),))
    certify(far, fast_charging, 2)
    make_partner("Untrained", at=POTSDAM, tracks=(("var", "silver"),))
    query = {
        "track": "var",
        "tier": "silver",
        "specialisation": "fast-charging",
        "country": "DE",
        "lat": BERLIN[0],
        "lon": BERLIN[1],
        "radius": 100,
    }
    assert names(client.get(LIST, query)) == ["Match"]


def test_unknown_filter_values_are_reported_not_a_500(client, make_partner):
    make_partner("Shown")
    response = client.get(LIST, {"track": "nope", "specialisation": "nope", "page": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"track", "specialisation"}
    assert names(response) == ["Shown"]


# --- distance ------------------------------------------------------------------------------------


def test_distance_search_orders_by_distance_and_applies_the_radius(client, make_partner):
    make_partner("Munich", at=MUNICH)
    make_partner("Hamburg", at=HAMBURG)
    make_partner("Paris", at=PARIS, country="FR")
    make_partner("Potsdam", at=POTSDAM)
    make_partner("Nowhere")  # no coordinates

    near = {"lat": BERLIN[0], "lon": BERLIN[1]}
    response = client.get(LIST, near | {"radius": 300})
    assert names(response) == ["Potsdam", "Hamburg"]
    distances = [x.distance_km for x in response.context["listings"]]
    assert distances == [pytest.approx(27.2, abs=0.5), pytest.approx(255.3, abs=1)]
    assert "27.2 km away" in response.content.decode()

    assert names(client.get(LIST, near | {"radius": 600})) == ["Potsdam", "Hamburg", "Munich"]
    # Without a radius: every partner with coordinates, nearest first.
    assert names(client.get(LIST, near)) == ["Potsdam", "Hamburg", "Munich", "Paris"]
    # Without a place: by name, partners without coordinates included.
    assert names(client.get(LIST)) == ["Hamburg", "Munich", "Nowhere", "Paris", "Potsdam"]


def test_partner_without_coordinates_is_excluded_from_distance_search(client, make_partner):
    make_partner("Nowhere")
    half = make_partner("Half", at=BERLIN)
    Partner.objects.filter(pk=half.pk).update(longitude=None)  # only a latitude: not a place
    response = client.get(LIST, {"lat": BERLIN[0], "lon": BERLIN[1], "radius": 20000})
    assert names(response) == []
    assert response.context["page"].paginator.count == 0


def test_radius_is_exact_not_the_bounding_box(client, make_partner):
    # A point in the corner of the box around Berlin: inside the box, outside the circle.
    corner = (Decimal("53.3"), Decimal("14.7"))
    assert 100 < haversine_km(52.520008, 13.404954, 53.3, 14.7) < 130
    make_partner("Corner", at=corner)
    place = Place(float(BERLIN[0]), float(BERLIN[1]), 100)
    assert Partner.objects.filter(bounding_box(place)).count() == 1
    assert names(client.get(LIST, {"lat": BERLIN[0], "lon": BERLIN[1], "radius": 100})) == []


def test_distance_search_across_the_antimeridian_and_near_a_pole(client, make_partner):
    make_partner("East of the line", at=(Decimal("-17.0"), Decimal("179.95")))
    make_partner("West of the line", at=(Decimal("-17.0"), Decimal("-179.95")))
    make_partner("Far west", at=(Decimal("-17.0"), Decimal("-170.0")))
    response = client.get(LIST, {"lat": "-17.0", "lon": "179.99", "radius": 50})
    assert names(response) == ["East of the line", "West of the line"]

    make_partner("Station Nord", at=(Decimal("81.6"), Decimal("-16.67")))
    make_partner("Other side of the pole", at=(Decimal("89.9"), Decimal("160.0")))
    response = client.get(LIST, {"lat": "89.5", "lon": "0", "radius": 1000})
    assert names(response) == ["Other side of the pole", "Station Nord"]


def test_haversine_known_distances():
    assert haversine_km(*map(float, BERLIN), *map(float, PARIS)) == pytest.approx(877.5, abs=1)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015.1, abs=1)
    assert haversine_km(10, 20, 10, 20) == 0


@pytest.mark.parametrize(
    "query, field",
    [
        ({"lat": "52.5"}, "lon"),
        ({"lon": "13.4"}, "lat"),
        ({"radius": "10"}, "radius"),
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "0", "lon": "-181"}, "lon"),
        ({"lat": "0", "lon": "0", "radius": "-5"}, "radius"),
        ({"lat": "nan", "lon": "0"}, "lat"),
        ({"lat": "abc", "lon": "0"}, "lat"),
    ],
)
def test_invalid_place_is_an_error_and_no_distance_filter(client, make_partner, query, field):
    make_partner("Nowhere")
    response = client.get(LIST, query)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert response.context["place"] is None
    assert names(response) == ["Nowhere"]


def test_coordinates_are_validated_on_the_model(make_partner):
    partner = make_partner("Somewhere")
    partner.latitude, partner.longitude = Decimal("90.5"), Decimal("0")
    with pytest.raises(ValidationError) as exc:
        partner.full_clean()
    assert "latitude" in exc.value.message_dict
    partner.latitude, partner.longitude = Decimal("0"), Decimal("-180.5")
    with pytest.raises(ValidationError) as exc:
        partner.full_clean()
    assert "longitude" in exc.value.message_dict
    assert Partner._meta.get_field("directory_listed").default is False


# --- pages and queries ---------------------------------------------------------------------------


def test_pagination_20_per_page_keeps_the_filters(client, make_partner):
    for i in range(45):
        make_partner(f"Partner {i:02d}", tracks=(("distributor", "premier"),))
    make_partner("Other track")
    response = client.get(LIST, {"track": "distributor"})
    assert len(names(response)) == 20
    assert names(response)[0] == "Partner 00"
    assert response.context["page"].paginator.num_pages == 3
    assert 'href="?track=distributor&amp;page=2"' in response.content.decode()
    last = client.get(LIST, {"track": "distributor", "page": 3})
    assert names(last) == [f"Partner {i}" for i in range(40, 45)]
    assert 'href="?track=distributor&amp;page=2"' in last.content.decode()
    # Out of range or garbage page numbers answer a page, not an error.
    assert names(client.get(LIST, {"track": "distributor", "page": 99})) == names(last)
    assert names(client.get(LIST, {"track": "distributor", "page": "x"})) == names(response)


def test_distance_pages_continue_in_distance_order(client, make_partner):
    for i in range(25):
        # Due north of Berlin, 0.01° (about 1.1 km) apart, created in reverse order.
        make_partner(f"N{24 - i:02d}", at=(BERLIN[0] + Decimal("0.01") * (24 - i), BERLIN[1]))
    query = {"lat": BERLIN[0], "lon": BERLIN[1], "radius": 50}
    first = client.get(LIST, query)
    second = client.get(LIST, query | {"page": 2})
    assert names(first) + names(second) == [f"N{i:02d}" for i in range(25)]
    assert len(names(second)) == 5


def _populate(make_partner, cert, n: int, offset: int = 0):
    for i in range(offset, offset + n):
        partner = make_partner(
            f"Partner {i:03d}",
            at=(Decimal("52.5") + Decimal(i) / 1000, Decimal("13.4")),
            city="Berlin",
            tracks=(("var", "silver"), ("contractor", "preferred")),
        )
        certify(partner, cert, 2)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"track": "var", "tier": "silver", "specialisation": "fast-charging", "country": "DE"},
        {"lat": "52.5", "lon": "13.4", "radius": "200"},
    ],
)
def test_query_count_does_not_grow_with_the_page(
    client, make_partner, fast_charging, django_assert_max_num_queries, query
):
    _populate(make_partner, fast_charging, 2)
    with CaptureQueriesContext(connection) as few:
        response = client.get(LIST, query)
    assert len(names(response)) == 2

    _populate(make_partner, fast_charging, 30, offset=2)
    with django_assert_max_num_queries(len(few)):
        response = client.get(LIST, query)
    assert len(names(response)) == 20
    assert all(len(x.tracks) == 2 and x.specialisations for x in response.context["listings"])
    # And the budget itself stays small.
    with django_assert_max_num_queries(14):
        client.get(LIST, query)


def test_list_page_has_labels_and_no_inline_script_or_style(client, make_partner):
    make_partner("Shown")
    html = client.get(LIST).content.decode()
    for field in ("track", "tier", "specialisation", "country", "lat", "lon", "radius"):
        assert f'<label for="id_{field}">' in html
    assert 'aria-describedby="id_lat_helptext"' in html
    assert 'method="get"' in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
