"""Every metric provider against hand-computed values (fiscal year starting 1 February)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.tiers import metrics
from partnerhub.tiers.metrics import MetricContext, MetricKey, MetricTable
from partnerhub.tiers.tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date


def ctx(as_of, *, activation_days=None, partner_ids=None, currency="USD") -> MetricContext:
    return MetricContext(
        as_of=as_of,
        currency=currency,
        fy_month=2,
        fy_day=1,
        activation_days=activation_days,
        partner_ids=partner_ids,
    )


def values(metric: str, context: MetricContext, period=None, **params) -> dict[int, Decimal]:
    key = MetricKey(metric, period, tuple(sorted(params.items())))
    return metrics.provider(metric).values(context, key)


def met_dates(metric: str, context: MetricContext, threshold, partner_ids, period=None, **params):
    key = MetricKey(metric, period, tuple(sorted(params.items())))
    return metrics.provider(metric).met_dates(context, key, Decimal(threshold), partner_ids)


@pytest.fixture
def p():
    return f.partner("Pioneer")


@pytest.fixture
def q():
    return f.partner("Quark")


# --- keys and the table ----------------------------------------------------------------------


def test_metric_key_of_requirement_sorts_params():
    key = MetricKey.of(
        {
            "metric": "certified_people",
            "min": "2",
            "params": {"role": "engineer", "certification": "x"},
        }
    )
    assert key == MetricKey(
        "certified_people", None, (("certification", "x"), ("role", "engineer"))
    )
    assert key.param("role") == "engineer"
    assert key.param("course") is None
    assert MetricKey.of({"metric": "billings", "min": "1", "period": "all_time"}) == MetricKey(
        "billings", "all_time", ()
    )


def test_context_for_version_reads_program_rules(ev_program):
    version = ev_program.versions.get()
    c = MetricContext.for_version(version, D(2025, 9, 18), [7])
    assert (c.currency, c.fy_month, c.fy_day, c.activation_days, c.partner_ids) == (
        "USD",
        2,
        1,
        90,
        [7],
    )
    assert c.bounds(MetricKey("billings", "fiscal_year_to_date")) == (D(2025, 2, 1), D(2025, 9, 18))


def test_table_gives_zero_for_absent_partners(p, q):
    f.bill(p, "10.00", "2025-03-01")
    key = MetricKey("billings", "fiscal_year_to_date")
    table = MetricTable(ctx(D(2025, 3, 1))).compute([key, key])
    assert table.get(key, p.pk) == Decimal("10.00")
    assert table.get(key, q.pk) == Decimal(0)
    assert table.get(MetricKey("nps", "all_time"), p.pk) == Decimal(0)


def test_a_pending_provider_is_zero_and_unavailable(p):
    """A metric whose source app is not installed answers 0 and says so in explanations."""
    pending = metrics.PendingProvider("not_installed_yet", unit="money")
    assert pending.available is False
    assert pending.values(ctx(D(2025, 9, 1)), MetricKey("x", "fiscal_year_to_date")) == {}
    # The deal metrics are real now: the deals app replaced their placeholders.
    for name in ("registered_deals", "approved_deals", "closed_won_deals", "pipeline_value"):
        assert metrics.provider(name).available is True
    assert metrics.provider("pipeline_value").unit == "money"
    assert metrics.provider("billings").unit == "money"


def test_register_replaces_a_provider(monkeypatch):
    monkeypatch.setattr(metrics, "_REGISTRY", dict(metrics._REGISTRY))
    fake = f.FakeDeals("registered_deals")
    metrics.register(fake)
    assert metrics.provider("registered_deals") is fake


# --- billings --------------------------------------------------------------------------------


def test_billings_period_bounds_currency_category_and_credits(p, q):
    f.bill(p, "1000.00", "2025-01-31")  # previous fiscal year
    f.bill(p, "100.00", "2025-02-01")  # first day of FY2025 (inclusive)
    f.bill(p, "250.50", "2025-06-30")  # the evaluation day (inclusive)
    f.bill(p, "999.00", "2025-07-01")  # after the evaluation day
    f.bill(p, "-50.25", "2025-03-01")  # a credit
    f.bill(p, "500.00", "2025-03-01", currency="EUR")  # another currency
    f.bill(p, "300.00", "2025-04-01", category="cloud")
    f.bill(q, "10.00", "2025-05-05")
    c = ctx(D(2025, 6, 30))
    assert values("billings", c, "fiscal_year_to_date") == {
        p.pk: Decimal("600.25"),
        q.pk: Decimal("10.00"),
    }
    assert values("billings", c, "fiscal_year_to_date", category="hardware") == {
        p.pk: Decimal("300.25"),
        q.pk: Decimal("10.00"),
    }
    assert values("billings", c, "fiscal_year_to_date", category="cloud") == {
        p.pk: Decimal("300.00")
    }
    assert values("billings", c, "all_time") == {p.pk: Decimal("1600.25"), q.pk: Decimal("10.00")}
    assert values("billings", c, "previous_fiscal_year") == {p.pk: Decimal("1000.00")}
    assert values("billings", ctx(D(2025, 6, 30), currency="EUR"), "fiscal_year_to_date") == {
        p.pk: Decimal("500.00")
    }
    assert values("billings", ctx(D(2025, 6, 30), partner_ids=[q.pk]), "fiscal_year_to_date") == {
        q.pk: Decimal("10.00")
    }


def test_billings_net_negative_total(p):
    f.bill(p, "100.00", "2025-03-01")
    f.bill(p, "-130.00", "2025-03-02")
    assert values("billings", ctx(D(2025, 3, 2)), "fiscal_year_to_date") == {
        p.pk: Decimal("-30.00")
    }


def test_billings_activation_rule_counts_a_customer_after_the_days_have_passed(p):
    old = f.customer("2024-01-01")
    new = f.customer("2025-03-01")  # 2025-03-01 + 90 days = 2025-05-30
    f.bill(p, "200.00", "2025-03-05", customer=old)
    f.bill(p, "1000.00", "2025-03-02", customer=new)
    fytd = "fiscal_year_to_date"
    assert values("billings", ctx(D(2025, 5, 29), activation_days=90), fytd) == {
        p.pk: Decimal("200.00")
    }
    assert values("billings", ctx(D(2025, 5, 30), activation_days=90), fytd) == {
        p.pk: Decimal("1200.00")
    }
    # without the rule, revenue counts from the invoice
    assert values("billings", ctx(D(2025, 3, 2)), fytd) == {p.pk: Decimal("1000.00")}


def test_billings_met_dates_running_total_with_credit_and_activation_shift(p, q):
    old = f.customer("2024-01-01")
    new = f.customer("2025-04-01")  # counts from 2025-06-30
    f.bill(p, "600.00", "2025-03-10", customer=old)
    f.bill(p, "500.00", "2025-04-05", customer=old)  # 1100: first crossing of 1000
    f.bill(p, "-200.00", "2025-04-20", customer=old)  # 900: below again
    f.bill(p, "150.00", "2025-05-02", customer=old)  # 1050: crosses again
    f.bill(p, "300.00", "2025-04-02", customer=new)  # 1350 from 2025-06-30
    f.bill(q, "999.99", "2025-03-01", customer=old)
    c = ctx(D(2025, 7, 15), activation_days=90)
    assert values("billings", c, "fiscal_year_to_date")[p.pk] == Decimal("1350.00")
    period = "fiscal_year_to_date"
    assert met_dates("billings", c, 1000, [p.pk, q.pk], period) == {p.pk: D(2025, 5, 2)}
    assert met_dates("billings", c, 600, [p.pk], period) == {p.pk: D(2025, 3, 10)}
    # 1100 was reached on 04-05, lost on 04-20 and reached again with the new customer
    assert met_dates("billings", c, 1100, [p.pk], period) == {p.pk: D(2025, 6, 30)}
    assert met_dates("billings", c, 1200, [p.pk], period) == {p.pk: D(2025, 6, 30)}
    assert met_dates("billings", c, "1350.01", [p.pk], period) == {}
    assert met_dates("billings", c, 1000, [], period) == {}
    # as of a day before the new customer's 90 days, its line does not count yet
    before = ctx(D(2025, 6, 29), activation_days=90)
    assert met_dates("billings", before, 1200, [p.pk], period) == {}
    # without the activation rule the new customer's line counts from its invoice date
    plain = ctx(D(2025, 7, 15))
    assert met_dates("billings", plain, 1200, [p.pk], period) == {p.pk: D(2025, 4, 5)}


def test_billings_met_dates_only_customers_activated_late_move_a_line(p, q):
    # Fiscal year from 2025-02-01; 90 activation days: only a customer activated after
    # 2024-11-03 can move a line of this fiscal year past its invoice day.
    boundary = f.customer("2024-11-03")  # active from 2025-02-01: its lines keep their day
    late = f.customer("2024-11-04")  # active from 2025-02-02
    f.bill(p, "1000.00", "2025-02-01", customer=late)
    f.bill(q, "1000.00", "2025-02-01", customer=boundary)
    c = ctx(D(2025, 7, 15), activation_days=90)
    period = "fiscal_year_to_date"
    assert met_dates("billings", c, 1000, [p.pk, q.pk], period) == {
        p.pk: D(2025, 2, 2),
        q.pk: D(2025, 2, 1),
    }
    # A customer activated in the year moves its earlier line behind a later one.
    later = f.customer("2025-03-01")  # active from 2025-05-30
    f.bill(p, "-1000.00", "2025-02-01", customer=boundary)  # p back to 0 from 02-02 on
    f.bill(p, "700.00", "2025-02-10", customer=later)  # counts from 05-30
    f.bill(p, "400.00", "2025-04-01", customer=boundary)  # 400 on 04-01
    assert met_dates("billings", c, 1000, [p.pk], period) == {p.pk: D(2025, 5, 30)}
    assert met_dates("billings", c, 400, [p.pk], period) == {p.pk: D(2025, 4, 1)}


def _reference_met_dates(lines, customers, as_of, start, end, n, threshold_minor):
    """The met-on day by definition, in Python: every line of the period whose customer is
    active by ``as_of``, from max(invoice day, activation + n), by day then id."""
    per_partner: dict[int, list] = {}
    for lid, pid, cid, inv, amt in lines:
        act = customers[cid]
        if not (start <= inv <= end) or act + dt.timedelta(days=n) > as_of:
            continue
        per_partner.setdefault(pid, []).append((max(inv, act + dt.timedelta(days=n)), lid, amt))
    out = {}
    for pid, rows in per_partner.items():
        rows.sort()
        total, last_below = 0, 0
        for i, (_day, _lid, amt) in enumerate(rows, start=1):
            total += amt
            if total < threshold_minor:
                last_below = i
        if last_below < len(rows):
            out[pid] = rows[last_below][0]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_billings_met_dates_match_the_definition(seed):
    import random

    rng = random.Random(seed)
    partners = [f.partner(f"Random {seed}-{i}") for i in range(4)]
    activations = [D(2024, 6, 1) + dt.timedelta(days=rng.randrange(400)) for _ in range(8)]
    customers = [f.customer(a) for a in activations]
    lines = []
    for _ in range(60):
        partner, customer = rng.choice(partners), rng.choice(customers)
        amount = rng.choice([-150, 100, 200, 250, 400, 600])
        on = D(2025, 1, 20) + dt.timedelta(days=rng.randrange(170))
        line = f.bill(partner, amount, on, customer=customer)
        lines.append((line.pk, partner.pk, customer.pk, on, line.net_amount_minor))
    acts = {c.pk: c.activated_on for c in customers}
    as_of = D(2025, 7, 15)
    c = ctx(as_of, activation_days=90)
    for threshold in (100, 500, 1000, 2000):
        expected = _reference_met_dates(
            lines, acts, as_of, D(2025, 2, 1), as_of, 90, threshold * 100
        )
        got = met_dates("billings", c, threshold, [p.pk for p in partners], "fiscal_year_to_date")
        assert got == expected, threshold
    # The value of a few partners (each line's customer read) equals that of every partner
    # (the recently activated customers excluded as a set).
    every = values("billings", c, "fiscal_year_to_date")
    for partner in partners:
        few = ctx(as_of, activation_days=90, partner_ids=[partner.pk])
        assert values("billings", few, "fiscal_year_to_date") == (
            {partner.pk: every[partner.pk]} if partner.pk in every else {}
        )


def test_billings_met_dates_same_day_credit_wipes_the_crossing(p):
    f.bill(p, "1000.00", "2025-03-01")
    f.bill(p, "-1.00", "2025-03-01")
    f.bill(p, "1.00", "2025-03-04")
    c = ctx(D(2025, 3, 31))
    assert met_dates("billings", c, 1000, [p.pk], "fiscal_year_to_date") == {p.pk: D(2025, 3, 4)}


# --- certifications and training -------------------------------------------------------------


@pytest.fixture
def certified(p, q):
    """Pioneer's people and certifications (see each line)."""
    p1 = f.person(p, job_role="sales")
    p2 = f.person(p, job_role="sales")
    p3 = f.person(p, job_role="sales")
    p4 = f.person(p, job_role="engineer")
    p5 = f.person(p, job_role="sales")
    f.certify(p1, "ev-sales", "2025-01-10")  # never expires
    f.certify(p1, "ev-sales", "2024-01-10", expires_on="2026-01-10")  # p1 twice: counted once
    f.certify(p1, "ev-installer", "2025-02-15")
    f.certify(p2, "ev-sales", "2025-02-01", expires_on="2025-06-01")  # counts up to 05-31
    f.certify(p3, "ev-sales", "2025-01-01", revoked_on="2025-05-01")  # counts up to 04-30
    f.certify(p4, "ev-installer", "2025-03-01")
    f.certify(p5, "ev-sales", "2025-07-01")  # later
    f.certify(q, "ev-sales", "2025-01-01")
    return p1, p2, p3, p4, p5


