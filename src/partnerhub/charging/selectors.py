"""Reads of charging assets, tariffs, corporate billing and drivers, always through what the
acting user may see (404 otherwise), plus the set-based lookups imports and settlement use.

Visibility (``core/permissions.py`` decides who is who):

- a charge point is seen by whoever sees the partner hosting it *now* (``ChargePoint.partner``);
  unhosted charge points are seen by program admins only;
- a location is seen when one of its charge points is; a location without charge points yet
  is seen by the staff who create assets (program admins and partner managers);
- a tariff or tariff group is seen by whoever sees its partner; the operator's own (no
  partner) are seen by every signed-in user (they are the public prices);
- drivers and corporate billing by whoever sees their partner.

Set-based helpers (one statement over many rows, SQLite and PostgreSQL alike):

- ``host_on(charge_point_ids, day)``: which partner hosted each charge point on ``day``;
- ``tariff_for_evse(evse, at)``: the tariff in force on an EVSE (most specific wins);
- ``corporate_month_to_date(driver_ids, month)``: corporate spending per driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models import Value as V
from django.shortcuts import get_object_or_404
from django.utils import timezone

from partnerhub.charging.models import (
    ChargePoint,
    ChargePointHosting,
    ChargingSession,
    Connector,
    CorporateBilling,
    Driver,
    ElectricityPrice,
    Evse,
    Location,
    PaymentMethod,
    Tariff,
    TariffAssignment,
    TariffGroup,
)
from partnerhub.core.permissions import (
    is_partner_manager,
    is_program_admin,
    visible_partners,
)

CHUNK = 10_000  # ids per IN (...) list: well within SQLite's and PostgreSQL's limits


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    first = day.replace(day=1)
    return (first + dt.timedelta(days=32)).replace(day=1)


# --- set-based lookups (imports, settlement) ----------------------------------------------------


def host_on(charge_point_ids: Iterable[int] | None, day: dt.date) -> dict[int, int]:
    """``{charge_point_id: partner_id}`` of the partner hosting each charge point on ``day``
    (periods are inclusive at both ends). Charge points without a host that day are absent.

    One query per 10,000 ids (``None``: every charge point, one query). Imports call it once
    per distinct session day; settlement uses the same rule in SQL. Because hosting periods
    of a charge point never overlap, each charge point has at most one host on a day.
    """
    qs = ChargePointHosting.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    if charge_point_ids is None:
        return dict(qs.values_list("charge_point_id", "partner_id"))
    ids = list(dict.fromkeys(charge_point_ids))
    hosts: dict[int, int] = {}
    for i in range(0, len(ids), CHUNK):
        part = qs.filter(charge_point_id__in=ids[i : i + CHUNK])
        hosts.update(part.values_list("charge_point_id", "partner_id"))
    return hosts


def hosting_periods(charge_point_ids: Iterable[int] | None = None) -> dict[int, list[tuple]]:
    """Every hosting period as ``{charge_point_id: [(valid_from, valid_to|None, partner_id)]}``
    ordered by ``valid_from``: for callers resolving many days at once (one query)."""
    qs = ChargePointHosting.objects.order_by("charge_point_id", "valid_from")
    if charge_point_ids is not None:
        qs = qs.filter(charge_point_id__in=list(charge_point_ids))
    out: dict[int, list[tuple]] = {}
    for cp_id, start, end, partner_id in qs.values_list(
        "charge_point_id", "valid_from", "valid_to", "partner_id"
    ):
        out.setdefault(cp_id, []).append((start, end, partner_id))
    return out


def contract_in_force(*, partner_id: int, day: dt.date | None = None):
    """The partner's site-host contract in force on ``day`` (today by default), or None.

    In force: from the first day of ``start_month`` through the last day of ``end_month``;
    an auto-renewing contract continues past its end month until ``terminated_after``. Should
    several match, the one that started last wins."""
    from partnerhub.settlements.models import Contract

    month = month_start(day or timezone.localdate())
    renewing = Q(auto_renew=True) & (
        Q(terminated_after__isnull=True) | Q(terminated_after__gte=month)
    )
    return (
        Contract.objects.filter(partner_id=partner_id, start_month__lte=month)
        .filter(Q(end_month__gte=month) | renewing)
        .order_by("-start_month", "-id")
        .first()
    )


ASSIGNMENT_LEVELS = {"evse": 0, "charge_point": 1, "tariff_group": 2}


def tariff_for_evse(evse: Evse | int, at: dt.datetime | None = None) -> Tariff | None:
    """The tariff in force on an EVSE at ``at`` (now by default): among the assignments whose
    ``valid_from`` has passed, the EVSE's own wins over its charge point's, which wins over
    the charge point's tariff group's; within one level the latest ``valid_from`` wins. A
    tariff whose OCPI ``start_date_time``/``end_date_time`` excludes ``at`` is skipped, and so
    is a partner's own tariff on a day that partner does not host the charge point. When no
    assignment applies, the EVSE's direct ``tariff`` (if any) is the fallback.

    Accepts an ``Evse`` or its id (the session import passes ids)."""
    at = at or timezone.now()
    if not isinstance(evse, Evse):
        evse = Evse.objects.select_related("charge_point", "tariff").filter(pk=evse).first()
        if evse is None:
            return None
    cp = evse.charge_point
    target = Q(evse_id=evse.pk) | Q(charge_point_id=cp.pk)
    if cp.tariff_group_id:
        target |= Q(tariff_group_id=cp.tariff_group_id)
    candidates = (
        TariffAssignment.objects.filter(target, valid_from__lte=at)
        .annotate(
            level=Case(
                *(
                    # The most specific target first.
                    _level_when(name, level)
                    for name, level in ASSIGNMENT_LEVELS.items()
                ),
                output_field=IntegerField(),
            )
        )
        .select_related("tariff")
        .order_by("level", "-valid_from", "-id")
    )
    host: list[int | None] = []  # the host on the day of ``at``, looked up when needed
    for assignment in candidates[:20]:
        tariff = assignment.tariff
        if tariff.partner_id is not None:
            # A partner's own tariff applies only while that partner hosts the charge point.
            if not host:
                host.append(host_on([cp.pk], at.astimezone(dt.UTC).date()).get(cp.pk))
            if tariff.partner_id != host[0]:
                continue
        if _tariff_current(tariff, at):
            return tariff
    if evse.tariff_id and _tariff_current(evse.tariff, at):
        return evse.tariff
    return None


def _level_when(name: str, level: int):
    from django.db.models import When

    return When(**{f"{name}__isnull": False}, then=V(level))


def _tariff_current(tariff: Tariff, at: dt.datetime) -> bool:
    from partnerhub.charging.ocpi import _parse_datetime

    start = tariff.ocpi.get("start_date_time")
    end = tariff.ocpi.get("end_date_time")
    try:
        if start and _parse_datetime(start) > at:
            return False
        if end and _parse_datetime(end) <= at:
            return False
    except (TypeError, ValueError):
        return True
    return True


def corporate_month_to_date(driver_ids: Iterable[int], month: dt.date) -> dict[int, int]:
    """``{driver_id: minor units}``: the sum of ``total_incl_vat_minor`` of each driver's
    corporate sessions starting in the calendar month (UTC) of ``month``. One GROUP BY."""
    start = dt.datetime.combine(month_start(month), dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(next_month(month), dt.time(), tzinfo=dt.UTC)
    rows = (
        ChargingSession.objects.filter(
            driver_id__in=list(driver_ids),
            payment_method=PaymentMethod.CORPORATE,
            start__gte=start,
            start__lt=end,
        )
        .values("driver_id")
        .annotate(total=Sum("total_incl_vat_minor"))
        .values_list("driver_id", "total")
    )
    return {driver_id: int(total or 0) for driver_id, total in rows}


def electricity_price_on(location_id: int, day: dt.date) -> ElectricityPrice | None:
    return (
        ElectricityPrice.objects.filter(location_id=location_id, valid_from__lte=day)
        .order_by("-valid_from")
        .first()
    )


# --- visibility ---------------------------------------------------------------------------------


def visible_charge_points(user) -> QuerySet[ChargePoint]:
    qs = ChargePoint.objects.all()
    if is_program_admin(user):
        return qs
    return qs.filter(partner__in=visible_partners(user))


def visible_locations(user) -> QuerySet[Location]:
    qs = Location.objects.all()
    if is_program_admin(user):
        return qs
    seen = Exists(visible_charge_points(user).filter(location=OuterRef("pk")))
    if is_partner_manager(user):
        # Staff who create assets see the sites they have not equipped yet.
        empty = ~Exists(ChargePoint.objects.filter(location=OuterRef("pk")))
        return qs.filter(seen | empty)
    return qs.filter(seen)


def _partner_owned(qs, user):
    """Rows with a partner the user sees, plus the operator's own (no partner)."""
    if is_program_admin(user):
        return qs
    return qs.filter(Q(partner__isnull=True) | Q(partner__in=visible_partners(user)))


