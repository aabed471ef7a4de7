"""Metric providers: each computes one value per partner, for all partners at once, in SQL.

A requirement names a metric, a period and params (see programs/schema.py METRICS). The
engine asks each provider for the values of a :class:`MetricKey` as of a date, for every
partner (or a given subset), in one aggregate query, never one query per partner.

Providers may also tell the day a threshold was first reached (``met_dates``), for the few
partners about to be promoted, so a promotion takes effect on the day its requirements were
met even when the evaluation runs later.

Other apps register providers for the metrics they own: the deal-registration app replaces
the placeholders for ``registered_deals``, ``approved_deals``, ``closed_won_deals`` and
``pipeline_value`` with :func:`register`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum

from partnerhub.core.money import from_minor
from partnerhub.tiers.periods import period_bounds


@dataclass(frozen=True)
class MetricKey:
    """One metric question: which metric, over which period, with which params."""

    metric: str
    period: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, requirement: dict) -> MetricKey:
        return cls(
            requirement["metric"],
            requirement.get("period"),
            tuple(sorted((requirement.get("params") or {}).items())),
        )

    def param(self, name: str) -> str | None:
        return dict(self.params).get(name)


@dataclass
class MetricContext:
    """What a provider needs to know besides the key: the date and the program's rules."""

    as_of: dt.date
    currency: str
    fy_month: int
    fy_day: int
    activation_days: int | None = None
    partner_ids: list[int] | None = None  # None: every partner

    @classmethod
    def for_version(
        cls, version, as_of: dt.date, partner_ids: list[int] | None = None
    ) -> MetricContext:
        return cls(
            as_of=as_of,
            currency=version.currency,
            fy_month=version.fiscal_year_start_month,
            fy_day=version.fiscal_year_start_day,
            activation_days=(version.policies or {}).get("activation_days"),
            partner_ids=partner_ids,
        )

    def bounds(self, key: MetricKey) -> tuple[dt.date, dt.date]:
        return period_bounds(key.period, self.as_of, self.fy_month, self.fy_day)

    def scope(self, qs: QuerySet, field_name: str = "partner_id") -> QuerySet:
        if self.partner_ids is None:
            return qs
        return qs.filter(**{f"{field_name}__in": self.partner_ids})


class MetricProvider(Protocol):
    name: str
    unit: str  # "money", "count" or "score"

    def values(self, ctx: MetricContext, key: MetricKey) -> dict[int, Decimal]: ...

    def met_dates(
        self, ctx: MetricContext, key: MetricKey, threshold: Decimal, partner_ids: Iterable[int]
    ) -> dict[int, dt.date]: ...


@dataclass
class BaseProvider:
    name: str
    unit: str = "count"
    available: bool = True

    def values(self, ctx: MetricContext, key: MetricKey) -> dict[int, Decimal]:
        raise NotImplementedError

    def met_dates(self, ctx, key, threshold, partner_ids) -> dict[int, dt.date]:
        return {}


def _as_decimal(rows, value_name: str = "value") -> dict[int, Decimal]:
    return {row["partner_id"]: Decimal(row[value_name] or 0) for row in rows}