def test_certified_people_by_certification_role_expiry_and_revocation(p, q, certified):
    assert values("certified_people", ctx(D(2025, 4, 30)), certification="ev-sales") == {
        p.pk: Decimal(3),
        q.pk: Decimal(1),
    }
    assert values("certified_people", ctx(D(2025, 5, 1)), certification="ev-sales") == {
        p.pk: Decimal(2),
        q.pk: Decimal(1),
    }
    # expires_on 2025-06-01: still counts on 05-31, no longer on 06-01
    assert values("certified_people", ctx(D(2025, 5, 31)), certification="ev-sales")[
        p.pk
    ] == Decimal(2)
    assert values("certified_people", ctx(D(2025, 6, 1)), certification="ev-sales")[
        p.pk
    ] == Decimal(1)
    assert values("certified_people", ctx(D(2025, 7, 1)), certification="ev-sales")[
        p.pk
    ] == Decimal(2)
    # any certification: distinct people (p1 holds three)
    assert values("certified_people", ctx(D(2025, 5, 31))) == {p.pk: Decimal(3), q.pk: Decimal(1)}
    assert values("certified_people", ctx(D(2025, 5, 31)), role="engineer") == {p.pk: Decimal(1)}
    assert values(
        "certified_people", ctx(D(2025, 5, 31)), certification="ev-installer", role="sales"
    ) == {p.pk: Decimal(1)}
    assert values("certified_people", ctx(D(2025, 5, 31), partner_ids=[q.pk])) == {q.pk: Decimal(1)}
    assert values("certified_people", ctx(D(2024, 1, 9))) == {}


