"""Charging-session imports (CSV and OCPI CDR JSON): worked examples with the figures written
out, idempotency, row errors, all-or-nothing, corporate limits, host attribution, the CLI."""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerhub.charging.imports import (
    ImportReport,
    RowError,
    _scaled,
    import_sessions_csv,
    import_sessions_ocpi,
)
from partnerhub.charging.models import (
    ChargePoint,
    ChargePointHosting,
    ChargingSession,
    CorporateBilling,
    Driver,
    Evse,
    Location,
    Tariff,
    TariffAssignment,
)
from partnerhub.core.models import Event
from partnerhub.core.money import to_minor

pytestmark = pytest.mark.django_db

CONFORMANCE = Path(__file__).resolve().parents[5] / "shared/conformance/ocpi-examples"
UTC = dt.UTC

AC_TARIFF = {
    "id": "AC-STD",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": "0.30", "vat": "19.0", "step_size": 1},
                {"type": "FLAT", "price": "1.00", "vat": "19.0", "step_size": 0},
            ]
        }
    ],
}

HEADER = (
    "cdr_id,evse_uid,start,end,energy_kwh,charging_seconds,parking_seconds,currency,"
    "energy_cost,time_cost,parking_cost,connection_fee,total_excl_vat,total_incl_vat,"
    "payment_method,driver_id,driver_name,driver_email\n"
)
# The worked example of docs/charging-import.md.
SAMPLE = HEADER + (
    "CDR-1001,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T10:30:00Z,22.500,7200,1800,EUR,"
    "6.75,0.00,1.50,1.00,9.25,11.01,card,,,\n"
    "CDR-1002,EVSE-AC-1,2025-03-20T18:00:00+01:00,2025-03-20T19:00:00+01:00,11,3600,,EUR,"
    "3.30,,,1.00,4.30,5.12,balance,APP-77,Dana Driver,dana@example.com\n"
    "CDR-1003,EVSE-AC-1,2025-03-21T12:00:00Z,2025-03-21T13:00:00Z,20.000,3600,0,,"
    ",,,,,,corporate,DRV-CORP-1,,\n"
    "CDR-1004,EVSE-AC-2,2025-03-16T00:30:00+01:00,2025-03-16T01:00:00+01:00,30.5,1800,0,EUR,"
    "15.25,,,,15.25,18.15,card,,,\n"
)


@pytest.fixture
def sessions_site(world):
    """CP-1 (two AC EVSEs, AC tariff 0.30 EUR/kWh + 1.00 EUR flat, 19 % VAT) hosted by
    partner A through 15 March 2025 and by partner B from 16 March; CP-2 (one DC EVSE, no
    tariff) hosted by A; CP-GENT (EVSE "3256" of the OCPI CDR example) hosted by A since 2015.
    Partner A offers corporate billing in EUR, 50.00 EUR a month per driver."""
    gent = Location.objects.create(
        ocpi_id="LOC1",
        name="Gent Zuid",
        address="F.Rooseveltlaan 3A",
        city="Gent",
        postal_code="9000",
        country="BE",
        latitude=Decimal("51.047599"),
        longitude=Decimal("3.729944"),
        time_zone="Europe/Brussels",
    )
    cp1 = ChargePoint.objects.create(location=gent, identity="CP-1", partner=world.partner_b)
    cp2 = ChargePoint.objects.create(location=gent, identity="CP-2", partner=world.partner_a)
    cp3 = ChargePoint.objects.create(location=gent, identity="CP-GENT", partner=world.partner_a)
    ChargePointHosting.objects.create(
        charge_point=cp1,
        partner=world.partner_a,
        valid_from=dt.date(2025, 1, 1),
        valid_to=dt.date(2025, 3, 15),
    )
    ChargePointHosting.objects.create(
        charge_point=cp1, partner=world.partner_b, valid_from=dt.date(2025, 3, 16)
    )
    ChargePointHosting.objects.create(
        charge_point=cp2, partner=world.partner_a, valid_from=dt.date(2025, 1, 1)
    )
    ChargePointHosting.objects.create(
        charge_point=cp3, partner=world.partner_a, valid_from=dt.date(2015, 1, 1)
    )
    evses = {
        uid: Evse.objects.create(
            charge_point=cp, uid=uid, evse_id=f"BE*PHB*E{uid}", current_type=ct, max_power_kw=kw
        )
        for uid, cp, ct, kw in [
            ("EVSE-AC-1", cp1, "AC", 22),
            ("EVSE-AC-2", cp1, "AC", 22),
            ("EVSE-DC-1", cp2, "DC", 150),
            ("3256", cp3, "AC", 11),
        ]
    }
    tariff = Tariff.objects.create(ocpi_id="AC-STD", currency="EUR", ocpi=AC_TARIFF)
    TariffAssignment.objects.create(
        tariff=tariff, charge_point=cp1, valid_from=dt.datetime(2025, 1, 1, tzinfo=UTC)
    )
    CorporateBilling.objects.create(
        partner=world.partner_a, currency="EUR", monthly_limit_minor=5000
    )
    CorporateBilling.objects.create(
        partner=world.operator, currency="EUR", monthly_limit_minor=5000, enabled=False
    )
    drivers = {
        "corp": Driver.objects.create(
            external_id="DRV-CORP-1", partner=world.partner_a, corporate_billing=True
        ),
        "corp_20": Driver.objects.create(
            external_id="DRV-CORP-2",
            partner=world.partner_a,
            corporate_billing=True,
            monthly_limit_minor=2000,
        ),
        "b": Driver.objects.create(
            external_id="DRV-B", partner=world.partner_b, corporate_billing=True
        ),
        "off": Driver.objects.create(
            external_id="DRV-OFF", partner=world.operator, corporate_billing=True
        ),
        "plain": Driver.objects.create(external_id="DRV-PLAIN", partner=world.partner_a),
    }
    return {"cp1": cp1, "cp2": cp2, "cp3": cp3, "evses": evses, "tariff": tariff, **drivers}


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text)


