"""Reads for the public partner directory: only active partners that opted in, only public data.

Queries stay constant per page whatever its size: the page's partners come with their track
memberships and tiers prefetched, and their specialisations (competencies) are computed from
one query of their current person certifications.

Specialisations are not stored: a partner holds a competency while at least ``min_people`` of
its people hold a current certification among the competency's certifications (the rule of
``training.selectors.competencies_held`` and the tier engine's ``competencies`` metric). The
filter runs that rule in SQL (an aggregate subquery); the cards compute it for their page.

Distance search: a latitude/longitude bounding box narrows the candidates in SQL (SQLite may
have no trigonometric functions), then the exact great-circle distance (haversine) is computed
in Python on those candidates, which are kept within the radius and sorted nearest first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership
from partnerhub.programs.models import ProgramVersion, Tier, Track
from partnerhub.tiers.models import PartnerTier
from partnerhub.training.models import Competency, PersonCertification
from partnerhub.training.selectors import current_q

PAGE_SIZE = 20
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
_SIX_PLACES = Decimal("0.000001")


# --- geometry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A point to measure from, with an optional radius (None: any distance)."""

    latitude: float
    longitude: float
    radius_km: float | None = None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS 84 points (spherical Earth)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _floor6(value: float) -> Decimal:
    return Decimal(value).quantize(_SIX_PLACES, rounding=ROUND_FLOOR)


def _ceil6(value: float) -> Decimal:
    return Decimal(value).quantize(_SIX_PLACES, rounding=ROUND_CEILING)


def bounding_box(place: Place) -> Q:
    """A Q on latitude/longitude holding every point within ``place.radius_km`` (a superset).

    Uses the exact bounding box of a spherical cap: the longitude span widens with the
    latitude, covers all longitudes when a pole is inside the circle, and splits in two when
    it crosses the antimeridian."""
    q = Q(latitude__isnull=False, longitude__isnull=False)
    if place.radius_km is None:
        return q
    angle = place.radius_km / EARTH_RADIUS_KM  # angular radius, radians
    if angle >= math.pi:
        return q  # the whole globe
    dlat = math.degrees(angle)
    min_lat, max_lat = place.latitude - dlat, place.latitude + dlat
    q &= Q(latitude__gte=_floor6(max(min_lat, -90.0)), latitude__lte=_ceil6(min(max_lat, 90.0)))
    if min_lat <= -90 or max_lat >= 90:
        return q  # a pole lies within the circle: every longitude may be in it
    ratio = math.sin(angle) / math.cos(math.radians(place.latitude))
    dlon = math.degrees(math.asin(min(1.0, ratio)))
    min_lon, max_lon = place.longitude - dlon, place.longitude + dlon
    if min_lon < -180:
        return q & (Q(longitude__gte=_floor6(min_lon + 360)) | Q(longitude__lte=_ceil6(max_lon)))
    if max_lon > 180:
        return q & (Q(longitude__gte=_floor6(min_lon)) | Q(longitude__lte=_ceil6(max_lon - 360)))
    return q & Q(longitude__gte=_floor6(min_lon), longitude__lte=_ceil6(max_lon))


def distance_to(partner: Partner, place: Place | None) -> float | None:
    if place is None or partner.latitude is None or partner.longitude is None:
        return None
    return haversine_km(
        place.latitude, place.longitude, float(partner.latitude), float(partner.longitude)
    )


# --- programs: names of tracks and tiers, filter choices ---------------------------------------


@dataclass
class Catalogue:
    """Names of the tracks and tiers of every program's version in force, and competencies."""

    track_names: dict[tuple[int, str], str] = field(default_factory=dict)
    tier_names: dict[tuple[int, str, str], str] = field(default_factory=dict)
    track_choices: list[tuple[str, str]] = field(default_factory=list)
    tier_choices: list[tuple[str, str]] = field(default_factory=list)
    competencies: list[Competency] = field(default_factory=list)

    @property
    def specialisation_choices(self) -> list[tuple[str, str]]:
        return [(c.key, c.name) for c in sorted(self.competencies, key=lambda c: c.name.lower())]

    def competency(self, key: str) -> Competency | None:
        return next((c for c in self.competencies if c.key == key), None)