def test_certified_people_met_dates_is_the_nth_earned(p, q, certified):
    c = ctx(D(2025, 4, 30))
    # valid then: p1 (first earned 2024-01-10), p3 (2025-01-01), p2 (2025-02-01)
    assert met_dates("certified_people", c, 1, [p.pk], certification="ev-sales") == {
        p.pk: D(2024, 1, 10)
    }
    assert met_dates("certified_people", c, 2, [p.pk, q.pk], certification="ev-sales") == {
        p.pk: D(2025, 1, 1)
    }
    assert met_dates("certified_people", c, 3, [p.pk], certification="ev-sales") == {
        p.pk: D(2025, 2, 1)
    }
    assert met_dates("certified_people", c, 4, [p.pk], certification="ev-sales") == {}
    # a fractional threshold needs the next whole person
    assert met_dates("certified_people", c, "2.5", [p.pk], certification="ev-sales") == {
        p.pk: D(2025, 2, 1)
    }
    # after p3's revocation and p2's expiry only current holders count
    later = ctx(D(2025, 7, 1))
    assert met_dates("certified_people", later, 2, [p.pk], certification="ev-sales") == {
        p.pk: D(2025, 7, 1)
    }
    assert met_dates("certified_people", c, 0, [p.pk], certification="ev-sales") == {}