def _session(cdr_id: str) -> ChargingSession:
    return ChargingSession.objects.get(cdr_id=cdr_id)


# --- the worked example --------------------------------------------------------------------------


def test_the_documented_sample_imports_with_its_figures(sessions_site, world):
    report = import_sessions_csv(_csv(SAMPLE))
    assert report == ImportReport(rows=4, created=4, skipped=0, flagged=0, drivers_created=1)

    s = _session("CDR-1001")
    assert (s.evse, s.charge_point, s.location_id) == (
        sessions_site["evses"]["EVSE-AC-1"],
        sessions_site["cp1"],
        sessions_site["cp1"].location_id,
    )
    assert s.current_type == "AC"
    assert s.partner == world.partner_a  # CP-1 is A's through 15 March
    assert s.start == dt.datetime(2025, 3, 10, 8, tzinfo=UTC)
    assert s.end == dt.datetime(2025, 3, 10, 10, 30, tzinfo=UTC)
    assert (s.energy_wh, s.charging_seconds, s.parking_seconds) == (22_500, 7200, 1800)
    assert (s.energy_cost_minor, s.time_cost_minor, s.parking_cost_minor) == (675, 0, 150)
    assert s.connection_fee_minor == 100
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor) == (925, 1101)
    assert (s.payment_method, s.driver, s.corporate_partner) == ("card", None, None)
    assert s.ocpi is None and not s.flagged

    s = _session("CDR-1002")  # 18:00 in Brussels is 17:00 UTC; B hosts CP-1 from 16 March
    assert s.start == dt.datetime(2025, 3, 20, 17, tzinfo=UTC)
    assert s.partner == world.partner_b
    assert (s.energy_wh, s.charging_seconds, s.parking_seconds) == (11_000, 3600, 0)
    assert (s.energy_cost_minor, s.connection_fee_minor) == (330, 100)
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor) == (430, 512)
    assert s.payment_method == "balance"
    assert (s.driver.external_id, s.driver.name, s.driver.email) == (
        "APP-77",
        "Dana Driver",
        "dana@example.com",
    )
    assert s.driver.partner is None and not s.driver.corporate_billing

    # No amounts: priced with CP-1's tariff: 20 kWh × 0.30 + 1.00 flat = 7.00, +19 % = 8.33.
    s = _session("CDR-1003")
    assert s.tariff == sessions_site["tariff"]
    assert s.currency == "EUR"
    assert (s.energy_cost_minor, s.time_cost_minor, s.parking_cost_minor) == (600, 0, 0)
    assert s.connection_fee_minor == 100
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor) == (700, 833)
    # Corporate: charged to the driver's partner (A) on a charge point hosted by B that day.
    assert (s.payment_method, s.driver) == ("corporate", sessions_site["corp"])
    assert (s.partner, s.corporate_partner) == (world.partner_b, world.partner_a)

    # 00:30 on 16 March in Brussels is 23:30 UTC on the 15th: the host of the UTC day, A.
    s = _session("CDR-1004")
    assert s.start == dt.datetime(2025, 3, 15, 23, 30, tzinfo=UTC)
    assert s.partner == world.partner_a
    assert (s.energy_wh, s.total_excl_vat_minor, s.total_incl_vat_minor) == (30_500, 1525, 1815)

    event = Event.objects.get(name="charging.sessions_imported")
    assert event.payload == {"created": 4, "skipped": 0, "flagged": 0, "refused": 0}


