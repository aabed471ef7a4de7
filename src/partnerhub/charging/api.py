"""/api/v1/charging: locations, charge points with EVSEs and connectors, hosting history,
charge-point status (fault notifications), OCPI tariffs with groups and assignments, session
pricing, corporate billing, drivers and corporate authorisation. Thin handlers over selectors
and services; every permission question goes to core.permissions.

(Charging sessions live under /charging/sessions, in ``session_api.py``.)"""

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from partnerhub.charging import ocpi, selectors, services
from partnerhub.charging.models import ChargePoint, Driver, Evse, TariffGroup
from partnerhub.charging.schemas import (
    AssignmentIn,
    AssignmentOut,
    AuthorizeIn,
    AuthorizeOut,
    ChargePointIn,
    ChargePointOut,
    ChargePointPatch,
    ChargePointStatusIn,
    CorporateBillingIn,
    CorporateBillingOut,
    Country,
    DriverIn,
    DriverOut,
    DriverPatch,
    EvseTariffOut,
    HostingIn,
    HostingOut,
    LocationIn,
    LocationOut,
    LocationPatch,
    PriceIn,
    PriceOut,
    StatusLiteral,
    StatusNotificationOut,
    TariffGroupIn,
    TariffGroupOut,
    TariffGroupPatch,
    TariffIn,
    TariffOut,
    TariffPatch,
)
from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, to_minor
from partnerhub.core.permissions import membership, require
from partnerhub.core.schemas import ObjectId, Pagination, ShortText, UtcDatetime
from partnerhub.partners.selectors import partner_get

router = Router(tags=["charging"])
R = ERROR_RESPONSES

ASSET_STAFF_ONLY = "Only program admins and the partner's manager change charging assets."
TARIFFS_ONLY = (
    "Tariffs are managed by program admins, the partner's manager and, when its contract "
    "allows it, the partner's admins."
)
CORPORATE_STAFF_ONLY = "Only program admins and the partner's manager configure corporate billing."
DRIVERS_ONLY = "Only the partner's admins and its vendor managers change its drivers."


class LocationFilter(Schema):
    q: ShortText(100) | None = None
    country: Country | None = None


class ChargePointFilter(Schema):
    location_id: int | None = None
    partner_id: int | None = None
    status: StatusLiteral | None = None
    q: ShortText(48) | None = None


class TariffFilter(Schema):
    partner_id: int | None = None
    operator: bool | None = None


class GroupFilter(Schema):
    partner_id: int | None = None


class DriverFilter(Schema):
    partner_id: int | None = None
    corporate: bool | None = None
    q: ShortText(254) | None = None


class AtFilter(Schema):
    at: UtcDatetime | None = None


def _data(payload, *, exclude_unset: bool = True) -> dict:
    data = payload.dict(exclude_unset=exclude_unset)
    return data


def _no_nulls(data: dict, *allowed: str) -> dict:
    for name, value in data.items():
        if value is None and name not in allowed:
            raise ServiceError("This field cannot be null.", field=name)
    return data


# --- locations ----------------------------------------------------------------------------------


@router.get("/locations", response={200: list[LocationOut], **R}, summary="List locations")
@paginate(Pagination)
def location_list(request, filters: Query[LocationFilter]):
    """The sites of the charge points the caller sees (partner users: those they host now)."""
    return selectors.location_list(fetched_by=request.auth, **filters.dict())


@router.post("/locations", response={201: LocationOut, **R}, summary="Create a location")
def location_create(request, payload: LocationIn):
    require(request.auth, "charging.add_location", None, ASSET_STAFF_ONLY)
    location = services.location_create(data=payload.dict())
    return Status(201, selectors.location_get(fetched_by=request.auth, location_id=location.pk))


@router.get("/locations/{location_id}", response={200: LocationOut, **R}, summary="A location")
def location_get(request, location_id: ObjectId):
    return selectors.location_get(fetched_by=request.auth, location_id=location_id)


