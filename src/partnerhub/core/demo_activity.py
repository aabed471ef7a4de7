"""Demo activity: products, customers, billings, training and evidence for the demo partners,
then a tier evaluation, so the tier engine has something to show (`partnerhub demo`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from typing import TextIO

from partnerhub.partners.models import Partner, PartnerStatus, TrackMembership

MARKER = "DEMO-"

CATEGORIES = [
    ("hardware", "Hardware"),
    ("cloud", "Cloud plans"),
    ("services", "Services"),
    ("nfr", "NFR"),
]
PRODUCTS = [
    # sku, name, category, list price (USD), required certification
    ("VX-AC22", "Voltaris AC 22 kW wallbox", "hardware", "1450.00", None),
    ("VX-DC150", "Voltaris DC 150 kW fast charger", "hardware", "38500.00", "ev-installer"),
    ("VX-CLOUD-1Y", "Voltaris Cloud plan, 1 year", "cloud", "360.00", None),
    ("VX-INSTALL", "Installation and commissioning", "services", "900.00", None),
]


def build_activity(
    *, today: dt.date, stdout: TextIO | None = None, seed: int = 7
) -> dict[str, int]:
    """Create ~20 billing lines per active ev-hardware partner over 18 months, training records
    and a few evidence items; evaluate tiers as of ``today``. Idempotent (skips when present)."""
    from partnerhub.core.money import to_minor
    from partnerhub.sales.models import BillingLine, Customer, Product, ProductCategory
    from partnerhub.tiers.models import EvidenceItem, SurveyResponse
    from partnerhub.tiers.services import tiers_evaluate
    from partnerhub.training.models import Certification, Course, Person, PersonCertification

    if BillingLine.objects.filter(external_id__startswith=MARKER).exists():
        return {}
    rng = random.Random(seed)
    categories = {
        key: ProductCategory.objects.get_or_create(key=key, defaults={"name": name})[0]
        for key, name in CATEGORIES
    }
    courses = {
        key: Course.objects.get_or_create(key=key, defaults={"name": name})[0]
        for key, name in (
            ("ev-sales-101", "Selling EV charging"),
            ("ev-install-201", "Installing DC chargers"),
        )
    }
    certifications = {}
    for key, name, course in (
        ("ev-sales", "EV Sales Professional", "ev-sales-101"),
        ("ev-installer", "EV Installer", "ev-install-201"),
    ):
        cert, created = Certification.objects.get_or_create(
            key=key, defaults={"name": name, "validity_months": 24}
        )
        if created:
            cert.required_courses.add(courses[course])
        certifications[key] = cert
    for sku, name, category, price, cert_key in PRODUCTS:
        Product.objects.get_or_create(
            sku=sku,
            defaults={
                "name": name,
                "category": categories[category],
                "currency": "USD",
                "list_price_minor": to_minor(price, "USD"),
                "required_certification": certifications.get(cert_key) if cert_key else None,
            },
        )
    # A not-for-resale demo unit (never billed): what the portal's NFR page offers.
    Product.objects.get_or_create(
        sku="VX-AC22-NFR",
        defaults={
            "name": "Voltaris AC 22 kW wallbox, NFR demo unit",
            "category": categories["nfr"],
            "currency": "USD",
            "list_price_minor": to_minor("1450.00", "USD"),
        },
    )
    products = list(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]).order_by("sku"))
    partner_ids = list(
        TrackMembership.objects.filter(
            program__key="ev-hardware", partner__status=PartnerStatus.ACTIVE
        )
        .values_list("partner_id", flat=True)
        .distinct()
        .order_by("partner_id")
    )
    partners = {p.pk: p for p in Partner.objects.filter(pk__in=partner_ids)}
    start = today - dt.timedelta(days=540)
    customers, lines, people, certs, evidence, surveys = [], [], [], [], [], []
    for pid in partner_ids:
        size = rng.choice([0.2, 0.5, 1, 1, 2, 4, 8])  # a few large partners, many small ones
        for c in range(rng.randint(2, 6)):
            customers.append(
                Customer(
                    external_id=f"{MARKER}C{pid}-{c}",
                    name=f"{partners[pid].city or 'City'} customer {c + 1}",
                    country=str(partners[pid].country),
                    activated_on=start + dt.timedelta(days=rng.randint(0, 300)),
                )
            )
    Customer.objects.bulk_create(customers, batch_size=1000)
    by_partner: dict[int, list[Customer]] = {}
    for customer in Customer.objects.filter(external_id__startswith=MARKER):
        pid = int(customer.external_id[len(MARKER) + 1 :].split("-")[0])
        by_partner.setdefault(pid, []).append(customer)
    n = 0
    for pid in partner_ids:
        size = rng.choice([0.2, 0.5, 1, 1, 2, 4, 8])
        for _ in range(rng.randint(8, 30)):
            customer = rng.choice(by_partner[pid])
            product = rng.choice(products)
            quantity = rng.randint(1, 12)
            day = max(customer.activated_on, start + dt.timedelta(days=rng.randint(0, 539)))
            amount = int(product.list_price_minor * quantity * size * rng.uniform(0.7, 1.0))
            n += 1
            lines.append(
                BillingLine(
                    external_id=f"{MARKER}L{n:06d}",
                    partner_id=pid,
                    customer=customer,
                    product=product,
                    quantity=quantity,
                    net_amount_minor=amount,
                    currency="USD",
                    invoice_date=min(day, today),
                )
            )
        for k in range(rng.choice([0, 1, 2, 2, 3, 5, 6])):
            people.append(
                Person(
                    partner_id=pid,
                    email=f"learner{k + 1}@p{pid}.demo.partnerhub.test",
                    full_name=f"Learner {k + 1}",
                    job_role=rng.choice(["sales", "engineer"]),
                )
            )
        if rng.random() < 0.1:
            evidence.append(
                EvidenceItem(
                    partner_id=pid,
                    item="dedicated-ev-sales-rep",
                    recorded_on=today - dt.timedelta(days=rng.randint(10, 200)),
                )
            )
        for s in range(rng.randint(0, 4)):
            surveys.append(
                SurveyResponse(
                    external_id=f"{MARKER}S{pid}-{s}",
                    partner_id=pid,
                    score=rng.choice([6, 7, 8, 9, 9, 10]),
                    responded_on=today - dt.timedelta(days=rng.randint(1, 300)),
                )
            )
    BillingLine.objects.bulk_create(lines, batch_size=2000)
    Person.objects.bulk_create(people, batch_size=1000)
    for person in Person.objects.filter(email__endswith=".demo.partnerhub.test"):
        key = "ev-installer" if person.job_role == "engineer" else "ev-sales"
        earned = today - dt.timedelta(days=rng.randint(20, 600))
        certs.append(
            PersonCertification(
                person=person,
                partner_id=person.partner_id,
                certification=certifications[key],
                earned_on=earned,
                expires_on=earned + dt.timedelta(days=730),
            )
        )
    PersonCertification.objects.bulk_create(certs, batch_size=1000)
    EvidenceItem.objects.bulk_create(evidence)
    SurveyResponse.objects.bulk_create(surveys)
    deals = build_deals(today=today, partner_ids=partner_ids, rng=rng)
    build_directory(rng=rng)
    summary = tiers_evaluate(as_of=today)
    if stdout:
        stdout.write(
            f"Activity: {len(lines)} billing lines, {len(certs)} certifications, "
            f"{deals} deal registrations; "
            f"tiers evaluated for {summary.memberships} memberships "
            f"({len(summary.changes)} changes)\n"
        )
    return {
        "billing_lines": len(lines),
        "certifications": len(certs),
        "tier_changes": len(summary.changes),
        "deal_registrations": deals,
    }


DEAL_CUSTOMERS = [
    # name, website, country: the customers partners register opportunities for
    ("Hafen Logistik GmbH", "hafen-logistik.de", "DE"),
    ("Stadtwerke Nordheim", "stadtwerke-nordheim.de", "DE"),
    ("Parkhaus Zentrum AG", "parkhaus-zentrum.ch", "CH"),
    ("Fleetline Transport Ltd", "fleetline.co.uk", "GB"),
    ("Alpine Hotels S.p.A.", "alpinehotels.it", "IT"),
    ("Greenway Retail B.V.", "greenway-retail.nl", "NL"),
    ("Métropole Bus Dépôt SAS", "metropole-bus.fr", "FR"),
    ("Sunrise Apartments LLC", "sunrise-apartments.com", "US"),
    ("Nordic Taxi Oy", "nordictaxi.fi", "FI"),
    ("Svea Fastigheter AB", "sveafastigheter.se", "SE"),
    ("Costa Supermercados S.A.", "costasuper.es", "ES"),
    ("Harbour View Marina Inc.", "harbourviewmarina.com", "US"),
]
# A second partner registering a customer already claimed, spelled its own way (flagged).
DEAL_VARIANTS = {0: "HAFEN-LOGISTIK", 3: "Fleetline Transport Limited", 6: "Metropole Bus Depot"}


def build_deals(*, today: dt.date, partner_ids: list[int], rng: random.Random) -> int:
    """Deal registrations in every state for the first ev-hardware partners: submitted over the
    past ten months, approved or rejected, some won, lost or expired, and a few conflicting
    registrations of the same customer by a second partner (flagged in the review queue)."""
    from partnerhub.deals import services
    from partnerhub.deals.models import DealRegistration

    if DealRegistration.objects.exists() or len(partner_ids) < 2:
        return 0
    active = list(Partner.objects.filter(pk__in=partner_ids[:12]).select_related("partner_manager"))
    skus = ["VX-AC22", "VX-CLOUD-1Y", "VX-INSTALL"]
    count = 0
    plan = []
    for i, (name, website, country) in enumerate(DEAL_CUSTOMERS):
        partner = active[i % len(active)]
        plan.append(
            (partner, name, website, country, today - dt.timedelta(days=rng.randint(5, 300)))
        )
        if i in DEAL_VARIANTS:
            other = active[(i + 1) % len(active)]
            plan.append((other, DEAL_VARIANTS[i], website, country, today - dt.timedelta(days=3)))
    plan.sort(key=lambda p: p[4])
    for partner, name, website, country, day in plan:
        at = dt.datetime.combine(day, dt.time(9 + rng.randint(0, 8), rng.randint(0, 59)), dt.UTC)
        reg = services.registration_create(
            partner=partner,
            data={
                "program": "ev-hardware",
                "customer_name": name,
                "customer_website": website,
                "customer_country": country,
                "contact_name": "Facilities manager",
                "contact_email": f"facilities@{website}",
                "products": [
                    {"sku": sku, "quantity": rng.randint(2, 40)}
                    for sku in rng.sample(skus, rng.randint(1, 3))
                ],
                "estimated_value": str(rng.randint(8, 400) * 500),
                "currency": "USD",
                "expected_close_date": day + dt.timedelta(days=rng.randint(30, 200)),
                "source": rng.choice(
                    ["partner_sourced", "partner_sourced", "partner_influenced", "referral"]
                ),
                "notes": "Registered in the demo.",
            },
            created_by=None,
            on=day,
        )
        services.registration_submit(registration=reg, submitted_by=None, at=at)
        count += 1
        reg.refresh_from_db()
        age = (today - day).days
        if reg.flagged or age < 7:
            continue  # waiting in the review queue
        roll = rng.random()
        if roll < 0.12:
            services.registration_reject(
                registration=reg,
                rejected_by=partner.partner_manager,
                reason="The customer already buys directly from us.",
            )
            continue
        approved_on = day + dt.timedelta(days=rng.randint(1, 4))
        services.registration_approve(
            registration=reg, approved_by=partner.partner_manager, on=approved_on
        )
        if roll > 0.75 and age > 40:
            services.registration_close(
                registration=reg,
                by=partner.partner_manager,
                outcome="won",
                reason="Order received.",
                on=approved_on + dt.timedelta(days=rng.randint(10, 35)),
            )
        elif 0.6 < roll <= 0.75:
            services.registration_close(
                registration=reg,
                by=None,
                outcome="lost",
                reason="The customer chose another vendor.",
                on=approved_on + dt.timedelta(days=rng.randint(5, 25)),
            )
    services.registrations_expire(on=today)
    return count


CITY_COORDINATES = {
    "Berlin": (52.520008, 13.404954),
    "Hamburg": (53.551086, 9.993682),
    "München": (48.135125, 11.581981),
    "Köln": (50.937531, 6.960279),
    "Frankfurt am Main": (50.110922, 8.682127),
    "Stuttgart": (48.775846, 9.182932),
    "Leipzig": (51.339695, 12.373075),
    "Paris": (48.856613, 2.352222),
    "Lyon": (45.764043, 4.835659),
    "Marseille": (43.296482, 5.36978),
    "Amsterdam": (52.367573, 4.904139),
    "Rotterdam": (51.92442, 4.477733),
    "Wien": (48.208174, 16.373819),
    "Zürich": (47.376887, 8.541694),
    "Milano": (45.464204, 9.189982),
    "Roma": (41.902784, 12.496366),
    "Madrid": (40.416775, -3.70379),
    "Barcelona": (41.385064, 2.173404),
    "London": (51.507351, -0.127758),
    "Manchester": (53.480759, -2.242631),
    "Stockholm": (59.329323, 18.068581),
    "København": (55.676097, 12.568337),
    "Oslo": (59.913869, 10.752245),
    "Helsinki": (60.169856, 24.938379),
    "Warszawa": (52.229676, 21.012229),
    "Bruxelles": (50.850346, 4.351721),
    "Chicago": (41.878114, -87.629798),
    "Boston": (42.360082, -71.05888),
    "Seattle": (47.606209, -122.332071),
    "Austin": (30.267153, -97.743061),
}


def build_directory(*, rng: random.Random) -> int:
    """Opt about half of the active partners in the big cities into the public directory,
    with a summary and coordinates near their city (a few listed ones stay without any)."""
    from decimal import Decimal

    if Partner.objects.filter(directory_listed=True).exists():
        return 0
    listed = []
    for partner in Partner.objects.filter(status=PartnerStatus.ACTIVE).order_by("pk"):
        where = CITY_COORDINATES.get(partner.city)
        if where is None or rng.random() > 0.5:
            continue
        partner.directory_listed = True
        partner.directory_summary = rng.choice(
            [
                "Installs and maintains AC and DC charging for fleets and car parks.",
                "Home and workplace wallboxes, planning to commissioning.",
                "Charging hubs for retail and hospitality sites, with cloud management.",
                "Electrical contractor certified for high-power DC installations.",
            ]
        )
        if rng.random() > 0.1:
            partner.latitude = Decimal(str(round(where[0] + rng.uniform(-0.08, 0.08), 6)))
            partner.longitude = Decimal(str(round(where[1] + rng.uniform(-0.08, 0.08), 6)))
        listed.append(partner)
    Partner.objects.bulk_update(
        listed, ["directory_listed", "directory_summary", "latitude", "longitude"], batch_size=500
    )
    return len(listed)


# --- site hosts: charge points, contracts, sessions and settlement -------------------------------

SITE_MARKER = "DEMO-SITE-"
SITE_HOSTS = [
    # partner admin e-mail (named partner), sites, contract terms, VAT %
    (
        "partner",
        [
            (
                "Nordlicht Depot Hamburg",
                "Am Hafen 12",
                "Hamburg",
                "20457",
                "DE",
                "Europe/Berlin",
                [("AC", "22"), ("AC", "22"), ("DC", "150")],
            ),
            (
                "Nordlicht Retail Park",
                "Marktweg 3",
                "Bremen",
                "28195",
                "DE",
                "Europe/Berlin",
                [("AC", "11"), ("DC", "50")],
            ),
        ],
        {
            "name": "Nordlicht site hosting",
            "ac_share_percent": "50",
            "dc_share_percent": "40",
            "deduct_electricity": True,
            "session_fee_dc": "0.30",
            "handling_fee_percent": "2",
            "platform_fee_charge_point": "9.90",
            "platform_fee_dc_evse": "15.00",
            "vat_percent": "19",
            "can_manage_tariffs": True,
            "can_create_users": True,
            "supplier_on_receipts": True,
            "allow_start_stop": True,
            "allow_unlock_connector": True,
        },
        "1.19",
    ),
    (
        "operator",
        [
            (
                "Alpenstrom Seilbahn Parkplatz",
                "Talstation 1",
                "Innsbruck",
                "6020",
                "AT",
                "Europe/Vienna",
                [("AC", "22"), ("AC", "22"), ("DC", "300")],
            ),
        ],
        {
            "name": "Alpenstrom revenue share",
            "ac_share_percent": "35",
            "dc_share_percent": "30",
            "auto_renew": True,
            "exclude_connection_fee": True,
            "deduct_electricity": True,
            "reimburse_electricity": True,
            "kwh_fee_ac": "0.010000",
            "platform_fee_ac_evse": "4.50",
            "vat_percent": "20",
            "fault_notifications": True,
            "allow_reset": True,
        },
        "1.20",
    ),
]


def _demo_tariff(tariff_id: str, name: str, energy: str, flat: str | None = None) -> dict:
    components = [{"type": "ENERGY", "price": energy, "vat": 19, "step_size": 1}]
    if flat:
        components.insert(0, {"type": "FLAT", "price": flat, "vat": 19, "step_size": 1})
    return {
        "country_code": "DE",
        "party_id": "PHB",
        "id": tariff_id,
        "currency": "EUR",
        "tariff_alt_text": [{"language": "en", "text": name}],
        "elements": [
            {
                "price_components": [
                    {"type": "PARKING_TIME", "price": "6.00", "vat": 19, "step_size": 60}
                ],
                "restrictions": {"start_time": "22:00", "end_time": "06:00", "min_duration": 7200},
            },
            {"price_components": components},
        ],
        "last_updated": "2026-01-01T00:00:00Z",
    }


def build_sitehost(*, today: dt.date, stdout: TextIO | None = None, seed: int = 11) -> dict:
    """Two site hosts (the named partners Nordlicht and Alpenstrom) with locations, AC and DC
    charge points, contracts with different options, tariffs, Nordlicht's corporate billing and
    drivers, sessions from the month before last until now, final statements of the last two
    months (one paid) and a draft of the running month. Idempotent (skips when present)."""
    from decimal import Decimal

    from partnerhub.charging import services as charging
    from partnerhub.charging.models import ChargingSession, Location
    from partnerhub.core.demo import DEMO_DOMAIN
    from partnerhub.core.money import from_minor
    from partnerhub.partners.models import PartnerUser
    from partnerhub.settlements import services as settlement

    if Location.objects.filter(ocpi_id__startswith=SITE_MARKER).exists():
        return {}
    hosts = {
        m.user.email.split("@")[0]: m.partner
        for m in PartnerUser.objects.select_related("user", "partner").filter(
            user__email__in=[f"{h[0]}@{DEMO_DOMAIN}" for h in SITE_HOSTS]
        )
    }
    if not hosts:
        return {}
    rng = random.Random(seed)
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    first_month = (last_month - dt.timedelta(days=1)).replace(day=1)
    since = first_month.replace(year=first_month.year - 1)
    operator_ac = charging.tariff_create(
        data=_demo_tariff("PHB-AC-STANDARD", "Standard AC", "0.49"), name="Standard AC"
    )
    n_site = n_cp = 0
    evses = []  # (evse, partner, vat factor)
    contracts = {}
    for key, sites, terms, vat in SITE_HOSTS:
        partner = hosts.get(key)
        if partner is None:
            continue
        for name, address, city, postal, country, tz, points in sites:
            n_site += 1
            location = charging.location_create(
                data={
                    "ocpi_id": f"{SITE_MARKER}{n_site}",
                    "name": name,
                    "address": address,
                    "city": city,
                    "postal_code": postal,
                    "country": country,
                    "time_zone": tz,
                    "electricity_prices": [
                        {
                            "valid_from": since.isoformat(),
                            "price_per_kwh": "0.210000",
                            "currency": "EUR",
                        },
                        {
                            "valid_from": last_month.isoformat(),
                            "price_per_kwh": "0.190000",
                            "currency": "EUR",
                        },
                    ],
                }
            )
            for current, power in points:
                n_cp += 1
                identity = f"PHB-{country}-{n_cp:03d}"
                cp = charging.charge_point_create(
                    location=location,
                    data={
                        "identity": identity,
                        "vendor": "Voltaris",
                        "model": "AC 22" if current == "AC" else f"DC {power}",
                        "evses": [
                            {
                                "uid": f"{identity}-{i}",
                                "evse_id": f"{country}*PHB*E{n_cp:03d}{i}",
                                "current_type": current,
                                "max_power_kw": power,
                                "connectors": [
                                    {
                                        "connector_id": "1",
                                        "standard": "IEC_62196_T2"
                                        if current == "AC"
                                        else "IEC_62196_T2_COMBO",
                                        "format": "SOCKET" if current == "AC" else "CABLE",
                                    }
                                ],
                            }
                            for i in range(1, 3 if current == "DC" and power == "300" else 2)
                        ],
                    },
                    partner=partner,
                    hosted_from=since,
                )
                if current == "AC":
                    charging.assignment_create(
                        tariff=operator_ac,
                        target=cp,
                        valid_from=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC),
                    )
                evses += [(e, partner, Decimal(vat)) for e in cp.evses.all()]
        contracts[key] = settlement.contract_create(
            partner=partner,
            data={
                "currency": "EUR",
                "start_month": f"{since:%Y-%m}",
                "end_month": f"{this_month.year + 2}-12",
                **terms,
            },
        )
    nordlicht = hosts.get("partner")
    drivers = []
    if nordlicht is not None:
        own_dc = charging.tariff_create(
            data=_demo_tariff("PHB-NL-DC", "Nordlicht fast charging", "0.59", flat="0.50"),
            partner=nordlicht,
            name="Nordlicht fast charging",
        )
        for evse, partner, _vat in evses:
            if partner == nordlicht and evse.current_type == "DC":
                charging.assignment_create(
                    tariff=own_dc,
                    target=evse.charge_point,
                    valid_from=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC),
                )
        charging.corporate_billing_set(
            partner=nordlicht,
            enabled=True,
            currency="EUR",
            monthly_limit="150.00",
            discount_percent="10",
        )
        for i, (name, limit) in enumerate(
            [
                ("Jonas Petersen", "250.00"),
                ("Mira Schulz", None),
                ("Ole Brandt", "40.00"),
                ("Hanna Weber", None),
            ],
            start=1,
        ):
            data = {
                "external_id": f"{SITE_MARKER}DRV-{i}",
                "name": name,
                "email": f"driver{i}@nordlicht.demo.partnerhub.test",
                "corporate_billing": True,
            }
            if limit:
                data["monthly_limit"] = limit
            drivers.append(charging.driver_create(partner=nordlicht, data=data))
    rates = {"AC": Decimal("0.49"), "DC": Decimal("0.59")}
    sessions = []
    now = dt.datetime.now(dt.UTC)
    day = first_month
    n = 0
    while day <= today:
        for evse, partner, vat in evses:
            for _ in range(rng.randint(0 if evse.current_type == "AC" else 1, 4)):
                start = dt.datetime.combine(
                    day, dt.time(rng.randint(6, 21), rng.randint(0, 59)), tzinfo=dt.UTC
                )
                if start > now - dt.timedelta(hours=2):
                    continue
                dc = evse.current_type == "DC"
                kwh = Decimal(rng.randint(8000, 60000 if dc else 30000)) / 1000
                power = Decimal(evse.max_power_kw) * Decimal("0.7")  # average over the session
                minutes = int(kwh * 60 / power)
                minutes = max(15, min(minutes, 480))
                fee = 50 if dc and partner == nordlicht else 0
                energy = int((kwh * rates[evse.current_type] * 100).to_integral_value())
                excl = energy + fee
                corporate = drivers and partner == nordlicht and rng.random() < 0.25
                driver = rng.choice(drivers) if corporate else None
                method = "corporate" if driver else rng.choice(["card", "card", "balance"])
                n += 1
                sessions.append(
                    ChargingSession(
                        cdr_id=f"{SITE_MARKER}CDR-{n:06d}",
                        evse=evse,
                        charge_point=evse.charge_point,
                        location=evse.charge_point.location,
                        partner=partner,
                        current_type=evse.current_type,
                        start=start,
                        end=start + dt.timedelta(minutes=minutes + 10),
                        energy_wh=int(kwh * 1000),
                        charging_seconds=minutes * 60,
                        parking_seconds=600,
                        currency="EUR",
                        energy_cost_minor=energy,
                        connection_fee_minor=fee,
                        total_excl_vat_minor=excl,
                        total_incl_vat_minor=int((excl * vat).to_integral_value()),
                        payment_method=method,
                        driver=driver,
                        corporate_partner=nordlicht if driver else None,
                        flagged=n % 97 == 0,
                        flag_reason="Energy above the EVSE's maximum power" if n % 97 == 0 else "",
                    )
                )
        day += dt.timedelta(days=1)
    ChargingSession.objects.bulk_create(sessions, batch_size=2000)
    settlement.settlement_run(month=first_month, finalise=True)
    settlement.settlement_run(month=last_month, finalise=True)
    settlement.settlement_run(month=this_month)
    from partnerhub.settlements.models import Statement

    for st in Statement.objects.filter(month=first_month, status="final"):
        if st.net_minor:
            settlement.payment_record(
                statement=st,
                direction="made" if st.net_minor > 0 else "received",
                paid_on=last_month + dt.timedelta(days=9),
                amount=from_minor(abs(st.net_minor), st.currency),
                note="SEPA transfer",
            )
    if stdout:
        stdout.write(
            f"Site hosts: {len(contracts)} contracts, {n_cp} charge points, "
            f"{len(sessions)} charging sessions, statements of {first_month:%Y-%m} and "
            f"{last_month:%Y-%m} final, {this_month:%Y-%m} running\n"
        )
    return {"charge_points": n_cp, "sessions": len(sessions)}


def build_incentives(*, today: dt.date, stdout: TextIO | None = None) -> dict:
    """Accrue the demo's billing lines (commissions, MDF, referral fees), close last quarter's
    hardware rebate, and open a SPIFF campaign with one approved claim. Idempotent."""
    from decimal import Decimal

    from partnerhub.core.errors import ServiceError
    from partnerhub.incentives.models import AccrualRun, LedgerEntry, SpiffCampaign
    from partnerhub.incentives.services import (
        accrual_run,
        rebate_close,
        spiff_campaign_create,
        spiff_claim_decide,
        spiff_claim_submit,
    )
    from partnerhub.programs.models import Program
    from partnerhub.sales.models import BillingLine

    if AccrualRun.objects.exists():
        return {}
    run = accrual_run(on=today)
    program = Program.objects.filter(key="ev-hardware").first()
    if program is None or SpiffCampaign.objects.exists():
        return {"entries": run.entries}
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    # No such rebate in a customised program, or closed already: nothing to close.
    with contextlib.suppress(ServiceError):
        rebate_close(
            program=program,
            rebate_key="hardware-volume",
            period_day=quarter_start - dt.timedelta(days=1),
        )
    line = (
        BillingLine.objects.filter(
            product__sku="VX-DC150",  # the campaign's DC fast charger
            net_amount_minor__gt=0,
            invoice_date__gte=today - dt.timedelta(days=60),
        )
        .order_by("-invoice_date", "id")
        .first()
    )
    if line is not None:
        campaign = spiff_campaign_create(
            program=program,
            name="Winter DC fast-charger push",
            description="USD 150 per DC charger sold in the campaign.",
            starts_on=today - dt.timedelta(days=60),
            ends_on=today + dt.timedelta(days=30),
            bounty=Decimal("150.00"),
            currency="USD",
            products=[line.product],
        )
        claim = spiff_claim_submit(campaign=campaign, partner=line.partner, billing_line=line)
        spiff_claim_decide(claim=claim, approve=True)
    entries = LedgerEntry.objects.count()
    if stdout:
        stdout.write(f"Incentives: {entries} ledger entries\n")
    return {"entries": entries}


def build_quotes_mdf(*, today: dt.date, stdout: TextIO | None = None) -> dict:
    """Quotes and market development funds for the named partners, so their portal pages and
    the console's MDF queue and quote list have something to show: a credit line, draft quotes
    and an accepted one; this quarter's MDF fund, one request waiting for review, one approved
    whose claim waits, and one already reimbursed. Idempotent; skipped when the ev-hardware
    program or the partners are missing (a customised demo)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerhub.core.demo import NAMED
    from partnerhub.core.errors import ServiceError
    from partnerhub.mdf import services as mdf
    from partnerhub.mdf.models import MdfAllocation
    from partnerhub.programs.models import Program
    from partnerhub.quotes import services as quotes
    from partnerhub.quotes.models import Quote

    program = Program.objects.filter(key="ev-hardware").first()
    if program is None or Quote.objects.exists() or MdfAllocation.objects.exists():
        return {}
    partners = list(
        Partner.objects.filter(
            legal_name__in=[n[0] for n in NAMED],
            track_memberships__program=program,
            status=PartnerStatus.ACTIVE,
        )
        .distinct()
        .order_by("id")
    )
    if not partners:
        return {}
    made = {"quotes": 0, "mdf requests": 0}
    with contextlib.suppress(ServiceError):
        first = partners[0]
        if not first.duns:
            first.duns = "314159265"
            first.save(update_fields=["duns"])
        quotes.credit_line_set(
            partner=first,
            data={"limit": "750000.00", "currency": "USD", "notes": "Demo credit line"},
        )
    for i, partner in enumerate(partners[:2]):
        lines = [
            {"sku": "VX-AC22", "quantity": 12 + 8 * i},
            {"sku": "VX-CLOUD-1Y", "quantity": 12},
        ]
        try:
            quotes.quote_create(partner=partner, data={"lines": lines})
            made["quotes"] += 1
            accepted = quotes.quote_create(
                partner=partner, data={"lines": [{"sku": "VX-AC22", "quantity": 4}]}
            )
            made["quotes"] += 1
            if i == 0:  # the other has no credit line: its quotes go through a distributor
                quotes.quote_accept(quote=accepted)
        except ServiceError as exc:
            if stdout:
                stdout.write(f"Quote demo for {partner.display_name} skipped: {exc}\n")
    quarter = mdf.quarter_bounds(today, mdf.version_for(program, today))[0]
    proof = b"%PDF-1.4\n% demo proof of performance\n"
    for i, partner in enumerate(partners):
        try:
            mdf.allocation_create(
                partner=partner,
                program=program,
                quarter_start=quarter,
                amount="20000.00",
                reason="Quarterly MDF budget",
            )
            start = max(quarter, today - dt.timedelta(days=20))
            ended = mdf.request_create(
                partner=partner,
                data={
                    "program": program.key,
                    "title": ("Installer open day", "Trade fair booth", "Fleet webinar")[i % 3],
                    "activity_type": ("event", "event", "digital")[i % 3],
                    "starts_on": start.isoformat(),
                    "ends_on": (start + dt.timedelta(days=1)).isoformat(),
                    "budget": "6000.00",
                },
            )
            waiting = mdf.request_create(
                partner=partner,
                data={
                    "program": program.key,
                    "title": "Spring campaign",
                    "activity_type": "digital",
                    "starts_on": (today + dt.timedelta(days=30)).isoformat(),
                    "ends_on": (today + dt.timedelta(days=60)).isoformat(),
                    "budget": "4000.00",
                },
            )
            made["mdf requests"] += 2
            del waiting  # stays submitted: the console's MDF queue shows it
            if start + dt.timedelta(days=1) < today:
                mdf.request_approve(request=ended)
                claim = mdf.claim_submit(
                    request=ended,
                    actual_cost="5400.00",
                    files=[SimpleUploadedFile("invoice.pdf", proof, "application/pdf")],
                    on=today,
                )
                if i == 0:
                    mdf.claim_approve(claim=claim)
        except ServiceError as exc:
            if stdout:
                stdout.write(f"MDF demo for {partner.display_name} skipped: {exc}\n")
    if stdout:
        stdout.write(f"Quotes: {made['quotes']}, MDF requests: {made['mdf requests']}\n")
    return made