def test_trained_people_by_course_distinct_people(p, q):
    a, b = f.person(p), f.person(p)
    f.complete(a, "ev-basics", "2025-03-01")
    f.complete(a, "ev-basics", "2025-04-01")  # the same person again
    f.complete(b, "ev-basics", "2025-05-01")
    f.complete(b, "ev-advanced", "2025-03-01")
    f.complete(f.person(q), "ev-advanced", "2025-03-01")
    assert values("trained_people", ctx(D(2025, 4, 30)), course="ev-basics") == {p.pk: Decimal(1)}
    assert values("trained_people", ctx(D(2025, 5, 1)), course="ev-basics") == {p.pk: Decimal(2)}
    assert values("trained_people", ctx(D(2025, 3, 1))) == {p.pk: Decimal(2), q.pk: Decimal(1)}
    assert values("trained_people", ctx(D(2025, 5, 1), partner_ids=[q.pk])) == {q.pk: Decimal(1)}
    # this provider cannot tell the day: the engine uses the evaluation date
    assert met_dates("trained_people", ctx(D(2025, 5, 1)), 1, [p.pk], course="ev-basics") == {}


def test_competencies_held_while_enough_people_hold_a_certification(p, q):
    f.competency("dc-fast", ["ev-installer", "dc-specialist"], min_people=2)
    f.competency("sales", ["ev-sales"], min_people=1)
    f.certify(p, "ev-installer", "2025-01-01")
    f.certify(p, "dc-specialist", "2025-03-01")
    f.certify(p, "ev-sales", "2025-01-01", expires_on="2025-06-01")
    f.certify(q, "ev-installer", "2025-01-01")
    f.certify(q, "ev-sales", "2025-01-01")
    assert values("competencies", ctx(D(2025, 2, 1))) == {p.pk: Decimal(1), q.pk: Decimal(1)}
    assert values("competencies", ctx(D(2025, 3, 1))) == {p.pk: Decimal(2), q.pk: Decimal(1)}
    assert values("competencies", ctx(D(2025, 6, 1))) == {p.pk: Decimal(1), q.pk: Decimal(1)}
    assert values("competencies", ctx(D(2025, 3, 1)), competency="dc-fast") == {p.pk: Decimal(1)}
    assert values("competencies", ctx(D(2025, 3, 1), partner_ids=[q.pk])) == {q.pk: Decimal(1)}


