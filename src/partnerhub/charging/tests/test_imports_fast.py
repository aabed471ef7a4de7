"""The CSV import's columnar fast path (``charging.csv_fast``) gives exactly what the per-row
validator gives: the same report (counts, errors with their rows, fields and messages) and the
same stored sessions and drivers, whatever mix of plain and unusual rows a file holds."""

import csv
import io
import random

import pytest
from django.db import transaction

from partnerhub.charging import csv_fast
from partnerhub.charging import imports as imports_module
from partnerhub.charging.imports import import_sessions_csv
from partnerhub.charging.models import ChargingSession, Driver
from partnerhub.charging.tests.test_imports import HEADER, sessions_site  # noqa: F401

pytestmark = pytest.mark.django_db

FIELDS = [
    f.name
    for f in ChargingSession._meta.concrete_fields
    if f.name not in {"id", "imported_at", "driver", "tariff"}
]


def _row(cdr, evse="EVSE-AC-2", start="2025-03-10T08:00:00Z", end="2025-03-10T09:00:00Z",
         kwh="10.000", cs="3600", ps="0", cur="EUR", costs=("3.00", "", "", "1.00", "4.00",
         "4.76"), pay="card", drv="", name="", mail=""):  # fmt: skip
    return [cdr, evse, start, end, kwh, cs, ps, cur, *costs, pay, drv, name, mail]