@router.patch(
    "/locations/{location_id}",
    response={200: LocationOut, **R},
    summary="Change a location (electricity_prices replaces every period)",
)
def location_update(request, location_id: ObjectId, payload: LocationPatch):
    location = selectors.location_get(fetched_by=request.auth, location_id=location_id)
    require(request.auth, "charging.change_location", location, ASSET_STAFF_ONLY)
    data = _no_nulls(_data(payload), "latitude", "longitude")
    if "electricity_prices" in data:
        data["electricity_prices"] = [p.dict() for p in payload.electricity_prices]
    services.location_update(location=location, data=data)
    return selectors.location_get(fetched_by=request.auth, location_id=location_id)


# --- charge points ------------------------------------------------------------------------------


def _cp(request, charge_point_id: int) -> ChargePoint:
    return selectors.charge_point_get(fetched_by=request.auth, charge_point_id=charge_point_id)


@router.get(
    "/charge-points", response={200: list[ChargePointOut], **R}, summary="List charge points"
)
@paginate(Pagination)
def charge_point_list(request, filters: Query[ChargePointFilter]):
    """Partner users see the charge points they host now; staff those of the partners they
    see (program admins also the unhosted ones)."""
    return selectors.charge_point_list(fetched_by=request.auth, **filters.dict())


def _group(request, group_id: int | None) -> TariffGroup | None:
    if group_id is None:
        return None
    return selectors.tariff_group_get(fetched_by=request.auth, tariff_group_id=group_id)


@router.post(
    "/charge-points",
    response={201: ChargePointOut, **R},
    summary="Create a charge point with its EVSEs and connectors",
)
def charge_point_create(request, payload: ChargePointIn):
    """With ``partner_id`` the charge point is hosted by that partner from ``hosted_from``
    (today when omitted)."""
    data = payload.dict()
    partner = None
    if data.get("partner_id") is not None:
        partner = partner_get(fetched_by=request.auth, partner_id=data["partner_id"])
    require(request.auth, "charging.add_chargepoint", partner, ASSET_STAFF_ONLY)
    location = selectors.location_get(fetched_by=request.auth, location_id=data.pop("location_id"))
    _group(request, data.get("tariff_group_id"))
    data["evses"] = [
        {**e.dict(), "connectors": [c.dict(exclude_none=True) for c in e.connectors]}
        for e in payload.evses
    ]
    cp = services.charge_point_create(
        location=location,
        data=data,
        partner=partner,
        hosted_from=data.get("hosted_from"),
        by=request.auth,
    )
    return Status(201, selectors.charge_point_get(fetched_by=request.auth, charge_point_id=cp.pk))


@router.get(
    "/charge-points/{charge_point_id}",
    response={200: ChargePointOut, **R},
    summary="A charge point with its EVSEs and connectors",
)
def charge_point_get(request, charge_point_id: ObjectId):
    return _cp(request, charge_point_id)


@router.patch(
    "/charge-points/{charge_point_id}",
    response={200: ChargePointOut, **R},
    summary="Change a charge point (evses: the complete list, matched by uid)",
)
def charge_point_update(request, charge_point_id: ObjectId, payload: ChargePointPatch):
    cp = _cp(request, charge_point_id)
    require(request.auth, "charging.change_chargepoint", cp, ASSET_STAFF_ONLY)
    data = _no_nulls(_data(payload), "tariff_group_id")
    if data.get("location_id") is not None:
        selectors.location_get(fetched_by=request.auth, location_id=data["location_id"])
    _group(request, data.get("tariff_group_id"))
    if "evses" in data:
        data["evses"] = [
            {**e.dict(), "connectors": [c.dict(exclude_none=True) for c in e.connectors]}
            for e in payload.evses
        ]
    services.charge_point_update(charge_point=cp, data=data)
    return _cp(request, charge_point_id)


@router.get(
    "/charge-points/{charge_point_id}/hostings",
    response={200: list[HostingOut], **R},
    summary="Hosting history of a charge point",
)
def hosting_list(request, charge_point_id: ObjectId):
    return list(selectors.hosting_list(charge_point=_cp(request, charge_point_id)))


