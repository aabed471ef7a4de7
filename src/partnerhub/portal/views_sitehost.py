"""Site-host pages of the partner portal (/portal/site/): the charge points a partner hosts,
its tariffs, its corporate-billing drivers, the running month and its settlement statements.

Thin views, as in ``views.py``: objects are read through the charging and settlement
selectors with ``fetched_by=request.user`` (another partner's location, tariff or statement
answers 404), permissions through ``core.permissions`` (tariffs are editable only while the
contract in force grants ``can_manage_tariffs``; partner admins change driver limits), and
every write goes through a service whose ``ServiceError`` is shown at its field. Every page
reads with JavaScript off; the number of SQL queries does not grow with the lists.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.charging import ocpi
from partnerhub.charging import selectors as charging
from partnerhub.charging import services as charging_services
from partnerhub.charging.models import (
    ChargePointHosting,
    ChargePointStatus,
    Evse,
    TariffAssignment,
)
from partnerhub.core import charts
from partnerhub.core.errors import ServiceError
from partnerhub.core.money import from_minor, minor_digits
from partnerhub.core.permissions import (
    member_partner_ids,
    membership,
    require,
    visible_charging_sessions,
)
from partnerhub.portal.access import partner_page
from partnerhub.portal.views import _id, _page
from partnerhub.settlements import exports
from partnerhub.settlements import selectors as settlement_selectors
from partnerhub.settlements.models import LineKind

CHARGE_POINTS_PER_PAGE = 25
DRIVERS_PER_PAGE = 50
STATEMENTS_PER_PAGE = 24
SESSION_LINES_PER_PAGE = 50

STATUS_BADGES = {
    ChargePointStatus.AVAILABLE: "ok",
    ChargePointStatus.CHARGING: "ok",
    ChargePointStatus.FAULTED: "bad",
    ChargePointStatus.UNAVAILABLE: "warn",
    ChargePointStatus.REMOVED: "",
}
DAY_NAMES = {
    "MONDAY": gettext_lazy("Monday"),
    "TUESDAY": gettext_lazy("Tuesday"),
    "WEDNESDAY": gettext_lazy("Wednesday"),
    "THURSDAY": gettext_lazy("Thursday"),
    "FRIDAY": gettext_lazy("Friday"),
    "SATURDAY": gettext_lazy("Saturday"),
    "SUNDAY": gettext_lazy("Sunday"),
}


# --- the navigation ----------------------------------------------------------------------------


def is_site_host(partner_id: int) -> bool:
    """The partner hosts (or hosted) charge points, or has a site-host contract or statement:
    one query."""
    from partnerhub.partners.models import Partner
    from partnerhub.settlements.models import Contract, Statement

    return (
        Partner.objects.filter(pk=partner_id)
        .filter(
            Exists(ChargePointHosting.objects.filter(partner=OuterRef("pk")))
            | Exists(Contract.objects.filter(partner=OuterRef("pk")))
            | Exists(Statement.objects.filter(partner=OuterRef("pk")))
        )
        .exists()
    )


def sitehost_nav(request) -> dict:
    """Context processor: ``is_site_host`` for the portal's navigation, computed (one query)
    only when a template asks for it and only for partner users."""

    @cache
    def answer() -> bool:
        m = membership(getattr(request, "user", None))
        return m is not None and is_site_host(m.partner_id)

    return {"is_site_host": answer}


# --- formatting helpers ------------------------------------------------------------------------


def _number(value, places: int | None = None) -> str:
    return formats.number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


def money(minor: int | None, currency: str) -> str:
    """``1234567, "EUR"`` → ``12,345.67 EUR``."""
    return f"{_number(from_minor(minor or 0, currency), minor_digits(currency))} {currency}"


def kwh(energy_wh: int | None) -> str:
    """``12345`` Wh → ``12.345 kWh`` (three places: watt-hours exactly)."""
    return f"{_number(Decimal(energy_wh or 0) / 1000, 3)} kWh"


def percent(value) -> str:
    value = Decimal(value)
    return f"{_number(value.normalize() if value == value.to_integral() else value, None)} %"


def _rate(value, currency: str) -> str:
    """A price per unit: at least the currency's digits, more when the tariff has them."""
    value = Decimal(str(value))
    places = max(minor_digits(currency), -value.normalize().as_tuple().exponent)
    return f"{_number(value, places)} {currency}"


def _month_label(month: dt.date) -> str:
    return formats.date_format(month, "F Y")


def _this_month() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date().replace(day=1)


# --- tariffs in words --------------------------------------------------------------------------


COMPONENT_UNITS = {
    "ENERGY": gettext_lazy("per kWh"),
    "TIME": gettext_lazy("per hour charging"),
    "PARKING_TIME": gettext_lazy("per hour parking"),
    "FLAT": gettext_lazy("per session"),
}
COMPONENT_NAMES = {
    "ENERGY": gettext_lazy("Energy"),
    "TIME": gettext_lazy("Charging time"),
    "PARKING_TIME": gettext_lazy("Parking time"),
    "FLAT": gettext_lazy("Connection fee"),
}