def _merge_choices(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One choice per key (keys are shared across programs); differing names are joined."""
    names: dict[str, list[str]] = {}
    for key, name in pairs:
        names.setdefault(key, [])
        if name not in names[key]:
            names[key].append(name)
    return sorted(((key, " / ".join(ns)) for key, ns in names.items()), key=lambda c: c[1].lower())


def catalogue(on: dt.date | None = None) -> Catalogue:
    """Five queries: versions, tracks, tiers, competencies, their certifications."""
    on = on or timezone.localdate()
    current: dict[int, int] = {}
    for version_id, program_id in (
        ProgramVersion.objects.filter(effective_from__lte=on)
        .order_by("program_id", "-effective_from", "-number")
        .values_list("id", "program_id")
    ):
        current.setdefault(program_id, version_id)
    tracks = (
        Track.objects.filter(version_id__in=current.values())
        .select_related("version")
        .only("id", "key", "name", "position", "version__program_id")
        .prefetch_related(
            Prefetch(
                "tiers",
                queryset=Tier.objects.only("id", "track_id", "key", "name").order_by("rank"),
            )
        )
        .order_by("version__program_id", "position")
    )
    cat = Catalogue()
    track_pairs, tier_pairs = [], []
    for track in tracks:
        program_id = track.version.program_id
        cat.track_names[(program_id, track.key)] = track.name
        track_pairs.append((track.key, track.name))
        for tier in track.tiers.all():
            cat.tier_names[(program_id, track.key, tier.key)] = tier.name
            tier_pairs.append((tier.key, tier.name))
    cat.track_choices = _merge_choices(track_pairs)
    cat.tier_choices = _merge_choices(tier_pairs)
    cat.competencies = list(Competency.objects.prefetch_related("certifications").order_by("key"))
    return cat


# --- the listing --------------------------------------------------------------------------------


def listed_partners() -> QuerySet[Partner]:
    """Partners shown in the directory: active and opted in."""
    return Partner.objects.filter(directory_listed=True, status=PartnerStatus.ACTIVE)


def listed_countries() -> list[tuple[str, str]]:
    """(code, name) of the countries of listed partners, by name."""
    codes = listed_partners().order_by().values_list("country", flat=True).distinct()
    from django_countries import countries

    return sorted(((c, countries.name(c) or c) for c in codes if c), key=lambda c: c[1])


def holders_of(competency: Competency, on: dt.date) -> QuerySet:
    """Ids of the partners holding ``competency`` on ``on`` (a subquery, for ``pk__in``)."""
    cert_ids = [c.pk for c in competency.certifications.all()]
    return (
        PersonCertification.objects.filter(current_q(on), certification_id__in=cert_ids)
        .values("partner_id")
        .annotate(people=Count("person_id", distinct=True))
        .filter(people__gte=competency.min_people)
        .order_by()
        .values("partner_id")
    )


def directory_filter(
    *,
    track: str = "",
    tier: str = "",
    specialisation: Competency | None = None,
    country: str = "",
    on: dt.date | None = None,
) -> QuerySet[Partner]:
    """Listed partners matching every given filter, by name.

    ``tier`` is the current tier key (in ``track`` when both are given)."""
    on = on or timezone.localdate()
    qs = listed_partners()
    if track:
        qs = qs.filter(
            Exists(TrackMembership.objects.filter(partner=OuterRef("pk"), track_key=track))
        )
    if tier:
        tiers = PartnerTier.objects.filter(partner=OuterRef("pk"), tier_key=tier)
        if track:
            tiers = tiers.filter(track_key=track)
        qs = qs.filter(Exists(tiers))
    if specialisation is not None:
        qs = qs.filter(pk__in=holders_of(specialisation, on))
    if country:
        qs = qs.filter(country=country)
    return qs.order_by("display_name", "id")


@dataclass
class TrackStanding:
    track: str
    tier: str  # empty while the partner has no tier in the track yet


@dataclass
class Listing:
    """What the directory shows of one partner."""

    partner: Partner
    distance_km: float | None = None
    tracks: list[TrackStanding] = field(default_factory=list)
    specialisations: list[str] = field(default_factory=list)


def _with_profile(qs: QuerySet[Partner]) -> QuerySet[Partner]:
    return qs.only(
        "id",
        "display_name",
        "city",
        "country",
        "website_domain",
        "directory_summary",
        "latitude",
        "longitude",
    ).prefetch_related(
        Prefetch(
            "track_memberships",
            queryset=TrackMembership.objects.only("id", "partner_id", "program_id", "track_key"),
        ),
        Prefetch(
            "tiers",
            queryset=PartnerTier.objects.only(
                "id", "partner_id", "program_id", "track_key", "tier_key"
            ),
        ),
    )


def _specialisations(
    partner_ids: list[int], competencies: list[Competency], on: dt.date
) -> dict[int, list[str]]:
    """Names of the competencies each partner holds on ``on`` (one query)."""
    holders: dict[tuple[int, int], set[int]] = defaultdict(set)
    for partner_id, cert_id, person_id in (
        PersonCertification.objects.filter(current_q(on), partner_id__in=partner_ids)
        .order_by()
        .values_list("partner_id", "certification_id", "person_id")
        .distinct()
    ):
        holders[(partner_id, cert_id)].add(person_id)
    held: dict[int, list[str]] = {pid: [] for pid in partner_ids}
    for comp in sorted(competencies, key=lambda c: c.name.lower()):
        cert_ids = [c.pk for c in comp.certifications.all()]
        if not cert_ids:
            continue
        for pid in partner_ids:
            people = set().union(*(holders[(pid, c)] for c in cert_ids))
            if len(people) >= comp.min_people:
                held[pid].append(comp.name)
    return held


def _listings(
    partners: list[Partner], cat: Catalogue, place: Place | None, on: dt.date
) -> list[Listing]:
    specs = _specialisations([p.pk for p in partners], cat.competencies, on)
    listings = []
    for partner in partners:
        tier_of = {(t.program_id, t.track_key): t.tier_key for t in partner.tiers.all()}
        tracks = []
        for m in partner.track_memberships.all():
            tier_key = tier_of.get((m.program_id, m.track_key), "")
            tracks.append(
                TrackStanding(
                    track=cat.track_names.get((m.program_id, m.track_key), m.track_key),
                    tier=cat.tier_names.get((m.program_id, m.track_key, tier_key), tier_key),
                )
            )
        listings.append(
            Listing(
                partner=partner,
                distance_km=distance_to(partner, place),
                tracks=sorted(tracks, key=lambda t: t.track.lower()),
                specialisations=specs.get(partner.pk, []),
            )
        )
    return listings


def directory_page(
    qs: QuerySet[Partner],
    *,
    page: str | int | None,
    cat: Catalogue,
    place: Place | None = None,
    on: dt.date | None = None,
    per_page: int = PAGE_SIZE,
) -> tuple[Page, list[Listing]]:
    """One page of ``qs`` (from ``directory_filter``) and its listings.

    Without a place: by name. With one: only partners with coordinates within the radius,
    nearest first (the bounding box in SQL, the exact distance in Python)."""
    on = on or timezone.localdate()
    if place is None:
        page_obj = Paginator(_with_profile(qs), per_page).get_page(page)
        partners = list(page_obj.object_list)
    else:
        ranked = []
        for pk, name, lat, lon in qs.filter(bounding_box(place)).values_list(
            "pk", "display_name", "latitude", "longitude"
        ):
            km = haversine_km(place.latitude, place.longitude, float(lat), float(lon))
            if place.radius_km is None or km <= place.radius_km:
                ranked.append((km, name.lower(), pk))
        ranked.sort()
        page_obj = Paginator([pk for _, _, pk in ranked], per_page).get_page(page)
        ids = list(page_obj.object_list)
        by_id = {p.pk: p for p in _with_profile(Partner.objects.filter(pk__in=ids))}
        partners = [by_id[pk] for pk in ids if pk in by_id]
    return page_obj, _listings(partners, cat, place, on)


def directory_entry(
    *, partner_id: int, cat: Catalogue, place: Place | None = None, on: dt.date | None = None
) -> Listing:
    """One listed partner's public profile; 404 when it is not listed or not active."""
    partner = get_object_or_404(_with_profile(listed_partners()), pk=partner_id)
    return _listings([partner], cat, place, on or timezone.localdate())[0]
