"""Demo activity: products, customers, billings, training and evidence for the demo partners,
then a tier evaluation, so the tier engine has something to show (`partnerhub demo`)."""

from __future__ import annotations

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