def _step(component) -> str:
    step = component.step_size
    if component.type == "FLAT" or step in (0, 1):
        return ""
    if component.type == "ENERGY":
        return _("billed in steps of %(wh)s Wh") % {"wh": _number(step, 0)}
    return _("billed in steps of %(seconds)s s") % {"seconds": _number(step, 0)}


def _clock(value, default: str) -> str:
    return value.strftime("%H:%M") if hasattr(value, "strftime") else (value or default)


def _day(value) -> str:
    return formats.date_format(value, "DATE_FORMAT") if hasattr(value, "year") else (value or "…")


def _restrictions(r) -> list[str]:
    """An OCPI TariffRestrictions in words, one phrase per restriction."""
    if r is None:
        return []
    out = []
    if r.start_time or r.end_time:
        out.append(
            _("from %(start)s to %(end)s")
            % {"start": _clock(r.start_time, "00:00"), "end": _clock(r.end_time, "24:00")}
        )
    if r.day_of_week:
        out.append(", ".join(str(DAY_NAMES.get(str(d), str(d))) for d in r.day_of_week))
    if r.start_date or r.end_date:
        out.append(
            _("dates %(start)s to %(end)s") % {"start": _day(r.start_date), "end": _day(r.end_date)}
        )
    for low, high, unit in (
        (r.min_kwh, r.max_kwh, "kWh"),
        (r.min_power, r.max_power, "kW"),
        (r.min_current, r.max_current, "A"),
    ):
        if low is not None and high is not None:
            out.append(_("%(low)s to %(high)s %(unit)s") % {"low": low, "high": high, "unit": unit})
        elif low is not None:
            out.append(_("from %(low)s %(unit)s") % {"low": low, "unit": unit})
        elif high is not None:
            out.append(_("below %(high)s %(unit)s") % {"high": high, "unit": unit})
    if r.min_duration is not None:
        out.append(_("after %(minutes)s min") % {"minutes": _number(r.min_duration / 60, 0)})
    if r.max_duration is not None:
        out.append(
            _("for the first %(minutes)s min") % {"minutes": _number(r.max_duration / 60, 0)}
        )
    if r.reservation:
        out.append(_("reservations (%(kind)s)") % {"kind": str(r.reservation).lower()})
    return out


def tariff_in_words(tariff) -> dict:
    """What a tariff charges, element by element: ``{"elements": [...], "error": ...}``. An
    element is ``{"components": [{"name", "price", "unit", "vat", "step"}], "restrictions":
    [phrases]}``; elements without restrictions apply always (in OCPI order, first match)."""
    try:
        parsed = ocpi.parse_tariff(tariff.ocpi)
    except ocpi.OcpiValidationError:
        return {"elements": [], "error": _("The stored OCPI tariff does not validate.")}
    currency = parsed.currency.upper()
    elements = []
    for element in parsed.elements:
        components = [
            {
                "name": str(COMPONENT_NAMES.get(str(c.type), str(c.type))),
                "price": _rate(c.price, currency),
                "unit": str(COMPONENT_UNITS.get(str(c.type), "")),
                "vat": percent(c.vat) if c.vat is not None else "",
                "step": _step(c),
            }
            for c in element.price_components
        ]
        elements.append(
            {"components": components, "restrictions": _restrictions(element.restrictions)}
        )
    limits = []
    if parsed.min_price is not None:
        limits.append(
            _("at least %(price)s excl. VAT")
            % {"price": _rate(parsed.min_price.excl_vat, currency)}
        )
    if parsed.max_price is not None:
        limits.append(
            _("at most %(price)s excl. VAT") % {"price": _rate(parsed.max_price.excl_vat, currency)}
        )
    return {
        "elements": elements,
        "limits": limits,
        "valid_from": parsed.start_date_time,
        "valid_to": parsed.end_date_time,
        "type": str(parsed.type) if parsed.type else "",
        "error": "",
    }


# --- site overview -----------------------------------------------------------------------------


def _contract(request):
    return charging.contract_in_force(partner_id=request.partner.pk)