def visible_tariffs(user) -> QuerySet[Tariff]:
    return _partner_owned(Tariff.objects.all(), user)


def visible_tariff_groups(user) -> QuerySet[TariffGroup]:
    return _partner_owned(TariffGroup.objects.all(), user)


def visible_drivers(user) -> QuerySet[Driver]:
    qs = Driver.objects.all()
    if is_program_admin(user):
        return qs
    return qs.filter(partner__in=visible_partners(user))


# --- lists and lookups (404 when not visible) -----------------------------------------------------


def _with_prices(qs):
    return qs.prefetch_related(
        Prefetch("electricity_prices", queryset=ElectricityPrice.objects.order_by("valid_from"))
    )


def location_list(
    *, fetched_by, q: str | None = None, country: str | None = None
) -> QuerySet[Location]:
    qs = _with_prices(visible_locations(fetched_by))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(city__icontains=q) | Q(ocpi_id=q))
    if country:
        qs = qs.filter(country=country.upper())
    return qs.order_by("name", "id")


def location_get(*, fetched_by, location_id: int) -> Location:
    return get_object_or_404(_with_prices(visible_locations(fetched_by)), pk=location_id)


def _with_evses(qs):
    return qs.select_related("location", "partner", "tariff_group").prefetch_related(
        Prefetch(
            "evses",
            queryset=Evse.objects.order_by("uid").prefetch_related(
                Prefetch("connectors", queryset=Connector.objects.order_by("connector_id"))
            ),
        )
    )


