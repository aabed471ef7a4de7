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
    summary = tiers_evaluate(as_of=today)
    if stdout:
        stdout.write(
            f"Activity: {len(lines)} billing lines, {len(certs)} certifications; "
            f"tiers evaluated for {summary.memberships} memberships "
            f"({len(summary.changes)} changes)\n"
        )
    return {
        "billing_lines": len(lines),
        "certifications": len(certs),
        "tier_changes": len(summary.changes),
    }