@partner_page
@require_GET
def overview(request):
    """Locations → charge points → EVSEs with their status and the current hosting period."""
    today = timezone.localdate()
    current = ChargePointHosting.objects.filter(valid_from__lte=today).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )
    qs = (
        charging.charge_point_list(fetched_by=request.user)
        .prefetch_related(Prefetch("hostings", queryset=current, to_attr="current_hosting"))
        .order_by("location__name", "location_id", "identity")
    )
    page = Paginator(qs, CHARGE_POINTS_PER_PAGE).get_page(request.GET.get("page"))
    locations: list[dict] = []
    for cp in page.object_list:
        cp.badge = STATUS_BADGES.get(cp.status, "")
        cp.hosting = cp.current_hosting[0] if cp.current_hosting else None
        cp.evse_list = list(cp.evses.all())
        for evse in cp.evse_list:
            evse.connector_list = list(evse.connectors.all())
        if not locations or locations[-1]["location"].pk != cp.location_id:
            locations.append({"location": cp.location, "charge_points": []})
        locations[-1]["charge_points"].append(cp)
    totals = charging.visible_charge_points(request.user).aggregate(
        charge_points=Count("id", distinct=True),
        ac=Count("evses", filter=Q(evses__current_type="AC")),
        dc=Count("evses", filter=Q(evses__current_type="DC")),
        faulted=Count("id", filter=Q(status=ChargePointStatus.FAULTED), distinct=True),
    )
    contract = _contract(request)
    return _page(
        request,
        "portal/sitehost/overview.html",
        {
            "page": page,
            "locations": locations,
            "totals": totals,
            "contract": contract,
            "contract_terms": _contract_terms(contract) if contract else None,
            "today": today,
        },
    )


def _contract_terms(contract) -> dict:
    from partnerhub.settlements.models import PARTNER_OPTIONS, REMOTE_PERMISSIONS

    return {
        "ac_share": percent(contract.ac_share_percent),
        "dc_share": percent(contract.dc_share_percent),
        "options": [str(label) for name, label in PARTNER_OPTIONS if getattr(contract, name)],
        "remote": [str(label) for name, label in REMOTE_PERMISSIONS if getattr(contract, name)],
    }


# --- tariffs -----------------------------------------------------------------------------------


def _tariff_rights(request, tariff=None) -> tuple[bool, str]:
    """May the user edit tariffs (``tariff``: this one)? And if not, why, in words."""
    target = tariff if tariff is not None else request.partner
    if tariff is not None and tariff.partner_id is None:
        return False, _(
            "This is the operator's own tariff: only the operator changes it. Ask your partner "
            "manager for your own tariff."
        )
    if request.user.has_perm("charging.manage_tariffs", target):
        return True, ""
    contract = _contract(request)
    if contract is None or not contract.can_manage_tariffs:
        return False, _(
            "Your contract in force does not include managing tariffs, so tariffs are shown "
            "read-only. Your partner manager can add this option to the contract."
        )
    return False, _("Only your organisation's admins change its tariffs.")


@partner_page
@require_GET
def tariff_list(request):
    ids = member_partner_ids(request.user)
    own = list(charging.tariff_list(fetched_by=request.user).filter(partner_id__in=ids))
    # The operator's tariffs that apply to the partner's charge points (group, point or EVSE).
    cps = charging.visible_charge_points(request.user).filter(partner_id__in=ids)
    applied = Q(
        Exists(
            TariffAssignment.objects.filter(tariff=OuterRef("pk")).filter(
                Q(charge_point__in=cps)
                | Q(evse__charge_point__in=cps)
                | Q(tariff_group__charge_points__in=cps)
            )
        )
    ) | Q(Exists(Evse.objects.filter(tariff=OuterRef("pk"), charge_point__in=cps)))
    operator = list(
        charging.tariff_list(fetched_by=request.user, operator=True).filter(applied).distinct()
    )
    for tariff in own + operator:
        tariff.words = tariff_in_words(tariff)
    can_edit, why_not = _tariff_rights(request)
    return _page(
        request,
        "portal/sitehost/tariffs.html",
        {"own": own, "operator": operator, "can_edit": can_edit, "why_not": why_not},
    )