# --- surveys, retention, activation ------------------------------------------------------------


def test_nps_is_promoters_minus_detractors_in_percent(p, q):
    f.surveys(p, [10, 9, 8, 7, 6, 0], "2025-03-01")  # 2 promoters, 2 detractors of 6
    f.surveys(q, [9, 3, 5], "2025-03-01")  # 1 promoter, 2 detractors of 3
    f.surveys(p, [0, 0, 0], "2024-12-31")  # outside the trailing 12 months below
    c = ctx(D(2025, 12, 31))
    assert values("nps", c, "trailing_12_months") == {p.pk: Decimal("0.0"), q.pk: Decimal("-33.3")}
    r = f.partner("Radiant")
    f.surveys(r, [10, 10, 9, 7], "2025-03-01")
    assert values(
        "nps",
        c,
        "trailing_12_months",
    )[r.pk] == Decimal("75.0")
    assert values("nps", ctx(D(2025, 2, 28)), "calendar_quarter") == {}
    assert values("nps", c, "all_time")[p.pk] == Decimal("-33.3")  # 2 − 5 of 9


def test_customer_retention(p, q):
    c1, c2, c3, c4, c5 = (f.customer() for _ in range(5))
    f.bill(p, "1.00", "2024-01-01", customer=c1)  # base: first day of the year before
    f.bill(p, "1.00", "2024-05-01", customer=c2)
    f.bill(p, "1.00", "2024-06-01", customer=c3)
    f.bill(p, "1.00", "2024-07-01", customer=c3)  # twice: one customer
    f.bill(p, "1.00", "2023-12-31", customer=c4)  # before the base year
    f.bill(p, "1.00", "2025-01-01", customer=c1)  # retained
    f.bill(p, "1.00", "2025-12-31", customer=c3)  # retained
    f.bill(p, "1.00", "2025-03-01", customer=c4)  # not in the base
    f.bill(p, "1.00", "2026-01-01", customer=c2)  # after the period
    f.bill(q, "1.00", "2024-03-01", customer=c5)
    c = ctx(D(2025, 12, 31))
    assert values("customer_retention", c, "trailing_12_months") == {
        p.pk: Decimal("66.7"),
        q.pk: Decimal("0.0"),
    }