@router.post(
    "/charge-points/{charge_point_id}/hostings",
    response={200: list[HostingOut], **R},
    summary="Move a charge point to another host (or end its hosting) from a day",
)
def hosting_assign(request, charge_point_id: ObjectId, payload: HostingIn):
    """The current period ends the day before ``valid_from``. Refused (409) when dated on or
    before the latest period's start: that would rewrite settled history. Answers the whole
    history."""
    cp = _cp(request, charge_point_id)
    require(request.auth, "charging.change_chargepoint", cp, ASSET_STAFF_ONLY)
    partner = None
    if payload.partner_id is not None:
        partner = partner_get(fetched_by=request.auth, partner_id=payload.partner_id)
        require(request.auth, "charging.host_chargepoint", partner, ASSET_STAFF_ONLY)
    services.hosting_assign(
        charge_point=cp, partner=partner, valid_from=payload.valid_from, by=request.auth
    )
    return list(selectors.hosting_list(charge_point=cp))


@router.post(
    "/charge-points/{charge_point_id}/status",
    response={201: StatusNotificationOut, **R},
    summary="Report a charge point's status (a fault e-mails the host's technical contact)",
)
def status_report(request, charge_point_id: ObjectId, payload: ChargePointStatusIn):
    """On a change to ``faulted`` the host's technical contact is e-mailed when the host's
    contract in force has fault notifications; the outbox event
    ``charging.charge_point_faulted`` is written either way."""
    cp = _cp(request, charge_point_id)
    require(
        request.auth,
        "charging.report_status",
        cp,
        "Only program admins and the partner's manager report charge-point status.",
    )
    notification = services.charge_point_report_status(
        charge_point=cp,
        status=payload.status,
        error_code=payload.error_code,
        info=payload.info,
        reported_by=request.auth,
    )
    return Status(201, notification)


@router.get(
    "/evses/{evse_id}/tariff",
    response={200: EvseTariffOut, **R},
    summary="The tariff in force on an EVSE (most specific assignment wins)",
)
def evse_tariff(request, evse_id: ObjectId, filters: Query[AtFilter]):
    evse = selectors.evse_get(fetched_by=request.auth, evse_id=evse_id)
    at = filters.at or timezone.now()
    tariff = selectors.tariff_for_evse(evse, at)
    if (
        tariff is not None
        and not selectors.visible_tariffs(request.auth).filter(pk=tariff.pk).exists()
    ):
        tariff = None  # never show another partner's tariff
    return {"evse_id": evse.pk, "at": at, "tariff": tariff}


# --- tariffs ------------------------------------------------------------------------------------


def _tariff(request, tariff_id: int):
    return selectors.tariff_get(fetched_by=request.auth, tariff_id=tariff_id)


def _own_partner(request, partner_id: int | None):
    """The partner named, or the caller's own organisation for a partner user."""
    m = membership(request.auth)
    if partner_id is None and m is not None:
        partner_id = m.partner_id
    if partner_id is None:
        return None
    return partner_get(fetched_by=request.auth, partner_id=partner_id)


@router.get("/tariffs", response={200: list[TariffOut], **R}, summary="List tariffs")
@paginate(Pagination)
def tariff_list(request, filters: Query[TariffFilter]):
    """The operator's tariffs and those of the partners the caller sees."""
    return selectors.tariff_list(fetched_by=request.auth, **filters.dict())


@router.post("/tariffs", response={201: TariffOut, **R}, summary="Import an OCPI 2.2.1 Tariff")
def tariff_create(request, payload: TariffIn):
    """Validation errors answer 422 with one detail per problem, ``loc`` being the JSON path
    (``["body", "ocpi", "elements", 0, "price_components", 0, "price"]``)."""
    partner = _own_partner(request, payload.partner_id)
    require(request.auth, "charging.manage_tariffs", partner, TARIFFS_ONLY)
    tariff = services.tariff_create(data=payload.ocpi, partner=partner, name=payload.name)
    return Status(201, tariff)