def test_reimporting_skips_every_cdr_and_changes_nothing(sessions_site):
    import_sessions_csv(_csv(SAMPLE))
    before = list(ChargingSession.objects.order_by("id").values())
    drivers = Driver.objects.count()
    report = import_sessions_csv(_csv(SAMPLE))
    assert (report.created, report.skipped, report.errors) == (0, 4, [])
    assert list(ChargingSession.objects.order_by("id").values()) == before
    assert Driver.objects.count() == drivers
    # A file mixing old and new CDRs stores only the new ones.
    more = SAMPLE + (
        "CDR-1005,EVSE-DC-1,2025-03-22T10:00:00Z,2025-03-22T10:30:00Z,40,1800,0,EUR,"
        "20.00,,,,20.00,23.80,card,,,\n"
    )
    report = import_sessions_csv(_csv(more))
    assert (report.created, report.skipped) == (1, 4)
    assert _session("CDR-1005").partner == sessions_site["cp2"].partner


def test_a_path_and_a_binary_file_with_bom_import_alike(sessions_site, tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.encode())
    assert import_sessions_csv(path).created == 4
    ChargingSession.objects.all().delete()
    assert import_sessions_csv(io.BytesIO(SAMPLE.encode())).created == 4
    ChargingSession.objects.all().delete()
    assert import_sessions_csv(str(path)).created == 4


# --- row errors ----------------------------------------------------------------------------------

BAD = HEADER + (
    "OK-1,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,3600,0,EUR,3.00,,,1.00,"
    "4.00,4.76,card,,,\n"  # line 2: good
    "E-3,NOPE,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
    "E-4,EVSE-AC-1,2025-03-10T09:00:00Z,2025-03-10T08:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
    "E-5,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,3.99,card,,,\n"
    "E-6,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,-1,,,EUR,,,,,4.00,4.76,card,,,\n"
    "E-7,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EURO,,,,,4.00,4.76,card,,,\n"
    "E-8,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,"
    "corporate,,,\n"
    "E-9,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,"
    "corporate,DRV-B,,\n"
    "OK-1,EVSE-AC-1,2025-03-11T08:00:00Z,2025-03-11T09:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
    "E-11,EVSE-AC-1,2025-03-10 08:00:00,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
    "E-12,EVSE-DC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,3600,,,,,,,,,card,,,\n"
    "E-13,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,"
    "corporate,DRV-OFF,,\n"
    "E-14,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,"
    "corporate,DRV-PLAIN,,\n"
    "E-15,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,"
    "bitcoin,,,\n"
    "E-16,EVSE-AC-1,2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,USD,,,,,4.00,4.76,"
    "corporate,DRV-CORP-1,,\n"
    "E-17,EVSE-AC-1\n"
)
BAD_ERRORS = [
    RowError(3, "evse_uid", "no EVSE with uid or EVSE ID 'NOPE'"),
    RowError(4, "end", "the session ends before it starts"),
    RowError(5, "total_incl_vat", "is less than total_excl_vat"),
    RowError(6, "energy_kwh", "must not be negative"),
    RowError(7, "currency", "'EURO' is not an ISO 4217 currency code (e.g. EUR)"),
    RowError(8, "driver_id", "a corporate-billed session needs its driver"),
    RowError(9, "driver_id", "the partner of driver 'DRV-B' has no enabled corporate billing"),
    RowError(10, "cdr_id", "'OK-1' appears twice in this import"),
    RowError(11, "start", "give the time zone: end the time with Z or an offset like +01:00"),
    RowError(
        12,
        "total_excl_vat",
        "no cost was given and no tariff applies to this EVSE at the session's start",
    ),
    RowError(13, "driver_id", "the partner of driver 'DRV-OFF' has no enabled corporate billing"),
    RowError(14, "driver_id", "driver 'DRV-PLAIN' is not a corporate-billed driver"),
    RowError(15, "payment_method", "use card, balance or corporate"),
    RowError(16, "currency", "the partner's corporate billing is in EUR"),
    RowError(17, "", "the row has 2 values, the header 18"),
]