def test_activation_rate(p, q):
    a = f.customer("2025-03-01")  # active 90 days by 2025-05-30
    b = f.customer("2025-10-15")  # 90 days on 2026-01-13: not yet
    old = f.customer("2024-06-01")  # activated before the period
    for cust in (a, b, old):
        f.bill(p, "1.00", "2025-10-20", customer=cust)
    f.bill(p, "1.00", "2025-11-01", customer=a)
    f.bill(q, "1.00", "2025-11-01", customer=a)
    c = ctx(D(2025, 12, 31), activation_days=90)
    assert values("activation_rate", c, "trailing_12_months") == {
        p.pk: Decimal("50.0"),
        q.pk: Decimal("100.0"),
    }
    assert values("activation_rate", ctx(D(2026, 1, 13), activation_days=90), "trailing_12_months")[
        p.pk
    ] == Decimal("100.0")
    # without a program rule the default is 90 days; 30 days makes b active sooner
    assert values("activation_rate", ctx(D(2025, 12, 31)), "trailing_12_months")[p.pk] == Decimal(
        "50.0"
    )
    assert values(
        "activation_rate", ctx(D(2025, 12, 31), activation_days=30), "trailing_12_months"
    )[p.pk] == Decimal("100.0")


# --- evidence --------------------------------------------------------------------------------


def test_evidence_valid_until_inclusive_and_met_dates(p, q):
    f.evidence(p, "case-study", "2025-01-01", valid_until="2025-06-30")
    f.evidence(p, "case-study", "2025-03-01")
    f.evidence(p, "case-study", "2025-08-01")
    f.evidence(p, "demo-station", "2025-01-01")
    f.evidence(q, "case-study", "2025-01-01")
    assert values("evidence", ctx(D(2025, 6, 30)), item="case-study") == {
        p.pk: Decimal(2),
        q.pk: Decimal(1),
    }
    assert values("evidence", ctx(D(2025, 7, 1)), item="case-study") == {
        p.pk: Decimal(1),
        q.pk: Decimal(1),
    }
    assert values("evidence", ctx(D(2025, 8, 1)), item="case-study")[p.pk] == Decimal(2)
    assert values("evidence", ctx(D(2024, 12, 31)), item="case-study") == {}
    assert met_dates("evidence", ctx(D(2025, 6, 30)), 2, [p.pk, q.pk], item="case-study") == {
        p.pk: D(2025, 3, 1)
    }
    assert met_dates("evidence", ctx(D(2025, 8, 1)), 2, [p.pk], item="case-study") == {
        p.pk: D(2025, 8, 1)
    }
    assert met_dates("evidence", ctx(D(2025, 6, 30)), 1, [q.pk], item="case-study") == {
        q.pk: D(2025, 1, 1)
    }