@router.get("/tariffs/{tariff_id}", response={200: TariffOut, **R}, summary="A tariff")
def tariff_get(request, tariff_id: ObjectId):
    return _tariff(request, tariff_id)


@router.get(
    "/tariffs/{tariff_id}/ocpi",
    response={200: dict[str, Any], **R},
    summary="Export a tariff as OCPI 2.2.1 Tariff JSON",
)
def tariff_export(request, tariff_id: ObjectId):
    """Numbers are written exactly as JSON numbers (no float noise)."""
    tariff = _tariff(request, tariff_id)
    return HttpResponse(
        ocpi.ocpi_dumps(services.tariff_export(tariff)), content_type="application/json"
    )


@router.patch(
    "/tariffs/{tariff_id}",
    response={200: TariffOut, **R},
    summary="Rename a tariff or replace its OCPI object (same id)",
)
def tariff_update(request, tariff_id: ObjectId, payload: TariffPatch):
    tariff = _tariff(request, tariff_id)
    require(request.auth, "charging.manage_tariffs", tariff, TARIFFS_ONLY)
    return services.tariff_update(tariff=tariff, data=payload.ocpi, name=payload.name)


@router.delete(
    "/tariffs/{tariff_id}", response={204: None, **R}, summary="Delete an unassigned tariff"
)
def tariff_delete(request, tariff_id: ObjectId):
    tariff = _tariff(request, tariff_id)
    require(request.auth, "charging.manage_tariffs", tariff, TARIFFS_ONLY)
    services.tariff_delete(tariff=tariff)
    return Status(204, None)


def _cost(cost) -> dict[str, str]:
    return {"excl_vat": str(cost.excl_vat), "incl_vat": str(cost.incl_vat)}


@router.post(
    "/tariffs/{tariff_id}/price",
    response={200: PriceOut, **R},
    summary="Price a session with this tariff (OCPI rules)",
)
def tariff_price(request, tariff_id: ObjectId, payload: PriceIn):
    """Give ``start``, ``end`` and ``kwh`` (optionally charging/parking hours and max power),
    or the OCPI ``charging_periods``. Time-of-day restrictions apply in ``time_zone``."""
    tariff = _tariff(request, tariff_id)
    result = services.price_session(
        tariff=tariff,
        start=payload.start,
        end=payload.end,
        kwh=payload.kwh,
        charging_hours=payload.charging_hours,
        parking_hours=payload.parking_hours,
        max_power_kw=payload.max_power_kw,
        charging_periods=[p.dict() for p in payload.charging_periods or []] or None,
        time_zone=payload.time_zone or "UTC",
    )
    currency = result.currency
    return {
        "currency": currency,
        "total_cost": _cost(result.total_cost),
        "subtotal": _cost(result.subtotal),
        "total_energy_cost": _cost(result.total_energy_cost),
        "total_time_cost": _cost(result.total_time_cost),
        "total_parking_cost": _cost(result.total_parking_cost),
        "total_fixed_cost": _cost(result.total_fixed_cost),
        "total_energy": str(result.total_energy),
        "total_time": str(result.total_time),
        "total_charging_time": str(result.total_charging_time),
        "total_parking_time": str(result.total_parking_time),
        "billed_energy": str(result.billed_energy),
        "billed_charging_time": str(result.billed_charging_time),
        "billed_parking_time": str(result.billed_parking_time),
        "price_limit": result.price_limit,
        "total_excl_vat": str(from_minor(to_minor(result.total_cost.excl_vat, currency), currency)),
        "total_incl_vat": str(from_minor(to_minor(result.total_cost.incl_vat, currency), currency)),
    }


@router.get(
    "/tariffs/{tariff_id}/assignments",
    response={200: list[AssignmentOut], **R},
    summary="Where a tariff applies",
)
def assignment_list(request, tariff_id: ObjectId):
    tariff = _tariff(request, tariff_id)
    return list(selectors.assignment_list(fetched_by=request.auth, tariff=tariff))