def test_refused_rows_are_reported_by_line_and_column_and_the_good_rows_stored(sessions_site):
    report = import_sessions_csv(_csv(BAD))
    assert report.errors == BAD_ERRORS
    assert (report.rows, report.created, report.refused) == (16, 1, False)
    assert list(ChargingSession.objects.values_list("cdr_id", flat=True)) == ["OK-1"]


def test_an_evse_may_be_named_by_the_evse_id_the_pages_show(sessions_site):
    """The pages show an EVSE's EVSE ID ("BE*PHB*EEVSE-AC-1"); a file that names it so is
    imported to that EVSE. An EVSE ID two EVSEs share names neither (refused at the row)."""
    evses = sessions_site["evses"]
    twin = evses["EVSE-DC-1"]
    twin.evse_id = evses["EVSE-AC-2"].evse_id
    twin.save()
    row = "{cdr},{evse},2025-03-10T08:00:00Z,2025-03-10T09:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
    report = import_sessions_csv(
        _csv(
            HEADER
            + row.format(cdr="BY-ID", evse="BE*PHB*EEVSE-AC-1")
            + row.format(cdr="TWIN", evse=twin.evse_id)
        )
    )
    assert report.errors == [
        RowError(3, "evse_uid", f"no EVSE with uid or EVSE ID {twin.evse_id!r}")
    ]
    assert ChargingSession.objects.get(cdr_id="BY-ID").evse == evses["EVSE-AC-1"]


def test_all_or_nothing_stores_nothing_when_a_row_is_refused(sessions_site):
    drivers = Driver.objects.count()
    report = import_sessions_csv(_csv(BAD), partial=False)
    assert report.errors == BAD_ERRORS
    assert (report.created, report.skipped, report.refused) == (0, 0, True)
    assert not ChargingSession.objects.exists()
    assert Driver.objects.count() == drivers
    assert not Event.objects.filter(name="charging.sessions_imported").exists()
    # Without errors it stores everything.
    report = import_sessions_csv(_csv(SAMPLE), partial=False)
    assert (report.created, report.refused) == (4, False)


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "the file is empty; expected a header line"),
        ("cdr_id;evse_uid;start\n", "unknown columns: 'cdr_id;evse_uid;start'; missing"),
        (HEADER.replace("energy_kwh", "kwh"), "unknown columns: 'kwh'; missing columns: energy"),
    ],
)
def test_a_wrong_header_refuses_the_file(sessions_site, text, message):
    report = import_sessions_csv(_csv(text + SAMPLE.split("\n", 1)[1] if text else ""))
    assert report.refused and report.created == 0
    assert [(e.row, e.field) for e in report.errors] == [(1, "file")]
    assert report.errors[0].message.startswith(message)
    assert not ChargingSession.objects.exists()


def test_a_file_that_is_not_utf8_stores_nothing(sessions_site):
    data = SAMPLE.encode() + "CDR-9,EVSE-AC-1,é\n".encode("latin-1")
    report = import_sessions_csv(io.BytesIO(data))
    assert report.refused and [(e.row, e.field) for e in report.errors] == [(6, "file")]
    assert not ChargingSession.objects.exists()


# --- corporate limits ----------------------------------------------------------------------------


