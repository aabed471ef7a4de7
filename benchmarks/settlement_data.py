"""Data of the settlement benchmark (``benchmarks/settlement.py``), built deterministically
(``random.Random(seed)``) with the bulk loaders of ``benchmarks/common.py``.

At scale 1.0:

- 10,000 partners, each with a location (10 % of the locations get a new electricity price on
  16 October);
- 50,000 charge points (5 per partner on average, heavy-tailed), each with two EVSEs (60 %
  AC+AC, 25 % AC+DC, 15 % DC+DC), hosted since 2025-01-01; 1 % move to another partner on
  11 October (two hosting rows: they settle to each host for its days);
- a contract per partner (95 %; 5 % have none in October) cycling through every combination of
  the three options (exclude connection fee, deduct electricity, reimburse electricity) with
  and without per-session / per-kWh / handling fees and platform fees, half of them with VAT;
- corporate billing (10 % discount) for 10 % of the partners, each with 20 corporate drivers;
- a CSV of 10,000,000 sessions of October 2026 in the agreed import format (costs given:
  0.45/kWh + a 1.00 connection fee on a third of them; 80 % card, 15 % balance, 5 %
  corporate), imported by the benchmark with ``import_sessions_csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

from benchmarks import common

FULL = {"partners": 10_000, "charge_points": 50_000, "sessions": 10_000_000}
MONTH = dt.date(2026, 10, 1)
MOVE_DAY = dt.date(2026, 10, 11)
OPTION_COMBINATIONS = [  # exclude connection fee, deduct, reimburse
    (False, False, False),
    (True, False, False),
    (False, True, False),
    (False, True, True),
    (True, True, False),
    (True, True, True),
]


def sizes(scale: float) -> dict[str, int]:
    return {
        "partners": common.scaled(FULL["partners"], scale, 2),
        "charge_points": common.scaled(FULL["charge_points"], scale, 4),
        "sessions": common.scaled(FULL["sessions"], scale, 100),
    }


def build(rng: random.Random, n: dict[str, int], folder: Path) -> dict:
    """Load everything but the sessions; write the sessions' CSV. Returns facts for the
    report (and the CSV path)."""
    from partnerhub.charging.models import (
        ChargePoint,
        ChargePointHosting,
        CorporateBilling,
        Driver,
        ElectricityPrice,
        Evse,
        Location,
    )
    from partnerhub.partners.models import Partner
    from partnerhub.settlements.models import Contract

    loader = common.BulkLoader()
    partners = n["partners"]
    common.log(f"{partners:,} partners, locations, prices, contracts ...")
    with common.load_mode():
        loader.load(
            Partner,
            ["id", "legal_name", "display_name", "country"],
            ((i, f"Host {i} GmbH", f"Host {i}", "DE") for i in range(1, partners + 1)),
        )
        loader.load(
            Location,
            ["id", "ocpi_id", "name", "address", "city", "country"],
            (
                (i, f"LOC-{i}", f"Site {i}", "Street 1", "Berlin", "DE")
                for i in range(1, partners + 1)
            ),
        )
        prices = []
        for i in range(1, partners + 1):
            base = Decimal(rng.randrange(150, 350)) / 1000
            prices.append((i, "2026-01-01", str(base), "EUR"))
            if rng.random() < 0.10:
                prices.append((i, "2026-10-16", str(base + Decimal("0.02")), "EUR"))
        loader.load(
            ElectricityPrice, ["location_id", "valid_from", "price_per_kwh", "currency"], prices
        )

        contracts = []
        for i in range(1, partners + 1):
            if rng.random() < 0.05:
                continue
            exclude, deduct, reimburse = OPTION_COMBINATIONS[i % len(OPTION_COMBINATIONS)]
            fees = (i // len(OPTION_COMBINATIONS)) % 2 == 1
            contracts.append(
                (
                    f"Contract {i}", i, "EUR", "2026-01-01", "2026-12-01",
                    str(rng.choice((25, 30, 40, 50))), str(rng.choice((20, 30, 35))),
                    exclude, deduct, reimburse,
                    30 if fees else 0, 50 if fees else 0,
                    "0.010000" if fees else "0", "0.015000" if fees else "0",
                    "2.50" if fees else "0",
                    1000 if fees else 0, 300 if fees else 0, 600 if fees else 0,
                    "19.00" if i % 2 else "0",
                )
            )  # fmt: skip
        loader.load(
            Contract,
            ["name", "partner_id", "currency", "start_month", "end_month", "ac_share_percent",
             "dc_share_percent", "exclude_connection_fee", "deduct_electricity",
             "reimburse_electricity", "session_fee_ac_minor", "session_fee_dc_minor",
             "kwh_fee_ac", "kwh_fee_dc", "handling_fee_percent",
             "platform_fee_charge_point_minor", "platform_fee_ac_evse_minor",
             "platform_fee_dc_evse_minor", "vat_percent"],
            contracts,
        )  # fmt: skip

        # Charge points: heavy-tailed per partner, every partner at least one.
        owners = list(range(1, partners + 1))
        owners += [
            1 + int(partners * rng.random() ** 1.7) for _ in range(n["charge_points"] - partners)
        ]
        owners = owners[: n["charge_points"]]
        common.log(f"{len(owners):,} charge points with EVSEs and hosting ...")
        loader.load(
            ChargePoint,
            ["id", "location_id", "identity", "partner_id"],
            ((cp, p, f"CP-{cp}", p) for cp, p in enumerate(owners, start=1)),
        )
        evses, hostings, moved = [], [], 0
        evse_rows = []  # (uid, current_type) per charge point for the CSV
        for cp, p in enumerate(owners, start=1):
            k = rng.random()
            kinds = ("AC", "AC") if k < 0.6 else ("AC", "DC") if k < 0.85 else ("DC", "DC")
            for j, kind in enumerate(kinds):
                uid = f"E-{cp}-{j}"
                evses.append((cp, uid, kind, "22" if kind == "AC" else "150"))
                evse_rows.append((uid, kind))
            if rng.random() < 0.01 and partners > 1:
                other = p % partners + 1
                hostings.append(
                    (cp, p, "2025-01-01", (MOVE_DAY - dt.timedelta(days=1)).isoformat())
                )
                hostings.append((cp, other, MOVE_DAY.isoformat(), None))
                moved += 1
            else:
                hostings.append((cp, p, "2025-01-01", None))
        loader.load(Evse, ["charge_point_id", "uid", "current_type", "max_power_kw"], evses)
        loader.load(
            ChargePointHosting,
            ["charge_point_id", "partner_id", "valid_from", "valid_to"],
            hostings,
        )
        corporate = [p for p in range(1, partners + 1) if p % 10 == 3] or [1]
        loader.load(
            CorporateBilling,
            ["partner_id", "enabled", "currency", "monthly_limit_minor", "discount_percent"],
            ((p, True, "EUR", 10_000_000, "10.00") for p in corporate),
        )
        drivers = [(f"CORP-{p}-{d}", p, True) for p in corporate for d in range(20)]
        loader.load(Driver, ["external_id", "partner_id", "corporate_billing"], drivers)
    common.reset_sequences([Partner, Location, ChargePoint])
    common.analyze()

    path = folder / "sessions.csv"
    common.log(f"writing {n['sessions']:,} sessions to {path} ...")
    write_sessions_csv(rng, n["sessions"], evse_rows, [d[0] for d in drivers], path)
    return {
        "contracts": len(contracts),
        "evses": len(evses),
        "charge_points_moved_mid_month": moved,
        "corporate_partners": len(corporate),
        "csv": str(path),
        "csv_bytes": path.stat().st_size,
    }


def write_sessions_csv(rng, count: int, evses, corporate_drivers, path: Path) -> None:
    start0 = dt.datetime(MONTH.year, MONTH.month, 1, tzinfo=dt.UTC)
    seconds_in_month = 31 * 24 * 3600 - 4 * 3600  # every session ends within the month
    rnd, n_evse = rng.random, len(evses)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            ["cdr_id", "evse_uid", "start", "end", "energy_kwh", "charging_seconds", "currency",
             "energy_cost", "connection_fee", "total_excl_vat", "total_incl_vat",
             "payment_method", "driver_id"]
        )  # fmt: skip
        rows = []
        for i in range(1, count + 1):
            uid, kind = evses[int(rnd() * n_evse)]
            start = start0 + dt.timedelta(seconds=int(rnd() * seconds_in_month))
            duration = 600 + int(rnd() * (3 if kind == "AC" else 1) * 3600)
            wh = 1000 + int(rnd() * (40_000 if kind == "AC" else 80_000))
            energy_cents = (wh * 45 + 500) // 1000
            fee = 100 if rnd() < 0.33 else 0
            excl = energy_cents + fee
            incl = (excl * 119 + 50) // 100
            k = rnd()
            if k < 0.05:
                method, driver = "corporate", corporate_drivers[int(rnd() * len(corporate_drivers))]
            else:
                method, driver = ("card" if k < 0.85 else "balance"), ""
            rows.append(
                (
                    f"CDR-{i}", uid, start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    (start + dt.timedelta(seconds=duration)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"{wh / 1000:.3f}", duration, "EUR", f"{energy_cents / 100:.2f}",
                    f"{fee / 100:.2f}", f"{excl / 100:.2f}", f"{incl / 100:.2f}", method, driver,
                )
            )  # fmt: skip
            if len(rows) >= 100_000:
                writer.writerows(rows)
                rows.clear()
        writer.writerows(rows)
