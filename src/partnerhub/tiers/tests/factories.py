"""Compact builders for the tier engine's inputs: billing lines, people and certifications,
course completions, competencies, evidence, survey scores, and fake deal metrics.

Amounts are given in major units (``"1234.50"``) and stored in minor units; dates are
``datetime.date`` or ISO strings.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from partnerhub.core.money import to_minor

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "programs"
_seq = itertools.count(1)


def day(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def load_program(filename: str):
    """Load an example program file; returns the Program."""
    from partnerhub.programs.services import program_load

    return program_load(source=(EXAMPLES / filename).read_text()).version.program


def partner(name: str | None = None, *, status: str = "active", **extra):
    from partnerhub.partners.models import Partner

    name = name or f"Partner {next(_seq)}"
    return Partner.objects.create(
        legal_name=f"{name} Ltd", display_name=name, country="DE", status=status, **extra
    )


def join(partner, program, track_key: str, joined_on: dt.date | str = "2025-03-01"):
    from partnerhub.partners.models import TrackMembership

    return TrackMembership.objects.create(
        partner=partner, program=program, track_key=track_key, joined_on=day(joined_on)
    )


# --- sales -----------------------------------------------------------------------------------


def category(key: str = "hardware"):
    from partnerhub.sales.models import ProductCategory

    return ProductCategory.objects.get_or_create(key=key, defaults={"name": key.title()})[0]


def product(category_key: str = "hardware", currency: str = "USD"):
    from partnerhub.sales.models import Product

    sku = f"{category_key}-{currency}".upper()
    return Product.objects.get_or_create(
        sku=sku,
        defaults={
            "name": sku,
            "category": category(category_key),
            "list_price_minor": 100_00,
            "currency": currency,
        },
    )[0]


def customer(activated_on: dt.date | str = "2020-01-01", name: str | None = None):
    from partnerhub.sales.models import Customer

    n = next(_seq)
    return Customer.objects.create(
        external_id=f"CUST-{n}", name=name or f"Customer {n}", activated_on=day(activated_on)
    )


_new_customer = customer


def bill(
    partner,
    amount: Decimal | str | int,
    on: dt.date | str,
    *,
    customer=None,
    category: str = "hardware",
    currency: str = "USD",
):
    """One billing line (a credit when ``amount`` is negative)."""
    from partnerhub.sales.models import BillingLine

    return BillingLine.objects.create(
        external_id=f"LINE-{next(_seq)}",
        partner=partner,
        customer=customer if customer is not None else _new_customer(),
        product=product(category, currency),
        quantity=1,
        net_amount_minor=to_minor(Decimal(str(amount)), currency),
        currency=currency,
        invoice_date=day(on),
    )


# --- training --------------------------------------------------------------------------------


def certification(key: str):
    from partnerhub.training.models import Certification

    return Certification.objects.get_or_create(key=key, defaults={"name": key.title()})[0]


def course(key: str):
    from partnerhub.training.models import Course

    return Course.objects.get_or_create(key=key, defaults={"name": key.title()})[0]


def person(partner, *, job_role: str = "", email: str | None = None):
    from partnerhub.training.models import Person

    return Person.objects.create(
        partner=partner, email=email or f"person{next(_seq)}@example.test", job_role=job_role
    )


def certify(
    who,
    certification_key: str,
    earned_on: dt.date | str,
    *,
    expires_on: dt.date | str | None = None,
    revoked_on: dt.date | str | None = None,
):
    """Certify a person (or a new person of the partner ``who``)."""
    from partnerhub.partners.models import Partner
    from partnerhub.training.models import PersonCertification

    p = person(who) if isinstance(who, Partner) else who
    return PersonCertification.objects.create(
        person=p,
        partner_id=p.partner_id,
        certification=certification(certification_key),
        earned_on=day(earned_on),
        expires_on=day(expires_on) if expires_on else None,
        revoked_on=day(revoked_on) if revoked_on else None,
    )


def certify_people(partner, certification_key: str, *earned: dt.date | str, **kw) -> list:
    """One new certified person per date in ``earned``."""
    return [certify(partner, certification_key, e, **kw) for e in earned]


def complete(person, course_key: str, on: dt.date | str):
    from partnerhub.training.models import CourseCompletion

    return CourseCompletion.objects.create(
        person=person, course=course(course_key), completed_on=day(on)
    )


def competency(key: str, certification_keys: Iterable[str], min_people: int = 1):
    from partnerhub.training.models import Competency

    c = Competency.objects.create(key=key, name=key.title(), min_people=min_people)
    c.certifications.set([certification(k) for k in certification_keys])
    return c


# --- tier inputs -----------------------------------------------------------------------------


def evidence(
    partner, item: str, recorded_on: dt.date | str, valid_until: dt.date | str | None = None
):
    from partnerhub.tiers.models import EvidenceItem

    return EvidenceItem.objects.create(
        partner=partner,
        item=item,
        recorded_on=day(recorded_on),
        valid_until=day(valid_until) if valid_until else None,
    )


def surveys(partner, scores: Iterable[int], on: dt.date | str) -> list:
    from partnerhub.tiers.models import SurveyResponse

    return [
        SurveyResponse.objects.create(
            external_id=f"S-{next(_seq)}", partner=partner, score=s, responded_on=day(on)
        )
        for s in scores
    ]


class FakeDeals:
    """A deal metric provider (registered/approved/closed-won deals) fed with deal dates.

    ``deals`` maps partner id → dates; values count the dates inside the requirement's period
    as of the evaluation date, met_dates give the date of the Nth of them."""

    unit = "count"
    available = True

    def __init__(self, name: str, deals: dict[int, list] | None = None):
        self.name = name
        self.deals: dict[int, list[dt.date]] = {}
        for partner_id, dates in (deals or {}).items():
            self.add(partner_id, *dates)

    def add(self, partner_id: int, *dates: dt.date | str) -> FakeDeals:
        self.deals.setdefault(partner_id, []).extend(day(d) for d in dates)
        return self

    def _in_period(self, ctx, key, partner_id) -> list[dt.date]:
        start, end = ctx.bounds(key)
        return sorted(d for d in self.deals.get(partner_id, []) if start <= d <= end)

    def values(self, ctx, key) -> dict[int, Decimal]:
        out = {}
        for partner_id in self.deals:
            if ctx.partner_ids is not None and partner_id not in ctx.partner_ids:
                continue
            n = len(self._in_period(ctx, key, partner_id))
            if n:
                out[partner_id] = Decimal(n)
        return out

    def met_dates(self, ctx, key, threshold, partner_ids) -> dict[int, dt.date]:
        n = int(threshold)
        out = {}
        for partner_id in partner_ids:
            days = self._in_period(ctx, key, partner_id)
            if n > 0 and len(days) >= n:
                out[partner_id] = days[n - 1]
        return out


def fake_deals(monkeypatch, name: str = "registered_deals", deals=None) -> FakeDeals:
    """Install a FakeDeals provider for ``name`` for the test."""
    from partnerhub.tiers import metrics

    provider = FakeDeals(name, deals)
    monkeypatch.setitem(metrics._REGISTRY, name, provider)
    return provider


def deal_dates(first: dt.date | str, count: int, step_days: int = 1) -> list[dt.date]:
    start = day(first)
    return [start + dt.timedelta(days=i * step_days) for i in range(count)]


class FixedMetric:
    """A provider answering fixed values (partner id → value) whatever the date and key, and
    fixed met days (partner id → date) for partners that reach the threshold."""

    available = True

    def __init__(self, name: str, values=None, met=None, unit: str = "count"):
        self.name = name
        self.unit = unit
        self.fixed = {pid: Decimal(str(v)) for pid, v in (values or {}).items()}
        self.met = {pid: day(d) for pid, d in (met or {}).items()}

    def values(self, ctx, key) -> dict[int, Decimal]:
        return {
            pid: v
            for pid, v in self.fixed.items()
            if ctx.partner_ids is None or pid in ctx.partner_ids
        }

    def met_dates(self, ctx, key, threshold, partner_ids) -> dict[int, dt.date]:
        return {
            pid: self.met[pid]
            for pid in partner_ids
            if pid in self.met and self.fixed.get(pid, Decimal(0)) >= threshold
        }


def fixed_metric(monkeypatch, name: str, values=None, met=None, unit: str = "count"):
    from partnerhub.tiers import metrics

    provider = FixedMetric(name, values, met, unit)
    monkeypatch.setitem(metrics._REGISTRY, name, provider)
    return provider