def _corporate(rows):
    lines = [
        f"{cdr},EVSE-DC-1,{start}T10:00:00Z,{start}T11:00:00Z,10,3600,0,EUR,,,,,"
        f"{incl},{incl},corporate,DRV-CORP-2,,\n"
        for cdr, start, incl in rows
    ]
    return _csv(HEADER + "".join(lines))


def test_corporate_sessions_over_the_monthly_limit_are_flagged(sessions_site):
    """DRV-CORP-2's own limit is 20.00 EUR a month (A's default 50.00 does not apply)."""
    report = import_sessions_csv(
        _corporate(
            [
                ("M-3", "2025-03-09", "5.00"),  # 12.00 + 7.00 + 5.00 = 24.00 > 20.00
                ("M-1", "2025-03-02", "12.00"),
                ("M-2", "2025-03-05", "7.00"),  # 19.00: within
                ("A-1", "2025-04-01", "15.00"),  # a new month starts from zero
            ]
        )
    )
    assert (report.created, report.flagged) == (4, 1)
    flagged = {s.cdr_id: s.flag_reason for s in ChargingSession.objects.filter(flagged=True)}
    assert flagged == {
        "M-3": "Over the corporate monthly limit of 20.00 EUR of driver DRV-CORP-2 in 2025-03: "
        "24.00 EUR with this session"
    }
    assert all(s.corporate_partner_id == sessions_site["corp_20"].partner_id for s in _all())

    # A late session earlier in March pushes M-2 over too: 3.00 + 12.00 + 7.00 = 22.00.
    report = import_sessions_csv(_corporate([("M-0", "2025-03-01", "3.00")]))
    assert (report.created, report.flagged) == (1, 1)
    assert sorted(
        ChargingSession.objects.filter(flagged=True).values_list("cdr_id", flat=True)
    ) == [
        "M-2",
        "M-3",
    ]
    assert "22.00 EUR with this session" in _session("M-2").flag_reason
    # Re-importing flags nothing more.
    assert import_sessions_csv(_corporate([("M-0", "2025-03-01", "3.00")])).flagged == 0


def test_a_session_at_midnight_on_the_first_counts_toward_its_month(sessions_site):
    """DRV-CORP-2 (limit 20.00 EUR): 12.00 at exactly 2025-03-01T00:00:00Z, then 10.00 on
    the 2nd: 12.00 + 10.00 = 22.00 > 20.00, so the second is flagged (both databases)."""
    rows = (
        "MID-1,EVSE-DC-1,2025-03-01T00:00:00Z,2025-03-01T01:00:00Z,10,3600,0,EUR,,,,,"
        "12.00,12.00,corporate,DRV-CORP-2,,\n"
        "MID-2,EVSE-DC-1,2025-03-02T10:00:00Z,2025-03-02T11:00:00Z,10,3600,0,EUR,,,,,"
        "10.00,10.00,corporate,DRV-CORP-2,,\n"
    )
    report = import_sessions_csv(_csv(HEADER + rows))
    assert (report.created, report.flagged) == (2, 1)
    assert not _session("MID-1").flagged
    assert _session("MID-2").flag_reason == (
        "Over the corporate monthly limit of 20.00 EUR of driver DRV-CORP-2 in 2025-03: "
        "22.00 EUR with this session"
    )


def test_the_partners_default_limit_applies_without_a_driver_limit(sessions_site):
    rows = "".join(
        f"D-{i},EVSE-DC-1,2025-05-0{i}T10:00:00Z,2025-05-0{i}T11:00:00Z,10,,,EUR,,,,,"
        f"20.00,23.80,corporate,DRV-CORP-1,,\n"
        for i in (1, 2, 3)
    )
    report = import_sessions_csv(_csv(HEADER + rows))  # 23.80, 47.60, 71.40 against 50.00
    assert report.flagged == 1
    assert _session("D-3").flagged and not _session("D-2").flagged
    assert _session("D-3").flag_reason.startswith(
        "Over the corporate monthly limit of 50.00 EUR of driver DRV-CORP-1 in 2025-05"
    )


# --- OCPI CDR JSON -------------------------------------------------------------------------------