@dataclass
class BillingsProvider(BaseProvider):
    """Net billings in the program currency over the period (credits count negative).

    Under the program's activation rule a line counts only once its customer has been active
    ``activation_days`` (as of the evaluation date)."""

    name: str = "billings"
    unit: str = "money"

    # Up to this many partners, the activation rule reads each line's customer (the pages
    # explaining one partner's tiers); beyond, it excludes the customers activated too
    # recently as a set (the evaluation of every partner reads the covering index only).
    FEW_PARTNERS = 100

    def _lines(self, ctx: MetricContext, key: MetricKey, *, activation: bool = True):
        from partnerhub.sales.models import BillingLine

        start, end = ctx.bounds(key)
        qs = BillingLine.objects.filter(
            invoice_date__gte=start, invoice_date__lte=end, currency=ctx.currency
        )
        category = key.param("category")
        if category:
            qs = qs.filter(product__category__key=category)
        if ctx.activation_days and activation:
            cut = ctx.as_of - dt.timedelta(days=ctx.activation_days)
            if ctx.partner_ids is not None and len(ctx.partner_ids) <= self.FEW_PARTNERS:
                # A few partners' lines: look up each line's customer (the same pages the
                # "met on" query reads next) rather than build the set of every customer
                # activated since the cut.
                qs = qs.filter(customer__activated_on__lte=cut)
            else:
                # Exclude the (few) customers not yet active long enough, rather than joining
                # every line to its customer: the sum then reads the covering index only (and
                # the customers from the index on their activation day).
                from partnerhub.sales.models import Customer

                qs = qs.exclude(
                    customer_id__in=Customer.objects.filter(activated_on__gt=cut).values("id")
                )
        return ctx.scope(qs)

    def values(self, ctx, key):
        rows = (
            self._lines(ctx, key)
            .values("partner_id")
            .annotate(value=Sum("net_amount_minor"))
            .order_by()
        )
        return {r["partner_id"]: from_minor(r["value"] or 0, ctx.currency) for r in rows}

    def met_dates(self, ctx, key, threshold, partner_ids):
        """The day the running total last rose to the threshold (a credit can push it back below,
        after which a later crossing is the one that counts), computed in SQL with window
        functions: the row after the last row whose running total was below the threshold.

        Under the activation rule a line counts from ``max(invoice day, customer activated +
        N days)`` once that day has come. Only a customer activated after the period start
        minus N days can move a line's day past its invoice day: the other lines keep their
        invoice day without date arithmetic, and the rule is applied from each line's customer
        alone (no second pass over the customers activated since the cut)."""
        from django.db import connection

        from partnerhub.core.money import to_minor

        partner_ids = list(partner_ids)
        if not partner_ids:
            return {}
        inner = self._lines(ctx, key, activation=False).filter(partner_id__in=partner_ids)
        if ctx.activation_days:
            n = int(ctx.activation_days)
            start, _end = ctx.bounds(key)
            cut = ctx.as_of - dt.timedelta(days=n)
            inner_sql, params = (
                inner.filter(customer__activated_on__lte=cut)
                .values_list(
                    "partner_id", "invoice_date", "customer__activated_on", "id", "net_amount_minor"
                )
                .query.sql_with_params()
            )
            if connection.vendor == "postgresql":
                moved = f"GREATEST(inv, act + {n})"
            else:
                moved = f"MAX(inv, date(act, '+{n} days'))"
            lines = f"""
                lines(pid, inv, act, lid, amt) AS ({inner_sql}),
                days(pid, day, lid, amt) AS (
                    SELECT pid, CASE WHEN act > %s THEN {moved} ELSE inv END, lid, amt FROM lines
                )"""
            late = start - dt.timedelta(days=n)
            params = [*params, late if connection.vendor == "postgresql" else late.isoformat()]
        else:
            inner_sql, params = inner.values_list(
                "partner_id", "invoice_date", "id", "net_amount_minor"
            ).query.sql_with_params()
            lines = f"""
                days(pid, day, lid, amt) AS ({inner_sql})"""
        sql = f"""
            WITH {lines},
            running AS (
                SELECT pid, day, SUM(amt) OVER w AS total, ROW_NUMBER() OVER w AS rn
                FROM days
                WINDOW w AS (PARTITION BY pid ORDER BY day, lid ROWS UNBOUNDED PRECEDING)
            ),
            last_below AS (
                SELECT pid, MAX(CASE WHEN total < %s THEN rn ELSE 0 END) AS rn
                FROM running GROUP BY pid
            )
            SELECT r.pid, r.day FROM running r
            JOIN last_below b ON b.pid = r.pid AND r.rn = b.rn + 1
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, to_minor(threshold, ctx.currency)])
            rows = cursor.fetchall()
        return {
            pid: (dt.date.fromisoformat(str(day)[:10]) if not isinstance(day, dt.date) else day)
            for pid, day in rows
        }


def _valid_certifications(ctx: MetricContext, key: MetricKey):
    from partnerhub.training.models import PersonCertification

    d = ctx.as_of
    qs = PersonCertification.objects.filter(earned_on__lte=d).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=d),
        Q(revoked_on__isnull=True) | Q(revoked_on__gt=d),
    )
    certification = key.param("certification")
    if certification:
        qs = qs.filter(certification__key=certification)
    role = key.param("role")
    if role:
        qs = qs.filter(person__job_role=role)
    return ctx.scope(qs)


def _nth_dates(qs: QuerySet, date_field: str, threshold: Decimal, partner_ids, distinct_field: str):
    """Day the Nth distinct item appeared, per partner (items valid as of the evaluation date)."""
    n = int(threshold) if threshold == int(threshold) else int(threshold) + 1
    if n <= 0:
        return {}
    rows = (
        qs.filter(partner_id__in=list(partner_ids))
        .values("partner_id", distinct_field)
        .annotate(first=Min(date_field))
        .order_by()
    )
    per_partner: dict[int, list[dt.date]] = {}
    for row in rows:
        per_partner.setdefault(row["partner_id"], []).append(row["first"])
    return {pid: sorted(days)[n - 1] for pid, days in per_partner.items() if len(days) >= n}


@dataclass
class CertifiedPeopleProvider(BaseProvider):
    """People holding a current certification (optionally a given one, or in a given role)."""

    name: str = "certified_people"

    def values(self, ctx, key):
        rows = (
            _valid_certifications(ctx, key)
            .values("partner_id")
            .annotate(value=Count("person_id", distinct=True))
            .order_by()
        )
        return _as_decimal(rows)

    def met_dates(self, ctx, key, threshold, partner_ids):
        return _nth_dates(
            _valid_certifications(ctx, key), "earned_on", threshold, partner_ids, "person_id"
        )


@dataclass
class TrainedPeopleProvider(BaseProvider):
    """People who completed a course (a given one, or any)."""

    name: str = "trained_people"

    def _qs(self, ctx, key):
        from partnerhub.training.models import CourseCompletion

        qs = CourseCompletion.objects.filter(completed_on__lte=ctx.as_of)
        if key.param("course"):
            qs = qs.filter(course__key=key.param("course"))
        return ctx.scope(qs.annotate(partner_id=F("person__partner_id")), "person__partner_id")

    def values(self, ctx, key):
        rows = (
            self._qs(ctx, key)
            .values("partner_id")
            .annotate(value=Count("person_id", distinct=True))
            .order_by()
        )
        return _as_decimal(rows)


@dataclass
class CompetenciesProvider(BaseProvider):
    """Competencies held: a competency is held while N people hold any of its certifications."""

    name: str = "competencies"

    def values(self, ctx, key):
        from partnerhub.training.models import Competency

        competencies = Competency.objects.prefetch_related("certifications")
        if key.param("competency"):
            competencies = competencies.filter(key=key.param("competency"))
        totals: dict[int, Decimal] = {}
        for competency in competencies:  # a handful of competencies, each one set-based query
            cert_ids = [c.pk for c in competency.certifications.all()]
            rows = (
                _valid_certifications(ctx, MetricKey("certified_people"))
                .filter(certification_id__in=cert_ids)
                .values("partner_id")
                .annotate(people=Count("person_id", distinct=True))
                .filter(people__gte=competency.min_people)
                .order_by()
            )
            for row in rows:
                totals[row["partner_id"]] = totals.get(row["partner_id"], Decimal(0)) + 1
        return totals


@dataclass
class NpsProvider(BaseProvider):
    """Net promoter score over the period: % promoters (9-10) − % detractors (0-6)."""

    name: str = "nps"
    unit: str = "score"

    def values(self, ctx, key):
        from partnerhub.tiers.models import SurveyResponse

        start, end = ctx.bounds(key)
        rows = (
            ctx.scope(SurveyResponse.objects.filter(responded_on__gte=start, responded_on__lte=end))
            .values("partner_id")
            .annotate(
                n=Count("id"),
                promoters=Count("id", filter=Q(score__gte=9)),
                detractors=Count("id", filter=Q(score__lte=6)),
            )
            .order_by()
        )
        return {
            r["partner_id"]: (Decimal(100) * (r["promoters"] - r["detractors"]) / r["n"]).quantize(
                Decimal("0.1")
            )
            for r in rows
            if r["n"]
        }


@dataclass
class RetentionProvider(BaseProvider):
    """% of the customers billed in the 12 months before the period still billed in it."""

    name: str = "customer_retention"
    unit: str = "score"

    def values(self, ctx, key):
        from partnerhub.sales.models import BillingLine
        from partnerhub.tiers.periods import add_years

        start, end = ctx.bounds(key)
        before_start = add_years(start, -1)
        earlier = ctx.scope(
            BillingLine.objects.filter(invoice_date__gte=before_start, invoice_date__lt=start)
        )
        still = BillingLine.objects.filter(
            partner_id=OuterRef("partner_id"),
            customer_id=OuterRef("customer_id"),
            invoice_date__gte=start,
            invoice_date__lte=end,
        )
        rows = (
            earlier.values("partner_id", "customer_id")
            .annotate(retained=Exists(still))
            .order_by()
            .distinct()
        )
        base: dict[int, int] = {}
        kept: dict[int, int] = {}
        for row in rows:
            base[row["partner_id"]] = base.get(row["partner_id"], 0) + 1
            kept[row["partner_id"]] = kept.get(row["partner_id"], 0) + (1 if row["retained"] else 0)
        return {
            pid: (Decimal(100) * kept[pid] / n).quantize(Decimal("0.1"))
            for pid, n in base.items()
            if n
        }


@dataclass
class ActivationRateProvider(BaseProvider):
    """% of customers first activated in the period that have been active the activation days."""

    name: str = "activation_rate"
    unit: str = "score"

    def values(self, ctx, key):
        from partnerhub.sales.models import BillingLine

        start, end = ctx.bounds(key)
        days = ctx.activation_days or 90
        rows = (
            ctx.scope(
                BillingLine.objects.filter(
                    customer__activated_on__gte=start, customer__activated_on__lte=end
                )
            )
            .values("partner_id")
            .annotate(
                new=Count("customer_id", distinct=True),
                active=Count(
                    "customer_id",
                    distinct=True,
                    filter=Q(customer__activated_on__lte=ctx.as_of - dt.timedelta(days=days)),
                ),
            )
            .order_by()
        )
        return {
            r["partner_id"]: (Decimal(100) * r["active"] / r["new"]).quantize(Decimal("0.1"))
            for r in rows
            if r["new"]
        }


@dataclass
class EvidenceProvider(BaseProvider):
    """Named evidence items recorded by staff and valid on the date."""

    name: str = "evidence"

    def _qs(self, ctx, key):
        from partnerhub.tiers.models import EvidenceItem

        d = ctx.as_of
        qs = EvidenceItem.objects.filter(item=key.param("item"), recorded_on__lte=d).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=d)
        )
        return ctx.scope(qs)

    def values(self, ctx, key):
        rows = self._qs(ctx, key).values("partner_id").annotate(value=Count("id")).order_by()
        return _as_decimal(rows)

    def met_dates(self, ctx, key, threshold, partner_ids):
        return _nth_dates(self._qs(ctx, key), "recorded_on", threshold, partner_ids, "id")


@dataclass
class PendingProvider(BaseProvider):
    """Placeholder for a metric whose source app is not installed yet: every partner has 0."""

    available: bool = False

    def values(self, ctx, key):
        return {}


_REGISTRY: dict[str, BaseProvider] = {}


def register(provider: BaseProvider) -> None:
    """Install (or replace) the provider of a metric."""
    _REGISTRY[provider.name] = provider


def provider(name: str) -> BaseProvider:
    return _REGISTRY[name]


def registered() -> dict[str, BaseProvider]:
    return dict(_REGISTRY)


for _p in (
    BillingsProvider(),
    CertifiedPeopleProvider(),
    TrainedPeopleProvider(),
    CompetenciesProvider(),
    NpsProvider(),
    RetentionProvider(),
    ActivationRateProvider(),
    EvidenceProvider(),
    # Read from the deal-registration app once it lands (it registers real providers).
    PendingProvider("registered_deals"),
    PendingProvider("approved_deals"),
    PendingProvider("closed_won_deals"),
    PendingProvider("pipeline_value", unit="money"),
):
    register(_p)


@dataclass
class MetricTable:
    """Values computed for one context: key → partner → value (absent partner = 0)."""

    ctx: MetricContext
    values: dict[MetricKey, dict[int, Decimal]] = field(default_factory=dict)

    def compute(self, keys: Iterable[MetricKey]) -> MetricTable:
        for key in keys:
            if key not in self.values:
                self.values[key] = provider(key.metric).values(self.ctx, key)
        return self

    def get(self, key: MetricKey, partner_id: int) -> Decimal:
        return self.values.get(key, {}).get(partner_id, Decimal(0))