@router.post(
    "/tariffs/{tariff_id}/assignments",
    response={201: AssignmentOut, **R},
    summary="Apply a tariff to a tariff group, a charge point or one EVSE",
)
def assignment_create(request, tariff_id: ObjectId, payload: AssignmentIn):
    """For a session the most specific assignment in force wins: EVSE, then charge point,
    then the charge point's tariff group."""
    tariff = _tariff(request, tariff_id)
    targets = [
        name
        for name in ("tariff_group_id", "charge_point_id", "evse_id")
        if getattr(payload, name) is not None
    ]
    if len(targets) != 1:
        raise ServiceError(
            "Give exactly one of tariff_group_id, charge_point_id or evse_id.",
            field=targets[1] if len(targets) > 1 else "charge_point_id",
        )
    if payload.tariff_group_id is not None:
        target = _group(request, payload.tariff_group_id)
    elif payload.charge_point_id is not None:
        target = _cp(request, payload.charge_point_id)
    else:
        target = selectors.evse_get(fetched_by=request.auth, evse_id=payload.evse_id)
    require(request.auth, "charging.manage_tariffs", target, TARIFFS_ONLY)
    assignment = services.assignment_create(
        tariff=tariff, target=target, valid_from=payload.valid_from
    )
    return Status(201, assignment)


@router.delete(
    "/tariff-assignments/{assignment_id}",
    response={204: None, **R},
    summary="Remove a tariff assignment",
)
def assignment_delete(request, assignment_id: ObjectId):
    assignment = selectors.assignment_get(fetched_by=request.auth, assignment_id=assignment_id)
    target = assignment.evse or assignment.charge_point or assignment.tariff_group
    require(request.auth, "charging.manage_tariffs", target, TARIFFS_ONLY)
    services.assignment_delete(assignment=assignment)
    return Status(204, None)


@router.get(
    "/tariff-groups", response={200: list[TariffGroupOut], **R}, summary="List tariff groups"
)
@paginate(Pagination)
def tariff_group_list(request, filters: Query[GroupFilter]):
    return selectors.tariff_group_list(fetched_by=request.auth, **filters.dict())


@router.post("/tariff-groups", response={201: TariffGroupOut, **R}, summary="Create a tariff group")
def tariff_group_create(request, payload: TariffGroupIn):
    partner = _own_partner(request, payload.partner_id)
    require(request.auth, "charging.manage_tariffs", partner, TARIFFS_ONLY)
    return Status(201, services.tariff_group_create(name=payload.name, partner=partner))


@router.patch(
    "/tariff-groups/{tariff_group_id}",
    response={200: TariffGroupOut, **R},
    summary="Rename a tariff group",
)
def tariff_group_update(request, tariff_group_id: ObjectId, payload: TariffGroupPatch):
    group = selectors.tariff_group_get(fetched_by=request.auth, tariff_group_id=tariff_group_id)
    require(request.auth, "charging.manage_tariffs", group, TARIFFS_ONLY)
    return services.tariff_group_update(group=group, data=_no_nulls(_data(payload)))


# --- corporate billing and drivers ------------------------------------------------------------


def _billing_out(partner) -> dict:
    billing = selectors.corporate_billing_of(partner)
    if billing is None:
        return {
            "partner_id": partner.pk,
            "enabled": False,
            "currency": None,
            "monthly_limit": None,
            "discount_percent": None,
        }
    return {
        "partner_id": partner.pk,
        "enabled": billing.enabled,
        "currency": billing.currency,
        "monthly_limit": str(from_minor(billing.monthly_limit_minor, billing.currency)),
        "discount_percent": str(billing.discount_percent),
    }


@router.get(
    "/partners/{partner_id}/corporate-billing",
    response={200: CorporateBillingOut, **R},
    summary="A partner's corporate billing",
)
def corporate_billing_get(request, partner_id: ObjectId):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "charging.view_corporatebilling", partner)
    return _billing_out(partner)