def _example() -> dict:
    path = CONFORMANCE / "cdr_example.json"
    if not path.exists():
        pytest.skip(f"the OCPI examples are not at {CONFORMANCE} (../shared/conformance)")
    from partnerhub.charging.ocpi import ocpi_loads

    return ocpi_loads(path.read_bytes())


def test_the_specifications_cdr_example_imports(sessions_site, world):
    cdr = _example()
    report = import_sessions_ocpi(cdr)
    assert report == ImportReport(rows=1, created=1, drivers_created=1)
    s = _session("12345")
    assert s.evse == sessions_site["evses"]["3256"] and s.partner == world.partner_a
    assert s.start == dt.datetime(2015, 6, 29, 21, 39, 9, tzinfo=UTC)
    assert s.end == dt.datetime(2015, 6, 29, 23, 37, 32, tzinfo=UTC)
    # 15.342 kWh; 1.973 h = 7102.8 s → 7103 s charging, no parking.
    assert (s.energy_wh, s.charging_seconds, s.parking_seconds) == (15_342, 7103, 0)
    assert s.currency == "EUR"
    assert (s.energy_cost_minor, s.time_cost_minor, s.parking_cost_minor) == (0, 400, 0)
    assert s.connection_fee_minor == 0
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor) == (400, 440)
    # An RFID token: the driver's account (balance) pays; the driver is created.
    assert (s.payment_method, s.driver.external_id) == ("balance", "012345678")
    assert s.ocpi["cdr_location"]["evse_uid"] == "3256"
    assert import_sessions_ocpi([cdr]).skipped == 1


def test_ocpi_payment_methods_follow_the_token(sessions_site, world):
    cdr = {
        "id": "OC-1",
        "start_date_time": "2025-03-21T12:00:00Z",
        "end_date_time": "2025-03-21T13:30:00Z",
        "cdr_location": {"evse_uid": "EVSE-DC-1"},
        "currency": "EUR",
        "charging_periods": [],
        "total_cost": {"excl_vat": "10.00", "incl_vat": "11.90"},
        "total_fixed_cost": {"excl_vat": "1.00"},
        "total_energy": "30.0",
        "total_energy_cost": {"excl_vat": "9.00"},
        "total_time": "1.5",
        "total_parking_time": "0.5",
        "last_updated": "2025-03-21T13:31:00Z",
    }
    corporate = {**cdr, "id": "OC-2", "cdr_token": _token("DRV-CORP-1", "RFID")}
    ad_hoc = {**cdr, "id": "OC-3", "cdr_token": _token("WEB-1", "AD_HOC_USER")}
    report = import_sessions_ocpi([cdr, corporate, ad_hoc])
    assert (report.created, report.errors) == (3, [])
    s = _session("OC-1")
    assert (s.payment_method, s.driver) == ("card", None)
    assert (s.charging_seconds, s.parking_seconds) == (3600, 1800)
    assert (s.energy_cost_minor, s.connection_fee_minor) == (900, 100)
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor, s.energy_wh) == (1000, 1190, 30_000)
    s = _session("OC-2")
    assert (s.payment_method, s.corporate_partner, s.partner) == (
        "corporate",
        world.partner_a,
        world.partner_a,
    )
    assert _session("OC-3").payment_method == "card"


def _token(uid, kind):
    return {"uid": uid, "type": kind, "contract_id": uid}


def test_ocpi_errors_name_the_cdr_and_its_json_path(sessions_site):
    good = _example() if CONFORMANCE.exists() else None
    cdrs = [
        {"id": "X-1"},
        "not an object",
        {
            "id": "X-3",
            "start_date_time": "2025-03-21T12:00:00Z",
            "end_date_time": "2025-03-21T13:00:00Z",
            "cdr_location": {"evse_uid": "NOPE"},
            "currency": "EUR",
            "charging_periods": [],
            "total_cost": {"excl_vat": 1},
            "total_energy": 1,
            "total_time": 1,
            "last_updated": "2025-03-21T13:00:00Z",
        },
    ]
    report = import_sessions_ocpi(cdrs + ([good] if good else []), partial=False)
    assert report.refused and not ChargingSession.objects.exists()
    assert [(e.row, e.field) for e in report.errors] == [
        (1, "start_date_time"),
        (2, ""),
        (3, "cdr_location.evse_uid"),
    ]
    assert report.errors[2].message == "no EVSE with uid or EVSE ID 'NOPE'"