class TariffForm(forms.Form):
    """The OCPI Tariff object as JSON (validated by the service, errors at their path)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    ocpi = forms.CharField(
        label=gettext_lazy("OCPI Tariff (JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "The OCPI 2.2.1 Tariff object. Its id stays the same; prices are excl. VAT."
        ),
    )

    def clean_ocpi(self):
        try:
            data = ocpi.ocpi_loads(self.cleaned_data["ocpi"])
        except ValueError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON: %(error)s") % {"error": exc}
            ) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("Give one OCPI Tariff object ({...})."))
        return data


# The price components the simple editor offers: (OCPI type, form field).
SIMPLE_COMPONENTS = (
    ("ENERGY", "energy"),
    ("TIME", "time"),
    ("PARKING_TIME", "parking"),
    ("FLAT", "flat"),
)


def _price(label, help_text):
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class SimplePricesForm(forms.Form):
    """A tariff of one price per component, every hour of every day: what most site hosts
    charge. Prices excl. VAT, in the tariff's currency; an empty price is not charged."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    energy = _price(gettext_lazy("Energy, per kWh"), gettext_lazy("Excl. VAT."))
    time = _price(gettext_lazy("Charging time, per hour"), gettext_lazy("Excl. VAT."))
    parking = _price(
        gettext_lazy("Parking time, per hour"),
        gettext_lazy("Excl. VAT; the time plugged in but not charging."),
    )
    flat = _price(gettext_lazy("Start fee, per session"), gettext_lazy("Excl. VAT."))
    vat = forms.DecimalField(
        label=gettext_lazy("VAT %"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=gettext_lazy("Empty: VAT not stated on the tariff."),
    )

    def clean(self):
        data = super().clean()
        if not self.errors and all(data.get(f) is None for _, f in SIMPLE_COMPONENTS):
            raise forms.ValidationError(_("Give at least one price."))
        return data


def simple_prices(data: dict) -> dict | None:
    """The simple editor's values of an OCPI Tariff (dict), or None when the tariff is more
    than that: several elements, restrictions (time of day, weekdays, kWh, power...), a
    component twice or another VAT per component."""
    elements = data.get("elements") or []
    if len(elements) != 1 or elements[0].get("restrictions"):
        return None
    fields = dict(SIMPLE_COMPONENTS)
    values: dict = dict.fromkeys(fields.values())
    vats = set()
    for component in elements[0].get("price_components") or []:
        field = fields.get(component.get("type"))
        if field is None or values[field] is not None:
            return None
        values[field] = Decimal(str(component.get("price")))
        vats.add(component.get("vat"))
    if len(vats) > 1:
        return None
    vat = next(iter(vats), None)
    values["vat"] = None if vat is None else Decimal(str(vat))
    return values


def with_simple_prices(data: dict, values: dict) -> dict:
    """``data`` (an OCPI Tariff dict) with its elements replaced by one element of the given
    prices; the step sizes it had are kept (1 otherwise: per Wh, per second)."""
    steps = {
        c.get("type"): c.get("step_size", 1)
        for element in data.get("elements") or []
        for c in element.get("price_components") or []
    }
    components = []
    for kind, field in SIMPLE_COMPONENTS:
        if values.get(field) is None:
            continue
        component = {"type": kind, "price": values[field], "step_size": steps.get(kind, 1)}
        if values.get("vat") is not None:
            component["vat"] = values["vat"]
        components.append(component)
    return {**data, "elements": [{"price_components": components}]}


def _tariff_page(request, tariff, form=None, errors=None, prices_form=None):
    can_edit, why_not = _tariff_rights(request, tariff)
    current = charging_services.tariff_export(tariff)
    simple = simple_prices(current)
    if can_edit and form is None:
        form = TariffForm(initial={"name": tariff.name, "ocpi": ocpi.ocpi_dumps(current, indent=2)})
    if can_edit and prices_form is None and simple is not None:
        prices_form = SimplePricesForm(
            prefix="prices",
            initial={"name": tariff.name, **{k: v for k, v in simple.items() if v is not None}},
        )
    assignments = list(charging.assignment_list(fetched_by=request.user, tariff=tariff))
    return _page(
        request,
        "portal/sitehost/tariff_detail.html",
        {
            "tariff": tariff,
            "words": tariff_in_words(tariff),
            "assignments": assignments,
            "can_edit": can_edit,
            "why_not": why_not,
            "form": form,
            "prices_form": prices_form,
            "ocpi_errors": errors or [],
            # The JSON editor is open when it is the only one, or was the one just posted.
            "json_open": simple is None or (form is not None and form.is_bound),
        },
    )


@partner_page
@require_http_methods(["GET", "POST"])
def tariff_detail(request, pk: int):
    tariff = charging.tariff_get(fetched_by=request.user, tariff_id=_id(pk))
    if request.method == "GET":
        return _tariff_page(request, tariff)
    can_edit, why_not = _tariff_rights(request, tariff)
    if not can_edit:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(why_not)
    if request.POST.get("editor") == "prices":
        return _tariff_prices_post(request, tariff)
    form = TariffForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            charging_services.tariff_update(
                tariff=tariff, data=form.cleaned_data["ocpi"], name=form.cleaned_data["name"]
            )
        except charging_services.TariffInvalid as exc:
            errors = [f"{path}: {message}" for path, message in exc.errors]
            form.add_error("ocpi", _("The tariff does not validate; see the problems below."))
        except ServiceError as exc:
            form.add_error("name" if exc.field == "name" else "ocpi", exc.message)
        else:
            messages.success(request, _("Tariff %(id)s is saved.") % {"id": tariff.ocpi_id})
            return redirect("portal:site-tariff", tariff.pk)
    return _tariff_page(request, tariff, form=form, errors=errors)


def _tariff_prices_post(request, tariff):
    """Save the simple editor's prices (a tariff that is no longer simple: refused, as the
    page then offers the JSON editor only)."""
    prices_form = SimplePricesForm(request.POST, prefix="prices")
    errors: list[str] = []
    current = charging_services.tariff_export(tariff)
    if simple_prices(current) is None:
        prices_form.add_error(
            None, _("This tariff has restrictions or several elements: change it as OCPI JSON.")
        )
    elif prices_form.is_valid():
        data = with_simple_prices(current, prices_form.cleaned_data)
        try:
            charging_services.tariff_update(
                tariff=tariff, data=data, name=prices_form.cleaned_data["name"]
            )
        except charging_services.TariffInvalid as exc:
            errors = [f"{path}: {message}" for path, message in exc.errors]
            prices_form.add_error(None, _("The tariff does not validate; see the problems below."))
        except ServiceError as exc:
            prices_form.add_error("name" if exc.field == "name" else None, exc.message)
        else:
            messages.success(request, _("Tariff %(id)s is saved.") % {"id": tariff.ocpi_id})
            return redirect("portal:site-tariff", tariff.pk)
    return _tariff_page(request, tariff, errors=errors, prices_form=prices_form)


# --- corporate billing -------------------------------------------------------------------------


class DriverLimitForm(forms.Form):
    corporate_billing = forms.BooleanField(
        label=gettext_lazy("Charge to the company"), required=False
    )
    monthly_limit = forms.DecimalField(
        label=gettext_lazy("Own monthly limit"),
        required=False,
        min_value=0,
        max_digits=15,
        decimal_places=2,
        help_text=gettext_lazy("Incl. VAT; empty: the company's default."),
    )


def _drivers_page(request, *, errors=None, forms_by_id=None):
    partner = request.partner
    billing = charging.corporate_billing_of(partner)
    qs = charging.driver_list(fetched_by=request.user, partner_id=partner.pk)
    page = Paginator(qs, DRIVERS_PER_PAGE).get_page(request.GET.get("page"))
    drivers = list(page.object_list)
    month = timezone.localdate()
    used = charging.corporate_month_to_date([d.pk for d in drivers], month)
    errors = errors or {}
    forms_by_id = forms_by_id or {}
    for d in drivers:
        d.used_minor = used.get(d.pk, 0)
        d.can_change = request.user.has_perm("charging.change_driver", d)
        d.error = errors.get(d.pk)
        d.form = forms_by_id.get(d.pk) or DriverLimitForm(
            initial={
                "corporate_billing": d.corporate_billing,
                "monthly_limit": (
                    from_minor(d.monthly_limit_minor, billing.currency)
                    if billing and d.monthly_limit_minor is not None
                    else None
                ),
            },
            prefix=f"driver-{d.pk}",
        )
        if billing:
            limit = charging_services.driver_limit(d, billing)
            d.limit_text = money(limit, billing.currency)
            d.own_limit = d.monthly_limit_minor is not None
            d.used_text = money(d.used_minor, billing.currency)
            d.remaining_text = money(max(0, limit - d.used_minor), billing.currency)
            d.limit_minor = limit
            d.over = d.used_minor >= limit and d.corporate_billing
            # Imported sessions past the limit are billed all the same (and flagged): say by
            # how much the limit was passed, not just "0.00 remaining".
            excess = d.used_minor - limit
            d.excess_text = money(excess, billing.currency) if d.over and excess > 0 else ""
    page.object_list = drivers
    return _page(
        request,
        "portal/sitehost/drivers.html",
        {
            "billing": billing,
            "default_limit": money(billing.monthly_limit_minor, billing.currency)
            if billing
            else "",
            "discount": percent(billing.discount_percent) if billing else "",
            "page": page,
            "month": month.replace(day=1),
        },
    )


@partner_page
@require_GET
def drivers(request):
    return _drivers_page(request)


@partner_page
@require_POST
def driver_update(request, pk: int):
    driver = charging.driver_get(fetched_by=request.user, driver_id=_id(pk))
    if driver.partner_id != request.partner.pk:
        raise Http404
    from django.core.exceptions import PermissionDenied

    if not request.user.has_perm("charging.change_driver", driver):
        raise PermissionDenied(_("Only your organisation's admins change driver limits."))
    form = DriverLimitForm(request.POST, prefix=f"driver-{driver.pk}")
    if form.is_valid():
        limit = form.cleaned_data["monthly_limit"]
        try:
            charging_services.driver_update(
                driver=driver,
                data={
                    "corporate_billing": form.cleaned_data["corporate_billing"],
                    "monthly_limit": "" if limit is None else str(limit),
                },
            )
        except ServiceError as exc:
            return _drivers_page(
                request, errors={driver.pk: exc.message}, forms_by_id={driver.pk: form}
            )
        messages.success(request, _("%(driver)s is updated.") % {"driver": driver})
        return redirect(f"{reverse('portal:site-drivers')}?{request.GET.urlencode()}")
    message = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    return _drivers_page(request, errors={driver.pk: message}, forms_by_id={driver.pk: form})


# --- the running month -------------------------------------------------------------------------


def _month_sessions(request, month: dt.date):
    """The partner's hosted sessions that started in ``month`` (UTC): the sessions its own
    statement settles (a sub-operator's children have their own)."""
    start = dt.datetime.combine(month, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(charging.next_month(month), dt.time(), tzinfo=dt.UTC)
    return visible_charging_sessions(request.user).filter(
        partner_id=request.partner.pk, start__gte=start, start__lt=end
    )


def live_sessions(request, month: dt.date) -> dict:
    """Live figures of the month from the sessions table: one GROUP BY per current type and
    currency, one per day (for the chart), one for corporate charges to the partner."""
    sessions = _month_sessions(request, month)
    by_type = list(
        sessions.order_by()
        .values("current_type", "currency")
        .annotate(
            n=Count("id"),
            energy=Sum("energy_wh"),
            revenue=Sum("total_excl_vat_minor"),
            fees=Sum("connection_fee_minor"),
            flagged=Count("id", filter=Q(flagged=True)),
        )
        .order_by("currency", "current_type")
    )
    rows = [
        {
            "current_type": r["current_type"],
            "currency": r["currency"],
            "sessions": r["n"],
            "energy": kwh(r["energy"]),
            "revenue": money(r["revenue"], r["currency"]),
            "connection_fees": money(r["fees"], r["currency"]),
            "flagged": r["flagged"],
        }
        for r in by_type
    ]
    currency = by_type[0]["currency"] if by_type else ""
    days = []
    if currency:
        per_day = {
            row["day"]: row["revenue"] or 0
            for row in sessions.filter(currency=currency)
            .order_by()
            .annotate(day=TruncDate("start", tzinfo=dt.UTC))
            .values("day")
            .annotate(revenue=Sum("total_excl_vat_minor"))
        }
        last = min(
            timezone.now().astimezone(dt.UTC).date(),
            charging.next_month(month) - dt.timedelta(days=1),
        )
        day = month
        while day <= last:
            days.append((day, per_day.get(day, 0)))
            day += dt.timedelta(days=1)
    chart = (
        charts.bar_chart(
            [(formats.date_format(d, "j"), from_minor(v, currency)) for d, v in days],
            title=_("Revenue per day, excl. VAT (%(currency)s)") % {"currency": currency},
        )
        if days
        else ""
    )
    return {
        "rows": rows,
        "sessions": sum(r["n"] for r in by_type),
        "chart": chart,
        "days": [{"day": d, "revenue": money(v, currency)} for d, v in days if v],
        "currency": currency,
    }


def _statements(request):
    """Statements of the partners the user acts for (drafts included, marked as such)."""
    return settlement_selectors.statement_list(fetched_by=request.user).select_related("contract")


@partner_page
@require_GET
def running_month(request):
    """The month so far: live session totals, and the month's statement as a run would make
    it now (``settlements.selectors.running_figures``: computed and rolled back). Once the
    month's statement is final, the page shows that statement's figures as settled, with a
    link to it, and no "so far" wording."""
    month = _this_month()
    require(request.user, "settlements.view_statement", request.partner)
    figures = settlement_selectors.running_figures(partner=request.partner, month=month)
    currency = figures.currency
    lines = [
        {
            "description": line["description"],
            "sessions": line["sessions"],
            "energy_text": kwh(line["energy_wh"]) if line["energy_wh"] else "",
            "amount_text": money(line["amount_minor"], line.get("currency") or currency),
        }
        for line in figures.lines
    ]
    settled = figures.status == "final"
    statement_url = ""
    if settled:  # the month's final statement, to link to
        pk = (
            settlement_selectors.statement_list(
                fetched_by=request.user, month=month, partner_id=request.partner.pk, status="final"
            )
            .values_list("pk", flat=True)
            .first()
        )
        statement_url = reverse("portal:site-statement", args=[pk]) if pk else ""
    return _page(
        request,
        "portal/sitehost/month.html",
        {
            "month": month,
            "live": live_sessions(request, month),
            "figures": figures,
            "settled": settled,
            "statement_url": statement_url,
            "figure_totals": statement_totals(figures.totals, currency),
            "figure_net": money(abs(figures.totals["net_minor"]), currency),
            "net_payable_by_you": figures.totals["net_minor"] < 0,
            "lines": lines,
            "contract": _contract(request),
        },
    )


# --- statements --------------------------------------------------------------------------------


def statement_totals(values: dict, currency: str, *, vendor: bool = False) -> list[tuple[str, str]]:
    """A statement's totals (``{field: value}`` of ``Statement``) as ``(label, amount)`` rows
    in the order of the statement; zero optional amounts are left out. ``vendor``: worded
    for the operator's staff (the console) instead of the partner."""
    c = currency
    rows = [
        (
            _("Sessions at the partner's charge points")
            if vendor
            else _("Sessions at your charge points"),
            _number(values["sessions"], 0),
        ),
        (_("Energy"), kwh(values["energy_wh"])),
        (_("Revenue, excl. VAT"), money(values["revenue_minor"], c)),
        (_("Shareable revenue"), money(values["shareable_minor"], c)),
        (
            _("Partner share") if vendor else _("Your share"),
            money(values["partner_share_minor"], c),
        ),
    ]
    optional = [
        (_("Electricity reimbursed"), "reimbursement_minor"),
        (_("Fees"), "fees_minor"),
        (_("Platform fees"), "platform_fees_minor"),
        (_("VAT on fees"), "vat_minor"),
        (_("Corporate billing charges, incl. VAT"), "corporate_minor"),
        (_("Adjustments of earlier months"), "adjustments_minor"),
    ]
    rows += [(label, money(values[name], c)) for label, name in optional if values[name]]
    return rows


def _totals_of(statement) -> dict:
    return {name: getattr(statement, name) for name in settlement_selectors.TOTAL_FIELDS}


@partner_page
@require_GET
def statement_list(request):
    qs = _statements(request).order_by("-month", "partner__display_name", "id")
    page = Paginator(qs, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    for st in page.object_list:
        st.net_text = money(st.net_minor, st.currency)
    return _page(
        request,
        "portal/sitehost/statements.html",
        {"page": page, "several_partners": len(member_partner_ids(request.user)) > 1},
    )


def _statement(request, pk: int):
    statement = settlement_selectors.statement_get(fetched_by=request.user, statement_id=_id(pk))
    require(request.user, "settlements.view_statement", statement.partner)
    return statement


def statement_context(request, statement, *, vendor: bool = False) -> dict:
    """What the portal's and the console's statement pages both show: totals, lines, the
    per-session lines (paginated), payments and the open balance. A fixed number of queries.
    ``vendor``: worded for the operator's staff. The net is shown without its sign, the
    label saying who pays whom."""
    from partnerhub.settlements import services as settlement_services

    c = statement.currency
    lines = list(settlement_selectors.statement_lines(statement))
    for line in lines:
        line_c = line.currency_of(c)  # sessions in another currency: their own
        line.energy_text = kwh(line.energy_wh) if line.energy_wh else ""
        line.revenue_text = money(line.revenue_minor, line_c) if line.revenue_minor else ""
        line.amount_text = money(line.amount_minor, line_c)
        line.rate_text = percent(Decimal(line.rate_bp) / 100) if line.rate_bp else ""
    sessions = settlement_selectors.statement_sessions(statement).select_related(
        "session__charge_point"
    )
    session_page = Paginator(sessions, SESSION_LINES_PER_PAGE).get_page(request.GET.get("sessions"))
    kinds = dict(LineKind.choices)
    for s in session_page.object_list:
        s.kind_label = kinds.get(s.kind, s.kind)
        s.energy_text = kwh(s.energy_wh)
        sc = s.session.currency  # the statement's, except sessions in another currency
        s.revenue_text = money(s.revenue_minor, sc)
        s.share_text = money(s.partner_share_minor, sc)
        s.fees_text = money(s.session_fee_minor + s.kwh_fee_minor + s.handling_fee_minor, sc)
        s.amount_text = money(s.amount_minor, sc)
    payments = list(settlement_selectors.payments(statement))
    for p in payments:
        p.amount_text = money(p.amount_minor, c)
    balance = settlement_services.open_balance_minor(statement) if statement.is_final else None
    return {
        "statement": statement,
        "totals": statement_totals(_totals_of(statement), c, vendor=vendor),
        "net_text": money(abs(statement.net_minor), c),
        "for_vendor": vendor,
        "lines": lines,
        "session_page": session_page,
        "payments": payments,
        "balance": balance,
        "balance_text": money(abs(balance), c) if balance is not None else "",
    }


def replaced_draft_redirect(request, pk: int, url_name: str) -> HttpResponse:
    """A link to a draft a re-run of its month replaced leads to the statement of that
    partner and month now (if the user may see it); anything else stays a 404."""
    now = settlement_selectors.statement_replacing(fetched_by=request.user, statement_id=_id(pk))
    if now is None:
        raise Http404
    messages.info(
        request,
        _(
            "That draft was replaced when %(month)s was run again: this is the month's "
            "statement now."
        )
        % {"month": f"{now.month:%Y-%m}"},
    )
    return redirect(url_name, now.pk)


@partner_page
@require_GET
def statement_detail(request, pk: int):
    try:
        statement = _statement(request, pk)
    except Http404:
        return replaced_draft_redirect(request, pk, "portal:site-statement")
    return _page(
        request, "portal/sitehost/statement_detail.html", statement_context(request, statement)
    )


def statement_download(statement, kind: str) -> HttpResponse:
    """The statement as PDF, its lines as CSV, or its per-session lines as CSV (streamed)."""
    stem = exports.file_stem(statement)
    if kind == "pdf":
        response = HttpResponse(exports.statement_pdf(statement), content_type="application/pdf")
        name = f"{stem}.pdf"
    elif kind == "csv":
        response = HttpResponse(exports.statement_csv(statement), content_type="text/csv")
        name = f"{stem}.csv"
    else:
        response = StreamingHttpResponse(exports.sessions_csv(statement), content_type="text/csv")
        name = f"{stem}-sessions.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@partner_page
@require_GET
def statement_pdf(request, pk: int):
    return statement_download(_statement(request, pk), "pdf")


@partner_page
@require_GET
def statement_csv(request, pk: int):
    return statement_download(_statement(request, pk), "csv")


@partner_page
@require_GET
def statement_sessions_csv(request, pk: int):
    return statement_download(_statement(request, pk), "sessions")


# --- receipts of the partner's drivers ---------------------------------------------------------


def _receipt_month(request) -> tuple[dt.date, str]:
    """The ``?month=YYYY-MM`` asked for (default: this month) and an error to show."""
    from partnerhub.settlements.services import parse_month

    raw = request.GET.get("month")
    if not raw:
        return _this_month(), ""
    try:
        return parse_month(raw), ""
    except ServiceError as exc:
        return _this_month(), exc.message


def _supplier_key(receipt: dict) -> str:
    return str(receipt["supplier"]["partner_id"] or "operator")


@partner_page
@require_GET
def receipts(request):
    """The month's end-user receipts of the partner's own drivers (corporate-billing users),
    one per driver and supplier, each downloadable as PDF. A fixed number of queries."""
    require(request.user, "settlements.view_receipts", request.partner)
    month, error = _receipt_month(request)
    rows = []
    for driver, receipt in settlement_selectors.partner_driver_receipts(
        partner=request.partner, month=month
    ):
        cur = receipt["currency"]
        rows.append(
            {
                "driver": driver,
                "supplier": receipt["supplier"],
                "sessions": len(receipt["sessions"]),
                "excl_text": money(receipt["total_excl_vat_minor"], cur),
                "vat_text": money(receipt["vat_minor"], cur),
                "incl_text": money(receipt["total_incl_vat_minor"], cur),
                "pdf_query": f"month={month:%Y-%m}&supplier={_supplier_key(receipt)}"
                f"&currency={cur}",
            }
        )
    issued, totals = [], {}
    for driver, receipt in settlement_selectors.issued_receipts(
        partner=request.partner, month=month
    ):
        cur = receipt["currency"]
        issued.append(
            {
                "driver": driver,
                "sessions": len(receipt["sessions"]),
                "excl_text": money(receipt["total_excl_vat_minor"], cur),
                "vat_text": money(receipt["vat_minor"], cur),
                "incl_text": money(receipt["total_incl_vat_minor"], cur),
                "pdf_query": f"month={month:%Y-%m}&currency={cur}",
            }
        )
        sums = totals.setdefault(cur, [0, 0, 0, 0])
        sums[0] += len(receipt["sessions"])
        sums[1] += receipt["total_excl_vat_minor"]
        sums[2] += receipt["vat_minor"]
        sums[3] += receipt["total_incl_vat_minor"]
    issued_totals = [
        {
            "currency": cur,
            "sessions": n,
            "excl_text": money(excl, cur),
            "vat_text": money(vat, cur),
            "incl_text": money(incl, cur),
        }
        for cur, (n, excl, vat, incl) in sorted(totals.items())
    ]
    return _page(
        request,
        "portal/sitehost/receipts.html",
        {
            "issued": issued,
            "issued_totals": issued_totals,
            "month": month,
            "month_value": f"{month:%Y-%m}",
            "previous": f"{(month - dt.timedelta(days=1)):%Y-%m}",
            "error": error,
            "rows": rows,
        },
    )


@partner_page
@require_GET
def issued_receipt_pdf(request, pk: int):
    """One receipt issued in the partner's name (to any driver who charged at its charge
    points) as PDF: 404 unless it is one."""
    require(request.user, "settlements.view_receipts", request.partner)
    month, error = _receipt_month(request)
    if error:
        raise Http404
    currency = request.GET.get("currency", "")
    for driver, receipt in settlement_selectors.issued_receipts(
        partner=request.partner, month=month
    ):
        if driver.pk == _id(pk) and receipt["currency"] == currency:
            return _receipt_download(receipt, driver, month, request.partner.pk)
    raise Http404


def _receipt_download(receipt: dict, driver, month: dt.date, supplier) -> HttpResponse:
    response = HttpResponse(exports.receipt_pdf(receipt, driver), content_type="application/pdf")
    name = f"receipt-{month:%Y-%m}-driver-{driver.pk}-{supplier}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@partner_page
@require_GET
def receipt_pdf(request, pk: int):
    """One receipt of one of the partner's drivers as PDF (another partner's driver: 404)."""
    require(request.user, "settlements.view_receipts", request.partner)
    driver = charging.driver_get(fetched_by=request.user, driver_id=_id(pk))
    if driver.partner_id != request.partner.pk:
        raise Http404
    month, error = _receipt_month(request)
    if error:
        raise Http404
    supplier, currency = request.GET.get("supplier", ""), request.GET.get("currency", "")
    for receipt in settlement_selectors.driver_receipts(driver=driver, month=month):
        if _supplier_key(receipt) == supplier and receipt["currency"] == currency:
            return _receipt_download(receipt, driver, month, supplier)
    raise Http404
