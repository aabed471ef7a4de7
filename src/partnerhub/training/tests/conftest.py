"""A small training catalogue on top of the shared ``world``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

D = dt.date


@dataclass
class Catalogue:
    basics: object  # course ev-basics
    install: object  # course ev-install
    exam: object  # course ev-exam (scored)
    installer: object  # certification ev-installer: basics + install, 24 months
    expert: object  # certification ev-expert: install + exam >= 80, 12 months
    sales: object  # certification ev-sales: basics only, never expires
    competency: object  # ev-installation: 2 people holding ev-installer or ev-expert


@pytest.fixture
def catalogue(world):
    from partnerhub.training import services

    basics = services.course_create(data={"key": "ev-basics", "name": "EV charging basics"})
    install = services.course_create(data={"key": "ev-install", "name": "Installing chargers"})
    exam = services.course_create(data={"key": "ev-exam", "name": "EV installer exam"})
    installer = services.certification_create(
        data={
            "key": "ev-installer",
            "name": "EV Installer",
            "required_courses": ["ev-basics", "ev-install"],
            "validity_months": 24,
        }
    )
    expert = services.certification_create(
        data={
            "key": "ev-expert",
            "name": "EV Expert",
            "required_courses": ["ev-install"],
            "exam_course": "ev-exam",
            "exam_pass_score": 80,
            "validity_months": 12,
            "fee_minor": 25000,
            "currency": "EUR",
        }
    )
    sales = services.certification_create(
        data={"key": "ev-sales", "name": "EV Sales", "required_courses": ["ev-basics"]}
    )
    competency = services.competency_create(
        data={
            "key": "ev-installation",
            "name": "EV installation",
            "certifications": ["ev-installer", "ev-expert"],
            "min_people": 2,
        }
    )
    return Catalogue(basics, install, exam, installer, expert, sales, competency)


@pytest.fixture
def person_a(world):
    from partnerhub.training.services import person_upsert

    person, _ = person_upsert(
        partner=world.partner_a, email="Jo@Alpha.test", full_name="Jo Weber", job_role="engineer"
    )
    return person


@pytest.fixture
def gated_product(catalogue):
    from partnerhub.sales.models import Product, ProductCategory

    hardware = ProductCategory.objects.create(key="hardware", name="Hardware")
    return Product.objects.create(
        sku="CP-6000",
        name="DC fast charger",
        category=hardware,
        list_price_minor=2_500_000,
        currency="EUR",
        required_certification=catalogue.installer,
    )