@router.post(
    "/partners/{partner_id}/corporate-billing",
    response={200: CorporateBillingOut, **R},
    summary="Configure a partner's corporate billing",
)
def corporate_billing_set(request, partner_id: ObjectId, payload: CorporateBillingIn):
    partner = partner_get(fetched_by=request.auth, partner_id=partner_id)
    require(request.auth, "charging.change_corporatebilling", partner, CORPORATE_STAFF_ONLY)
    services.corporate_billing_set(
        partner=partner,
        enabled=payload.enabled,
        currency=payload.currency,
        monthly_limit=payload.monthly_limit,
        discount_percent=payload.discount_percent,
    )
    return _billing_out(partner)


def _driver(request, driver_id: int) -> Driver:
    return selectors.driver_get(fetched_by=request.auth, driver_id=driver_id)


@router.get("/drivers", response={200: list[DriverOut], **R}, summary="List drivers")
@paginate(Pagination)
def driver_list(request, filters: Query[DriverFilter]):
    """Drivers of the partners the caller sees."""
    return selectors.driver_list(fetched_by=request.auth, **filters.dict())


@router.post("/drivers", response={201: DriverOut, **R}, summary="Add a partner's driver")
def driver_create(request, payload: DriverIn):
    """Partner admins add drivers when their contract allows creating users."""
    partner = _own_partner(request, payload.partner_id)
    if partner is None:
        raise ServiceError("Say which partner the driver belongs to.", field="partner_id")
    require(
        request.auth,
        "charging.add_driver",
        partner,
        "Drivers are added by the partner's vendor managers, and by its admins when the "
        "contract allows creating users.",
    )
    data = payload.dict(exclude={"partner_id"})
    if data.get("monthly_limit") is None:
        data.pop("monthly_limit")
    driver = services.driver_create(partner=partner, data=data)
    return Status(201, _driver(request, driver.pk))


@router.get("/drivers/{driver_id}", response={200: DriverOut, **R}, summary="A driver")
def driver_get(request, driver_id: ObjectId):
    return _driver(request, driver_id)


@router.patch(
    "/drivers/{driver_id}",
    response={200: DriverOut, **R},
    summary="Mark a driver as corporate and set its monthly limit",
)
def driver_update(request, driver_id: ObjectId, payload: DriverPatch):
    """Needs the partner's corporate billing enabled. ``monthly_limit: null`` falls back to
    the partner's default."""
    driver = _driver(request, driver_id)
    require(request.auth, "charging.change_driver", driver, DRIVERS_ONLY)
    data = _no_nulls(_data(payload), "monthly_limit")
    services.driver_update(driver=driver, data=data)
    return _driver(request, driver_id)


@router.post(
    "/authorize",
    response={200: AuthorizeOut, **R},
    summary="Authorise a driver's session under corporate billing",
)
def authorize(request, payload: AuthorizeIn):
    """Called by the CSMS before a session starts. A corporate driver is refused (409, the
    message naming the limit, the amount used this month and the currency) once its
    corporate sessions this calendar month (UTC) reach its monthly limit, or when
    ``expected_amount`` would pass it; otherwise the remaining allowance is answered."""
    require(
        request.auth,
        "charging.authorize_session",
        None,
        "Only program admins (the CSMS integration) authorise sessions.",
    )
    driver = (
        Driver.objects.select_related("partner").filter(external_id=payload.driver_external_id)
    ).first()
    if driver is None:
        raise ServiceError(f"No driver {payload.driver_external_id}.", field="driver_external_id")
    evse = Evse.objects.select_related("charge_point").filter(uid=payload.evse_uid).first()
    if evse is None:
        raise ServiceError(f"No EVSE {payload.evse_uid}.", field="evse_uid")
    result = services.authorize_session(
        driver=driver, evse=evse, expected_amount=payload.expected_amount
    )

    def money(minor):
        return None if minor is None else str(from_minor(minor, result.currency))

    return {
        "authorized": result.authorized,
        "corporate": result.corporate,
        "message": result.message,
        "partner_id": result.partner_id,
        "currency": result.currency or None,
        "month": result.month,
        "limit": money(result.limit_minor),
        "month_to_date": money(result.month_to_date_minor),
        "remaining": money(result.remaining_minor),
    }