def _messy_csv(seed: int, count: int, duplicates: bool) -> str:
    """Without duplicates, chunks are checked by columns with per-row fallbacks; a duplicate
    sends its whole chunk row by row."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write(HEADER)
    writer = csv.writer(out, lineterminator="\n")
    ids = []
    for i in range(count):
        cdr = f"CDR-{seed}-{i}"
        day = 1 + rng.randrange(28)
        start = f"2025-03-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"
        end = f"2025-03-{day:02d}T23:59:59Z"
        k = rng.random()
        row = _row(cdr, start=start, end=end, kwh=f"{rng.randrange(1, 60000) / 1000:.3f}")
        if k < 0.55:
            pass  # plain
        elif k < 0.58:
            row = _row(cdr, start="2025-03-16T00:30:00+01:00", end="2025-03-16T01:00:00+01:00")
        elif k < 0.60:
            row[rng.randrange(len(row) - 4)] = f" {row[0]} "[: rng.choice([2, 99])]  # spaces
        elif k < 0.62:
            row[7], row[14] = "eur", "CARD"
        elif k < 0.64 and ids and duplicates:
            row[0] = rng.choice(ids)  # a duplicate
        elif k < 0.65:
            row[1] = "NO-SUCH-EVSE"
        elif k < 0.67:
            row = _row(cdr, costs=("", "", "", "", "", ""), cur=rng.choice(["", "EUR", "USD"]))
        elif k < 0.68:
            row = _row(cdr, evse="EVSE-DC-1", costs=("", "", "", "", "", ""), cur="")
        elif k < 0.69:
            row[2], row[3] = row[3], row[2]  # ends before it starts
        elif k < 0.70:
            row[8 + rng.randrange(6)] = rng.choice(["-1.00", "1,2", "abc", "", "1e3", "0.005"])
        elif k < 0.71:
            row[13] = "0.01"  # incl < excl
        elif k < 0.72:
            row[4] = rng.choice(["abc", "-1", "1e20", " 12.5", "7.0005"])
        elif k < 0.73:
            row[5 + rng.randrange(2)] = rng.choice(["-5", "1.5", "x", " 42", "9999999999"])
        elif k < 0.80:
            row[14] = "corporate"
            row[15] = rng.choice(
                ["DRV-CORP-1", "DRV-CORP-2", "DRV-B", "DRV-OFF", "DRV-PLAIN", "NOBODY", ""]
            )
            if rng.random() < 0.1:
                row[7] = "USD"
        elif k < 0.86:
            row[14] = rng.choice(["card", "balance"])
            row[15] = rng.choice(["APP-1", "APP-2", f"APP-{i}", "DRV-PLAIN", "DRV-CORP-1"])
            row[16] = rng.choice(["", "Dana Driver", "Multi\nLine", " Padded "])
            row[17] = rng.choice(["", "dana@example.com", "not-an-email", "a@b.c "])
        elif k < 0.87:
            row[2] = rng.choice(["2025-02-30T10:00:00Z", "2025-03-10T10:00:00", "2025-03-10"])
        elif k < 0.88:
            row[0] = rng.choice(["", "x" * 65, "x" * 64, "A\x00B"])
        elif k < 0.89:
            row[14] = rng.choice(["cash", ""])
        elif k < 0.90:
            writer.writerow(row[:5])  # too few values
            continue
        elif k < 0.91:
            out.write("\n")  # an empty line
            continue
        elif k < 0.92:
            row[2] = "2025-03-10 08:00:00Z"
        ids.append(row[0])
        writer.writerow(row)
    return out.getvalue()


def _per_row_chunks(reader, names, importer):
    """The per-row path, as the import was before the columnar one."""
    yield from imports_module._parse_csv(
        reader, names, importer.lookups, importer.report, importer.seen
    )


def _import(text: str, *, fast: bool, partial: bool, monkeypatch):
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(csv_fast, "fast_chunks", _per_row_chunks)
        with transaction.atomic():
            report = import_sessions_csv(io.StringIO(text), partial=partial)
            stored = list(
                ChargingSession.objects.order_by("id").values_list(
                    *FIELDS, "driver__external_id", "tariff__ocpi_id"
                )
            )
            drivers = list(
                Driver.objects.order_by("id").values_list("external_id", "name", "email")
            )
            transaction.set_rollback(True)
    return report, stored, drivers


def _only(text: str, columns: list[str]) -> str:
    """The CSV with only ``columns`` (rows with too few values keep theirs)."""
    rows = list(csv.reader(io.StringIO(text)))
    at = [rows[0].index(c) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in at] if len(row) == len(rows[0]) else row)
    return out.getvalue()


BENCHMARK_COLUMNS = [
    "cdr_id",
    "evse_uid",
    "start",
    "end",
    "energy_kwh",
    "charging_seconds",
    "currency",
    "energy_cost",
    "connection_fee",
    "total_excl_vat",
    "total_incl_vat",
    "payment_method",
    "driver_id",
]


@pytest.mark.parametrize("chunk_rows", [7, 50, 20_000])
@pytest.mark.parametrize("partial", [True, False])
def test_the_fast_path_gives_what_the_per_row_path_gives(
    sessions_site,  # noqa: F811
    monkeypatch,
    chunk_rows,
    partial,
):
    monkeypatch.setattr(csv_fast, "CHUNK_ROWS", chunk_rows)
    # Some CDR ids stored before: skipped by both.
    import_sessions_csv(io.StringIO(HEADER + ",".join(_row("CDR-1-3")) + "\n"))
    columnar = []
    real = csv_fast._Chunks.columnar

    def counted(self, records, *args):
        columnar.append(len(records))
        return real(self, records, *args)

    monkeypatch.setattr(csv_fast._Chunks, "columnar", counted)
    for seed in (1, 2):
        text = _messy_csv(seed, 400, duplicates=seed == 1)
        if seed == 2:
            text = _only(text, BENCHMARK_COLUMNS)
        columnar.clear()
        fast = _import(text, fast=True, partial=partial, monkeypatch=monkeypatch)
        assert sum(columnar) == 400 - text.count("\n\n")  # empty lines are dropped
        slow = _import(text, fast=False, partial=partial, monkeypatch=monkeypatch)
        assert fast[0] == slow[0]
        assert fast[1] == slow[1]
        assert fast[2] == slow[2]
        if partial:
            assert fast[0].created > 150 and fast[0].errors and fast[0].drivers_created
        else:
            assert fast[0].refused and len(fast[1]) == 1  # the one stored before


def test_plain_rows_take_the_columnar_path(sessions_site, monkeypatch):  # noqa: F811
    """A file of plain rows never calls the per-row validator."""
    calls = []
    real = imports_module._record_checker

    def counting(*args):
        check = real(*args)

        def counted(record, row_no):
            calls.append(row_no)
            return check(record, row_no)

        return counted

    monkeypatch.setattr(csv_fast, "_record_checker", counting)
    text = HEADER + "".join(
        ",".join(_row(f"CDR-{i}", drv="APP-9" if i % 3 else "", pay="balance")) + "\n"
        for i in range(50)
    )
    report = import_sessions_csv(io.StringIO(text))
    assert (report.rows, report.created, report.drivers_created, report.errors) == (50, 50, 1, [])
    assert calls == []
    session = ChargingSession.objects.get(cdr_id="CDR-1")
    assert session.driver.external_id == "APP-9"
    assert session.total_incl_vat_minor == 476
    assert session.partner_id is not None


def test_a_broken_csv_line_is_reported_after_counting_the_rows_before_it(
    sessions_site,  # noqa: F811
):
    rows = "".join(",".join(_row(f"CDR-{i}")) + "\n" for i in range(5))
    text = HEADER + rows + '"' + "x" * 200_000 + '",1\n' + rows.replace("CDR-", "CDR-B")
    report = import_sessions_csv(io.StringIO(text))
    assert report.refused and report.rows == 5
    assert [(e.row, e.field) for e in report.errors] == [(7, "file")]
    assert "field larger than field limit" in report.errors[0].message
    assert not ChargingSession.objects.exists()
    data = (HEADER + rows).encode() + "CDR-9,EVSE-AC-1,é\n".encode("latin-1")
    report = import_sessions_csv(io.BytesIO(data))
    assert report.refused  # (text is decoded ahead in blocks: no row was counted)
    assert [(e.row, e.field) for e in report.errors] == [(7, "file")]
