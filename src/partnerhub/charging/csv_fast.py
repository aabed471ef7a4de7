"""The CSV import's columnar fast path (``imports.import_sessions_csv`` uses it for every CSV).

The file is still read by the ``csv`` module (C), in chunks of ``CHUNK_ROWS`` records. Each
chunk is then checked **column by column** (``set``/``dict``/``map``/regex work over lists,
no per-row Python function): a value passes only in the plain forms of the format (no
surrounding spaces, times as ``2025-03-10T08:00:00Z``, amounts and energies through memos by
their text, known EVSE uids, exact payment methods…). The insert tuples are then built from
the columns with one ``zip``.

Every row that any column check does not pass goes, in its place, through the per-row
validator ``imports._record_checker`` (the one validator of the format), so a refused row gets
exactly the message it always got and an unusual but valid row (``+01:00`` offsets, spaces,
lower-case currency, no costs: priced from the tariff) is stored as it always was. A chunk
whose CDR ids are not all plain and distinct (a duplicate in the file, or one already seen) is
checked row by row as a whole, so "appears twice" always names the later row.

Drivers are resolved and created per chunk in row order, then the corporate checks of
``_Importer.prepare`` are applied with the same messages; rows keep the file's order, so ids
(sessions and new drivers) are the same as with the per-row path.
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
import re
from itertools import compress, repeat
from operator import itemgetter

from partnerhub.charging.imports import (
    COST_COLUMNS,
    CSV_COLUMNS,
    MAX_WH,
    PAYMENT_METHODS,
    RowError,
    _amount,
    _FileError,
    _record_checker,
    _Refused,
    _scaled,
    _seconds,
)

CHUNK_ROWS = 20_000
# "YYYY-MM-DDTHH:MM:SSZ" (or a space for the T): the form every CSMS export we know writes.
_TIME = r"\d{4}-\d\d-\d\d[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ"
_TIME_ONE = re.compile(_TIME)
_TIME_COLUMN = re.compile(rf"(?:{_TIME}\n)*")
_NO_EVSE = (0, 0, 0, "", 0)
_DAY = itemgetter(slice(0, 10))
_FIRST_ITEM, _SECOND_ITEM, _THIRD_ITEM, _FOURTH_ITEM = map(itemgetter, range(4))
_VARYING = object()
_SECOND = itemgetter(slice(0, 19))


def _plain(values: list[str]) -> bool:
    """No value has surrounding whitespace or a control/separator character but spaces."""
    return all(map(str.isprintable, values)) and not any(
        v[:1] == " " or v[-1:] == " " for v in values if " " in v
    )


def fast_chunks(reader, names: list[str], importer):
    """Lists of insert tuples, one per chunk of the CSV (refused rows go to the report).
    Raises ``_FileError`` on broken CSV syntax (after the rows before it were counted)."""
    check = _record_checker(names, importer.lookups, importer.report, importer.seen)
    chunk = _Chunks(names, importer, check)
    last_line = 1
    while True:
        records: list[list[str]] = []
        lines: list[int] = []
        error: Exception | None = None
        add, add_line = records.append, lines.append
        try:
            for record in reader:
                add(record)
                add_line(reader.line_num)
                if len(records) >= CHUNK_ROWS:
                    break
        except csv.Error as exc:
            error = _FileError(reader.line_num, f"not valid CSV: {exc}")
        except UnicodeDecodeError as exc:  # reported by imports._csv_rows
            error = exc
        if records:
            row_nos = [last_line + 1, *[n + 1 for n in lines[:-1]]]
            last_line = lines[-1]
            yield chunk.process(records, row_nos)
        if error is not None:
            raise error
        if len(records) < CHUNK_ROWS:
            return


class _Chunks:
    def __init__(self, names: list[str], importer, check):
        self.importer = importer
        self.check = check
        self.width = len(names)
        self.at = {name: names.index(name) if name in names else None for name in CSV_COLUMNS}
        lookups = importer.lookups
        self.sqlite = importer.sqlite
        self.energies: dict[str, int | None] = {}
        self.seconds: dict[str, int | None] = {"": 0}
        self.amounts: dict[int, dict[str, int | None]] = {}
        self.days: dict[str, tuple[int, dt.date] | None] = {}
        self.currencies: dict[str, tuple[str, int] | None] = {}
        self.hosts: dict[int, int | None] = {}
        # (a uid with surrounding spaces can only be found by the per-row validator, which
        # strips the value first)
        self.evses = {uid: e for uid, e in lookups.evses.items() if uid == uid.strip()}

    # --- helpers --------------------------------------------------------------------------

    def column(self, cols, name: str, n: int):
        i = self.at[name]
        return cols[i] if i is not None else repeat("", n)

    def host(self, cp: int, day: int):
        key = cp << 24 | day
        hosts = self.hosts
        if key in hosts:
            return hosts[key]
        partner = hosts[key] = self.importer.lookups.host(cp, day)
        return partner

    def steady(self, cp: int, low: int, high: int) -> bool:
        """Whether one hosting period (or none) covers the charge point from day ``low``
        through ``high``."""
        periods = self.importer.lookups.hostings.get(cp)
        if periods is None:
            return True
        for start, end, _ in periods:
            if start <= low and high <= end:
                return True
        return not any(start <= high and low <= end for start, end, _ in periods)

    # --- a chunk --------------------------------------------------------------------------

    def process(self, records: list[list[str]], row_nos: list[int]) -> list[tuple]:
        width = self.width
        bad: set[int] = set()
        table = records
        if set(map(len, records)) != {width}:
            # Empty lines are skipped (as the per-row validator does); rows with too few or
            # too many values go to it (an empty record stands in for them in the columns).
            kept = [
                i for i, r in enumerate(records) if len(r) == width or any(v.strip() for v in r)
            ]
            records = [records[i] for i in kept]
            row_nos = [row_nos[i] for i in kept]
            if not records:
                return []
            blank = [""] * width
            table = [r if len(r) == width else blank for r in records]
            bad.update(i for i, r in enumerate(records) if len(r) != width)
        cols = list(zip(*table, strict=True))
        cdr = cols[self.at["cdr_id"]]
        seen = self.importer.seen
        n = len(records)
        if not (
            min(map(len, cdr)) >= 1
            and max(map(len, cdr)) <= 64
            and _plain(cdr)
            and len(set(cdr)) == n
            and seen.isdisjoint(cdr)
        ):
            bad.update(self.unusual_ids(cdr))
        return self.columnar(records, row_nos, cols, cdr, bad)

    def unusual_ids(self, cdr) -> list[int]:
        """Rows whose CDR id the per-row validator must see, in order: ids that are not plain
        (it strips them, or refuses them), and every use of an id but its first in the file
        (it says "appears twice"; the first use claims the id even when its row is refused,
        which the per-row validator does in order for the rows it is given)."""
        seen = self.importer.seen
        first: dict[str, int] = {}
        unusual = []
        for i, value in enumerate(cdr):
            key = value.strip()
            plain = key == value and 0 < len(value) <= 64 and "\x00" not in value
            claims = 0 < len(key) <= 64 and "\x00" not in key
            if claims and (key in seen or first.setdefault(key, i) != i):
                plain = False
            if not plain:
                unusual.append(i)
        return unusual

    def columnar(self, records, row_nos, cols, cdr, bad: set[int]) -> list[tuple]:
        n = len(records)

        def mark(flags) -> None:
            bad.update(i for i, flag in enumerate(flags) if flag)

        # EVSE
        evse_get = self.evses.get
        evses = list(map(evse_get, cols[self.at["evse_uid"]]))
        if None in evses:
            mark(e is None for e in evses)
            evses = [e or _NO_EVSE for e in evses]
        # times
        days = self.days
        db_times = []
        day_texts = []
        for name in ("start", "end"):
            texts = cols[self.at[name]]
            if not (
                min(map(len, texts)) == 20 == max(map(len, texts))
                and _TIME_COLUMN.fullmatch("\n".join(texts) + "\n")
            ):
                mark(not _TIME_ONE.fullmatch(t) for t in texts)
            dates = list(map(_DAY, texts))
            distinct = set(dates)
            for d in distinct.difference(days):
                try:
                    day = dt.date.fromisoformat(d) if len(d) == 10 else None
                except ValueError:
                    day = None
                days[d] = (day.toordinal(), day.replace(day=1)) if day else None
            if any(days[d] is None for d in distinct):
                mark(days[d] is None for d in dates)
            day_texts.append(dates)
            db_times.append(list(map(str.replace, map(_SECOND, texts), repeat("T"), repeat(" "))))
        starts, ends = db_times
        if any(map(operator.lt, ends, starts)):
            mark(map(operator.lt, ends, starts))
        start_days = list(map(days.__getitem__, day_texts[0]))
        if not self.sqlite:  # PostgreSQL parses the text into timestamptz (UTC)
            starts = [t + "+00" for t in starts]
            ends = [t + "+00" for t in ends]
        # energy
        energies = self.energies
        texts = cols[self.at["energy_kwh"]]
        for t in set(texts).difference(energies):
            try:
                wh = _scaled(t.strip(), 3)
                energies[t] = wh if 0 <= wh <= MAX_WH else None
            except ValueError:
                energies[t] = None
        wh = list(map(energies.__getitem__, texts))
        if None in wh:
            mark(v is None for v in wh)
        # seconds
        seconds = self.seconds
        secs = []
        for name in ("charging_seconds", "parking_seconds"):
            texts = self.column(cols, name, n)
            if self.at[name] is None:
                secs.append(repeat(0, n))
                continue
            for t in set(texts).difference(seconds):
                try:
                    seconds[t] = _seconds(t.strip(), name)
                except _Refused:
                    seconds[t] = None
            values = list(map(seconds.__getitem__, texts))
            if None in values:
                mark(v is None for v in values)
            secs.append(values)
        # currency and amounts (a row without both totals is left to the per-row validator:
        # it is refused or priced from the tariff)
        if (
            self.at["currency"] is None
            or self.at["total_excl_vat"] is None
            or self.at["total_incl_vat"] is None
        ):
            bad.update(range(n))
            return self.finish(records, row_nos, bad, None, [], [])
        currencies = self.currencies
        texts = cols[self.at["currency"]]
        for t in set(texts).difference(currencies):
            if t and t == t.strip() and t.upper() == t and t in _iso():
                from partnerhub.core.money import minor_digits

                currencies[t] = (t, minor_digits(t))
            else:
                currencies[t] = None
        known = list(map(currencies.__getitem__, texts))
        if None in known:
            mark(c is None for c in known)
        digit_set = {c[1] for c in known if c}
        costs = []
        for name in COST_COLUMNS:
            texts = self.column(cols, name, n)
            if self.at[name] is None:
                costs.append(repeat(0, n))
                continue
            if len(digit_set) <= 1:
                digits = next(iter(digit_set), 2)
                memo = self.amounts.setdefault(digits, {"": 0})
                for t in set(texts).difference(memo):
                    memo[t] = _try_amount(t, name, digits)
                values = list(map(memo.__getitem__, texts))
            else:
                values = []
                for t, c in zip(texts, known, strict=True):
                    memo = self.amounts.setdefault(c[1] if c else 2, {"": 0})
                    if t not in memo:
                        memo[t] = _try_amount(t, name, c[1] if c else 2)
                    values.append(memo[t])
            if None in values:
                mark(v is None for v in values)
            if name in ("total_excl_vat", "total_incl_vat") and "" in texts:
                mark(t == "" for t in texts)
            costs.append(values)
        excl, incl = costs[4], costs[5]
        if None in excl or None in incl:
            mark(a is not None and b is not None and b < a for a, b in zip(excl, incl, strict=True))
        elif any(map(operator.lt, incl, excl)):
            mark(map(operator.lt, incl, excl))
        # payment and driver
        payments = cols[self.at["payment_method"]]
        if not PAYMENT_METHODS.issuperset(payments):
            mark(p not in PAYMENT_METHODS for p in payments)
        corporate = list(compress(range(n), map(operator.eq, payments, repeat("corporate"))))
        with_driver: list[int] = []
        drivers = None
        if self.at["driver_id"] is not None:
            drivers = cols[self.at["driver_id"]]
            with_driver = list(compress(range(n), drivers))
            blank = [""] * n
            names = cols[self.at["driver_name"]] if self.at["driver_name"] is not None else blank
            emails = cols[self.at["driver_email"]] if self.at["driver_email"] is not None else blank
            for i in with_driver:
                ext, name, email = drivers[i], names[i], emails[i]
                if not (
                    len(ext) <= 64
                    and ext.isprintable()
                    and ext == ext.strip()
                    and len(name) <= 200
                    and (not name or (name.isprintable() and name == name.strip()))
                    and len(email) <= 254
                    and (not email or (email.isprintable() and email == email.strip()))
                    and (not email or "@" in email)
                ):
                    bad.add(i)
        bad.update(i for i in corporate if drivers is None or not drivers[i])
        return self.finish(
            records,
            row_nos,
            bad,
            (cdr, evses, starts, ends, start_days, wh, secs, known, costs, payments, drivers),
            with_driver,
            corporate,
        )

    def finish(self, records, row_nos, bad, columns, with_driver, corporate) -> list[tuple]:
        """Rows in ``bad`` through the per-row validator (in place); drivers; tuples."""
        importer = self.importer
        report = importer.report
        lookups = importer.lookups
        n = len(records)
        check = self.check
        seen = importer.seen
        # The plain rows: counted, their CDR ids claimed (the chunk's ids are all distinct
        # and new, so the order of claims does not matter).
        slow: dict[int, object] = dict.fromkeys(sorted(bad))
        report.rows += n - len(slow)
        if columns is not None:
            cdr = columns[0]
            if slow:
                seen.update(cdr[i] for i in range(n) if i not in slow)
            else:
                seen.update(cdr)
        for i in slow:
            slow[i] = check(list(records[i]), row_nos[i])
        # Drivers, in row order: resolve, create the unknown non-corporate ones.
        payments = drivers = None
        if columns is not None:
            payments, drivers = columns[9], columns[10]
        wanted = {drivers[i] for i in with_driver if i not in slow}
        wanted.update(r.driver for r in slow.values() if r is not None and r.driver)
        if wanted:
            lookups.resolve_drivers(wanted)
            order = sorted(
                [i for i in with_driver if i not in slow]
                + [i for i, r in slow.items() if r is not None and r.driver]
            )
            known = lookups.drivers
            new: dict[str, tuple[str, str]] = {}
            for i in order:
                if i in slow:
                    r = slow[i]
                    ext, payment = r.driver, r.payment_method
                    name, email = r.driver_name, r.driver_email
                else:
                    ext, payment = drivers[i], payments[i]
                    name = email = ""
                    if self.at["driver_name"] is not None:
                        name = records[i][self.at["driver_name"]]
                    if self.at["driver_email"] is not None:
                        email = records[i][self.at["driver_email"]]
                if ext not in known and payment != "corporate" and ext not in new:
                    new[ext] = (name, email)
            if new:
                importer._create_drivers(new)
        if columns is None:
            values: list = [None] * n
        else:
            values = self.tuples(columns, slow, with_driver, corporate, row_nos)
        for i, row in slow.items():
            prepared = importer.prepare([row]) if row is not None else []
            values[i] = prepared[0] if prepared else None
        if report.errors and not importer.partial:
            return []
        return [v for v in values if v is not None] if (slow or None in values) else values

    def tuples(self, columns, slow, with_driver, corporate, row_nos) -> list:
        importer = self.importer
        lookups = importer.lookups
        cdr, evses, starts, ends, start_days, wh, secs, known, costs, payments, drivers = columns
        n = len(cdr)
        host = self.host
        cps = list(map(_SECOND_ITEM, evses))
        # The host by charge point when it is the same all over the chunk's days (most
        # charge points), else by charge point and day.
        day_numbers = [d[0] if d else 0 for d in start_days]
        low, high = min(filter(None, day_numbers), default=0), max(day_numbers)
        steady = {}
        varying = _VARYING
        lookup_host = lookups.host
        for cp in set(cps):
            first = lookup_host(cp, low)
            steady[cp] = (
                first if first == lookup_host(cp, high) and self.steady(cp, low, high) else varying
            )
        partners = list(map(steady.__getitem__, cps))
        if varying in partners:
            partners = [
                host(cp, day) if p is varying else p
                for p, cp, day in zip(partners, cps, day_numbers, strict=True)
            ]
        driver_ids: list = [None] * n
        corporate_partners: list = [None] * n
        refused: list[int] = []
        if with_driver or corporate:
            known_drivers = lookups.drivers
            billing = lookups.billing
            errors = importer.report.errors
            for i in with_driver:
                if i in slow:
                    continue
                ext = drivers[i]
                driver = known_drivers.get(ext)
                if payments[i] != "corporate":
                    driver_ids[i] = driver[0] if driver else None
                    continue
                row_no = row_nos[i]
                message = field = None
                if driver is None:
                    field, message = "driver_id", f"no driver {ext!r}: add the driver first"
                elif driver[1] is None or not driver[2]:
                    field, message = "driver_id", f"driver {ext!r} is not a corporate-billed driver"
                else:
                    plan = billing.get(driver[1])
                    if plan is None or not plan[0]:
                        field = "driver_id"
                        message = f"the partner of driver {ext!r} has no enabled corporate billing"
                    elif plan[1] != known[i][0]:
                        field, message = (
                            "currency",
                            f"the partner's corporate billing is in {plan[1]}",
                        )
                if message is not None:
                    errors.append(RowError(row_no, field, message))
                    refused.append(i)
                    continue
                driver_ids[i] = driver[0]
                corporate_partners[i] = driver[1]
                importer.corporate.add((driver[0], start_days[i][1]))
        values = list(
            zip(
                cdr,
                list(map(_FIRST_ITEM, evses)),
                cps,
                list(map(_THIRD_ITEM, evses)),
                partners,
                list(map(_FOURTH_ITEM, evses)),
                starts,
                ends,
                wh,
                *secs,
                [c[0] if c else None for c in known],
                *costs,
                payments,
                driver_ids,
                corporate_partners,
                repeat(False),
                repeat(""),
                repeat(None),
                repeat(None),
                repeat(importer.stamp_value),
            )
        )
        for i in refused:
            values[i] = None
        return values


def _try_amount(text: str, name: str, digits: int) -> int | None:
    try:
        return _amount(text.strip(), name, digits)
    except _Refused:
        return None


def _iso():
    from partnerhub.charging.imports import ISO_4217

    return ISO_4217