# --- the command line ----------------------------------------------------------------------------


def test_cli_imports_reports_refused_rows_and_exits_with_status_1(sessions_site, tmp_path, capsys):
    path = tmp_path / "sessions.csv"
    path.write_text(SAMPLE + BAD.split("\n", 1)[1].split("\n", 3)[2] + "\n")  # + E-4
    with pytest.raises(CommandError) as err:
        call_command("charging", "import", str(path), "--no-progress")
    assert err.value.returncode == 1
    assert "1 row(s) refused; the others were imported" in str(err.value)
    out = capsys.readouterr()
    assert f"{path}: line 6, end: the session ends before it starts" in out.err
    assert "5 rows: 4 imported, 0 already there" in out.out
    assert ChargingSession.objects.count() == 4

    ChargingSession.objects.all().delete()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("charging", "import", str(path), "--no-progress", "--all-or-nothing")
    assert not ChargingSession.objects.exists()


def test_cli_imports_ocpi_json_and_a_clean_file_exits_0(sessions_site, tmp_path, capsys):
    path = tmp_path / "cdrs.json"
    path.write_text(
        json.dumps(
            {
                "id": "CLI-1",
                "start_date_time": "2025-03-21T12:00:00Z",
                "end_date_time": "2025-03-21T13:00:00Z",
                "cdr_location": {"evse_uid": "EVSE-DC-1"},
                "currency": "EUR",
                "charging_periods": [],
                "total_cost": {"excl_vat": 4.2, "incl_vat": 5.0},
                "total_energy": 10.5,
                "total_time": 1,
                "last_updated": "2025-03-21T13:00:00Z",
            }
        )
    )
    call_command("charging", "import", str(path), "--no-progress")
    assert "1 rows: 1 imported" in capsys.readouterr().out
    s = _session("CLI-1")
    assert (s.total_excl_vat_minor, s.total_incl_vat_minor, s.energy_wh) == (420, 500, 10_500)
    csv_path = tmp_path / "sessions.txt"
    csv_path.write_text(SAMPLE)
    call_command("charging", "import", str(csv_path), "--format", "csv", "--no-progress")
    assert ChargingSession.objects.count() == 5
    with pytest.raises(CommandError, match="no such file"):
        call_command("charging", "import", str(tmp_path / "missing.csv"))


# --- money parsing -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False))
def test_amount_parsing_equals_the_money_rule(amount):
    """The fast path equals core.money's half-up rounding for every amount and digit count."""
    text = f"{amount:f}"
    assert _scaled(text, 2) == to_minor(amount, "EUR")
    assert _scaled(text, 0) == to_minor(amount, "JPY")
    assert _scaled(text, 3) == to_minor(amount, "KWD")


def _all():
    return ChargingSession.objects.all()


# --- big imports and odd input -------------------------------------------------------------------


def _session_indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "charging_chargingsession")
    return {name for name, c in constraints.items() if c["index"]}


def test_a_big_import_rebuilds_the_indexes_it_dropped(sessions_site, monkeypatch):
    """SQLite: a big import drops the session table's secondary indexes and builds them again
    (elsewhere, and for small imports, nothing changes)."""
    from partnerhub.charging import imports

    before = _session_indexes()
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 1)
    report = import_sessions_csv(_csv(SAMPLE))
    assert report.created == 4
    assert _session_indexes() == before
    # Refused all or nothing: the rollback brings the indexes back too.
    report = import_sessions_csv(_csv(BAD), partial=False)
    assert report.refused and _session_indexes() == before
    assert ChargingSession.objects.count() == 4


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"remark": "nul \x00 inside"}, "the CDR contains NUL characters"),
        ({"x-vendor": Decimal("1E+5000")}, "the CDR contains a number out of range"),
        ({"total_energy": Decimal("-1")}, "must be between 0 and 10^9 kWh"),
        ({"total_parking_time": Decimal("2")}, "must cover total_parking_time (hours, ≥ 0)"),
        ({"currency": "XXX"}, "'XXX' is not an ISO 4217 currency code (e.g. EUR)"),
    ],
)
def test_odd_cdrs_are_refused_not_crashing(sessions_site, extra, message):
    cdr = {
        "id": "ODD-1",
        "start_date_time": "2025-03-21T12:00:00Z",
        "end_date_time": "2025-03-21T13:00:00Z",
        "cdr_location": {"evse_uid": "EVSE-DC-1"},
        "currency": "EUR",
        "charging_periods": [],
        "total_cost": {"excl_vat": "4.20"},
        "total_energy": "10",
        "total_time": "1",
        "last_updated": "2025-03-21T13:00:00Z",
        **extra,
    }
    report = import_sessions_ocpi(cdr)
    assert [e.message for e in report.errors] == [message]
    assert not ChargingSession.objects.exists()


