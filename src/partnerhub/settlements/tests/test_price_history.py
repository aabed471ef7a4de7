"""Electricity price history and final statements: a price change may not reach back into
sessions already settled on a final statement (their cost was deducted or reimbursed at the old
price); a change dated after them, or one that only touches unsettled (draft) months, is taken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from partnerhub.settlements.services import settlement_run
from partnerhub.settlements.tests.conftest import utc

URL = "/charging/locations/{}"


def _prices(*periods) -> dict:
    return {
        "electricity_prices": [
            {"valid_from": day, "price_per_kwh": price, "currency": "EUR"} for day, price in periods
        ]
    }


def test_prices_of_settled_days_cannot_change_later_ones_can(settlement_world, api_as):
    w = settlement_world
    w.contract(w.world.partner_a)
    w.session(w.ac_a, utc(2026, 9, 20, 8), kwh="10", excl="5.00")
    w.session(w.ac_a, utc(2026, 10, 5, 8), kwh="10", excl="5.00")
    settlement_run(month="2026-09", finalise=True)  # September final
    settlement_run(month="2026-10")  # October draft
    admin = api_as(w.world.program_admin)
    url = URL.format(w.berlin.pk)

    # Rewriting the period that priced September: refused, nothing changed.
    r = admin.patch(url, _prices(("2026-01-01", "0.30")))
    assert r.status_code == 409, r.body
    assert r.body["detail"][0]["loc"] == ["body", "electricity_prices"]
    assert "up to 2026-09-20 are settled on final statements" in r.body["detail"][0]["msg"]
    assert "would apply from 2026-01-01" in r.body["detail"][0]["msg"]
    assert list(w.berlin.electricity_prices.values_list("valid_from", "price_per_kwh")) == [
        (dt.date(2026, 1, 1), Decimal("0.25"))
    ]
    # A new period from October (only drafts there): taken.
    r = admin.patch(url, _prices(("2026-01-01", "0.25"), ("2026-10-01", "0.30")))
    assert r.status_code == 200, r.body
    assert w.berlin.electricity_prices.count() == 2
    # The same periods again (written differently) change nothing and are taken.
    r = admin.patch(url, _prices(("2026-01-01", "0.250000"), ("2026-10-01", "0.3")))
    assert r.status_code == 200, r.body
    # Removing the September period is a change of settled days too.
    r = admin.patch(url, _prices(("2026-10-01", "0.30")))
    assert r.status_code == 409, r.body