def charge_point_list(
    *,
    fetched_by,
    location_id: int | None = None,
    partner_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[ChargePoint]:
    qs = _with_evses(visible_charge_points(fetched_by))
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(identity__icontains=q)
    return qs.order_by("identity")


def charge_point_get(*, fetched_by, charge_point_id: int) -> ChargePoint:
    return get_object_or_404(_with_evses(visible_charge_points(fetched_by)), pk=charge_point_id)


def hosting_list(*, charge_point: ChargePoint) -> QuerySet[ChargePointHosting]:
    return charge_point.hostings.select_related("partner").order_by("valid_from")


def evse_get(*, fetched_by, evse_id: int) -> Evse:
    return get_object_or_404(
        Evse.objects.filter(charge_point__in=visible_charge_points(fetched_by)).select_related(
            "charge_point__partner", "charge_point__tariff_group"
        ),
        pk=evse_id,
    )


def tariff_list(
    *, fetched_by, partner_id: int | None = None, operator: bool | None = None
) -> QuerySet[Tariff]:
    qs = visible_tariffs(fetched_by).select_related("partner")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if operator is not None:
        qs = qs.filter(partner__isnull=operator)
    return qs.order_by("ocpi_id")


def tariff_get(*, fetched_by, tariff_id: int) -> Tariff:
    return get_object_or_404(visible_tariffs(fetched_by).select_related("partner"), pk=tariff_id)


def tariff_group_list(*, fetched_by, partner_id: int | None = None) -> QuerySet[TariffGroup]:
    qs = visible_tariff_groups(fetched_by).select_related("partner")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("name", "id")


def tariff_group_get(*, fetched_by, tariff_group_id: int) -> TariffGroup:
    return get_object_or_404(
        visible_tariff_groups(fetched_by).select_related("partner"), pk=tariff_group_id
    )


def assignment_list(*, fetched_by, tariff: Tariff) -> QuerySet[TariffAssignment]:
    """A tariff's assignments on targets the user sees."""
    cps = visible_charge_points(fetched_by)
    visible_target = (
        Q(charge_point__in=cps)
        | Q(evse__charge_point__in=cps)
        | Q(tariff_group__in=visible_tariff_groups(fetched_by))
    )
    return (
        tariff.assignments.filter(visible_target)
        .select_related("tariff", "charge_point", "evse", "tariff_group")
        .order_by("-valid_from", "-id")
    )


def assignment_get(*, fetched_by, assignment_id: int) -> TariffAssignment:
    cps = visible_charge_points(fetched_by)
    qs = TariffAssignment.objects.filter(
        Q(charge_point__in=cps)
        | Q(evse__charge_point__in=cps)
        | Q(tariff_group__in=visible_tariff_groups(fetched_by))
    ).filter(tariff__in=visible_tariffs(fetched_by))
    return get_object_or_404(
        qs.select_related(
            "tariff__partner",
            "charge_point__partner",
            "evse__charge_point__partner",
            "tariff_group__partner",
        ),
        pk=assignment_id,
    )


def corporate_billing_of(partner) -> CorporateBilling | None:
    return CorporateBilling.objects.filter(partner=partner).first()


def driver_list(
    *,
    fetched_by,
    partner_id: int | None = None,
    corporate: bool | None = None,
    q: str | None = None,
) -> QuerySet[Driver]:
    qs = visible_drivers(fetched_by).select_related("partner__corporate_billing")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if corporate is not None:
        qs = qs.filter(corporate_billing=corporate)
    if q:
        qs = qs.filter(Q(external_id=q) | Q(name__icontains=q) | Q(email__iexact=q))
    return qs.order_by("external_id")


def driver_get(*, fetched_by, driver_id: int) -> Driver:
    return get_object_or_404(
        visible_drivers(fetched_by).select_related("partner__corporate_billing"), pk=driver_id
    )