# --- the fast paths of the CSV import ------------------------------------------------------------


def test_a_file_with_only_the_required_columns_in_any_order_imports(sessions_site, world):
    """Absent optional columns read as empty: no cost columns → priced from the tariff
    (10 kWh × 0.30 + 1.00 = 4.00 EUR excl., 4.76 EUR incl. 19 % VAT)."""
    text = (
        "payment_method,energy_kwh,END,Start,evse_uid,cdr_id\n"
        "card,10,2025-03-10T09:00:00Z,2025-03-10T08:00:00Z,EVSE-AC-1,MIN-1\n"
    )
    report = import_sessions_csv(_csv(text))
    assert (report.created, report.errors) == (1, [])
    session = _session("MIN-1")
    assert (session.energy_wh, session.charging_seconds, session.parking_seconds) == (10000, 0, 0)
    assert (session.total_excl_vat_minor, session.total_incl_vat_minor) == (400, 476)
    assert (session.currency, session.partner, session.driver) == ("EUR", world.partner_a, None)


def test_times_in_any_iso_form_are_stored_as_the_same_instant(sessions_site):
    """2025-W11-1 is Monday 10 March 2025: a week date is read as that day, not cut as text."""
    text = HEADER + (
        "W-1,EVSE-AC-1,2025-W11-1T08:00:00Z,2025-W11-1T09:00:00Z,10,,,EUR,,,,,4.00,4.76,card,,,\n"
        "W-2,EVSE-AC-1,2025-03-10 08:00:00Z,2025-03-10T10:00:00+01:00,10,,,EUR,,,,,4.00,4.76,"
        "card,,,\n"
    )
    report = import_sessions_csv(_csv(text))
    assert (report.created, report.errors) == (2, [])
    eight, nine = (dt.datetime(2025, 3, 10, h, tzinfo=UTC) for h in (8, 9))
    assert (_session("W-1").start, _session("W-1").end) == (eight, nine)
    assert (_session("W-2").start, _session("W-2").end) == (eight, nine)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9998, 12, 31)),
    st.sampled_from(["Z", "+00:00", "+01:00", "-05:30"]),
    st.sampled_from(["T", " "]),
)
def test_the_sqlite_time_shortcut_equals_the_general_conversion(moment, zone, separator):
    """The hot path cuts "YYYY-MM-DDTHH:MM:SSZ" to SQLite's text instead of formatting the
    parsed time: it must give what Django's SQLite backend stores for that instant."""
    from partnerhub.charging.imports import _sqlite_time

    text = moment.replace(microsecond=0).isoformat(separator) + zone
    value = dt.datetime.fromisoformat(text).astimezone(UTC)
    assert _sqlite_time(value, text) == str(value.replace(tzinfo=None))


@pytest.mark.django_db(transaction=True)
def test_sqlite_reference_checks_are_switched_back_on_after_an_import(sessions_site):
    """SQLite: outside a transaction the import runs without foreign-key enforcement (it
    writes only ids it read itself) and switches it back on afterwards, whatever happened."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")

    def enforced() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            return bool(cursor.fetchone()[0])

    assert enforced()
    assert import_sessions_csv(_csv(SAMPLE)).created == 4
    assert enforced()
    assert import_sessions_csv(_csv(BAD), partial=False).refused
    assert enforced()
    assert import_sessions_csv(_csv("nonsense\n")).refused
    assert enforced()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_key_check")
        assert cursor.fetchall() == []
    assert ChargingSession.objects.count() == 4
