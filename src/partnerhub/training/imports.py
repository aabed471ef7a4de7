"""Import course completions from an LMS export (CSV, or the same rows as JSON).

Columns (header names are case-insensitive, spaces and hyphens read as underscores, "e-mail"
and "duns" accepted as aliases; other columns are ignored):

=============  =========  ===========================================================
column         required   meaning
=============  =========  ===========================================================
partner_id     one of     the partner's PartnerHub id
partner_duns   the two    or its 9-digit DUNS number (both given: they must agree)
email          yes        the person's e-mail (the person is created when new)
full_name      no         the person's name (non-empty values replace the stored one)
job_role       no         e.g. engineer, account-manager (slugified)
course_key     yes        the course's key in the catalogue
completed_on   yes        YYYY-MM-DD (or an ISO date-time: its date is used); not future
score          no         whole number 0-100 (a trailing % is allowed); exams need it
external_id    no         the LMS's id of the completion (kept for reference)
=============  =========  ===========================================================

Rules:
- All-or-nothing by default: any bad row refuses the whole import and nothing is stored;
  every error names its row and column. With ``partial=True`` the good rows are stored and the
  bad ones reported.
- Idempotent: a completion is (person, course, completed_on); importing it again changes
  nothing. The same completion with a better score replaces the score (the best attempt of a
  day counts); a lower score changes nothing.
- Set-based: one query per kind (partners, courses, people, logins, completions), then
  bulk inserts, then certifications awarded for the affected people only.

Row numbers: in a CSV file the row as a spreadsheet shows it (the header is row 1, the first
data row is row 2); for JSON rows the position in the ``rows`` list, from 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partnerhub.core.errors import ServiceError
from partnerhub.core.schemas import MAX_ID
from partnerhub.partners.models import Partner, PartnerUser
from partnerhub.training.models import Course, CourseCompletion, Person
from partnerhub.training.services import (
    certifications_award,
    check_completion,
    normalize_email,
    normalize_job_role,
)

COLUMNS = (
    "partner_id",
    "partner_duns",
    "email",
    "full_name",
    "job_role",
    "course_key",
    "completed_on",
    "score",
    "external_id",
)
REQUIRED_COLUMNS = ("email", "course_key", "completed_on")
MAX_LENGTHS = {
    "partner_id": 20,
    "partner_duns": 20,
    "email": 254,
    "full_name": 200,
    "job_role": 64,
    "course_key": 64,
    "completed_on": 40,
    "score": 10,
    "external_id": 100,
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    partial: bool = False
    stored: bool = False
    rows_skipped: int = 0
    completions_created: int = 0
    completions_updated: int = 0
    completions_unchanged: int = 0
    people_created: int = 0
    people_updated: int = 0
    certifications_awarded: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when nothing was stored because of errors (all-or-nothing mode)."""
        return bool(self.errors) and not self.stored

    def summary(self) -> str:
        verb = "stored" if self.stored else "refused, nothing stored"
        return (
            f"{self.rows} rows {verb}: {self.completions_created} completions new, "
            f"{self.completions_updated} with a better score, {self.completions_unchanged} "
            f"unchanged; {self.people_created} people new, {self.people_updated} updated; "
            f"{self.certifications_awarded} certifications awarded; "
            f"{len(self.errors)} rows with errors"
            + (f" ({self.rows_skipped} skipped)" if self.stored and self.rows_skipped else "")
            + "."
        )


class ImportRefused(ServiceError):
    """A refused import as the API's 400 error: one entry per bad row and column."""

    MAX_DETAILS = 200

    def __init__(self, report: ImportReport, *, source: str = "rows"):
        super().__init__(report.summary(), code="invalid_row")
        self.report = report
        self.source = source

    def as_details(self) -> list[dict]:
        details = []
        for error in self.report.errors[: self.MAX_DETAILS]:
            if self.source == "file":
                loc = ["file", error.row, error.column] if error.column else ["file", error.row]
                details.append(
                    {"loc": loc, "msg": error.message, "type": "invalid_row", "line": error.row}
                )
            else:
                loc = ["body", "rows", error.row] + ([error.column] if error.column else [])
                details.append({"loc": loc, "msg": error.message, "type": "invalid_row"})
        rest = len(self.report.errors) - self.MAX_DETAILS
        if rest > 0:
            details.append(
                {"loc": [self.source], "msg": f"… and {rest} more errors.", "type": "invalid_row"}
            )
        return details


# --- reading ----------------------------------------------------------------------------------


HEADER_ALIASES = {"e_mail": "email", "email_address": "email", "duns": "partner_duns"}


def _column_name(header: str) -> str:
    """'Completed On' → completed_on, 'E-mail' → email."""
    name = re.sub(r"[\s-]+", "_", header.strip().lower())
    return HEADER_ALIASES.get(name, name)


def read_csv(data: bytes | str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """Parse a CSV export into numbered rows (row 2 = first data row) or file-level errors."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [
                RowError(1, "", f"The file is not UTF-8 text (byte {exc.start}); save it as UTF-8.")
            ]
    else:
        text = data.removeprefix("\ufeff")
    if "\x00" in text:
        return [], [RowError(1, "", "The file contains NUL characters; is it really CSV?")]
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            return [], [RowError(1, "", "The file is empty: a header row is required.")]
        names = [_column_name(h) for h in header]
        errors = [
            RowError(1, name, f"Missing column '{name}'.")
            for name in REQUIRED_COLUMNS
            if name not in names
        ]
        if "partner_id" not in names and "partner_duns" not in names:
            errors.append(
                RowError(1, "partner_id", "Missing column 'partner_id' or 'partner_duns'.")
            )
        duplicated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
        errors += [RowError(1, n, f"Column '{n}' appears more than once.") for n in duplicated]
        if errors:
            return [], errors
        rows = []
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # blank lines (a trailing newline, Excel padding)
            values = {
                name: record[i] if i < len(record) else ""
                for i, name in enumerate(names)
                if name in COLUMNS
            }
            rows.append((number, values))
    except csv.Error as exc:
        return [], [RowError(reader.line_num or 1, "", f"Not valid CSV: {exc}.")]
    return rows, []


# --- validating -------------------------------------------------------------------------------


@dataclass
class _Row:
    row: int
    partner_id: int | None
    partner_duns: str
    email: str
    full_name: str
    job_role: str
    course_key: str
    completed_on: dt.date
    score: int | None
    external_id: str
    partner: Partner | None = None
    course: Course | None = None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _parse_date(value: str) -> dt.date:
    if len(value) > 10 and value[10] in "T ":
        return dt.datetime.fromisoformat(value).date()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return dt.date.fromisoformat(value)


def _parse_score(value: str) -> int:
    number = Decimal(value.removesuffix("%").strip())
    if number != number.to_integral_value() or not 0 <= number <= 100:
        raise ValueError(value)
    return int(number)


def _validate_row(number: int, raw: Mapping, today: dt.date) -> tuple[_Row | None, list[RowError]]:
    errors: list[RowError] = []
    values = {name: _text(raw.get(name)) for name in COLUMNS}

    def bad(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    for name, value in values.items():
        if "\x00" in value:
            bad(name, "Contains a NUL character.")
            values[name] = ""
        elif len(value) > MAX_LENGTHS[name]:
            bad(name, f"At most {MAX_LENGTHS[name]} characters.")
            values[name] = ""
    partner_id = None
    if values["partner_id"]:
        if values["partner_id"].isdigit() and 1 <= int(values["partner_id"]) <= MAX_ID:
            partner_id = int(values["partner_id"])
        else:
            bad("partner_id", f"'{values['partner_id']}' is not a partner id.")
    duns = re.sub(r"[\s-]", "", values["partner_duns"])
    if duns and not re.fullmatch(r"[0-9]{9}", duns):
        bad("partner_duns", "A DUNS number has exactly 9 digits.")
    if not values["partner_id"] and not values["partner_duns"]:
        bad("partner_id", "Give partner_id or partner_duns.")
    email = normalize_email(values["email"])
    if not email:
        bad("email", "Required.")
    else:
        try:
            validate_email(email)
        except ValidationError:
            bad("email", f"'{values['email']}' is not an e-mail address.")
    if not values["course_key"]:
        bad("course_key", "Required.")
    completed_on = None
    if not values["completed_on"]:
        bad("completed_on", "Required.")
    else:
        try:
            completed_on = _parse_date(values["completed_on"])
        except ValueError:
            bad("completed_on", f"'{values['completed_on']}' is not a date (YYYY-MM-DD).")
    score = None
    if values["score"]:
        try:
            score = _parse_score(values["score"])
        except (ValueError, InvalidOperation):
            bad("score", f"'{values['score']}' is not a whole number from 0 to 100.")
    job_role = normalize_job_role(values["job_role"])
    if values["job_role"] and not job_role:
        bad("job_role", f"'{values['job_role']}' is not a job role (letters, digits, hyphens).")
    if completed_on is not None:
        for column, message in check_completion(
            completed_on=completed_on, score=score, external_id=values["external_id"], today=today
        ).items():
            bad(column, message)
    if errors:
        return None, errors
    return (
        _Row(
            row=number,
            partner_id=partner_id,
            partner_duns=duns,
            email=email,
            full_name=values["full_name"],
            job_role=job_role,
            course_key=values["course_key"],
            completed_on=completed_on,
            score=score,
            external_id=values["external_id"],
        ),
        [],
    )


def _resolve(rows: list[_Row]) -> list[RowError]:
    """Attach partners and courses (one query each); errors for the ones not found."""
    ids = {r.partner_id for r in rows if r.partner_id}
    dunses = {r.partner_duns for r in rows if r.partner_duns}
    by_id: dict[int, Partner] = {}
    by_duns: dict[str, list[Partner]] = {}
    if ids or dunses:
        for partner in Partner.objects.filter(Q(pk__in=ids) | Q(duns__in=dunses)):
            by_id[partner.pk] = partner
            if partner.duns:
                by_duns.setdefault(partner.duns, []).append(partner)
    keys = {r.course_key for r in rows}
    courses = Course.objects.in_bulk(keys, field_name="key") if keys else {}
    errors = []
    for r in rows:
        partner = None
        if r.partner_id:
            partner = by_id.get(r.partner_id)
            if partner is None:
                errors.append(RowError(r.row, "partner_id", f"No partner with id {r.partner_id}."))
            elif r.partner_duns and partner.duns != r.partner_duns:
                errors.append(
                    RowError(
                        r.row,
                        "partner_duns",
                        f"Partner {r.partner_id} has DUNS '{partner.duns or '(none)'}', "
                        f"not '{r.partner_duns}'.",
                    )
                )
                partner = None
        elif r.partner_duns:
            matches = by_duns.get(r.partner_duns, [])
            if len(matches) == 1:
                partner = matches[0]
            elif not matches:
                errors.append(
                    RowError(r.row, "partner_duns", f"No partner with DUNS {r.partner_duns}.")
                )
            else:
                errors.append(
                    RowError(
                        r.row,
                        "partner_duns",
                        f"DUNS {r.partner_duns} matches {len(matches)} partners; "
                        "give partner_id instead.",
                    )
                )
        r.partner = partner
        r.course = courses.get(r.course_key)
        if r.course is None:
            errors.append(RowError(r.row, "course_key", f"No course with key '{r.course_key}'."))
    return errors


# --- storing ----------------------------------------------------------------------------------


def _store(rows: list[_Row], report: ImportReport) -> None:
    partner_ids = {r.partner.pk for r in rows}
    # People: one query for the partners' people, one insert, one update.
    people = {
        (p.partner_id, p.email): p
        for p in Person.objects.filter(partner_id__in=partner_ids).only(
            "id", "partner_id", "email", "full_name", "job_role", "user_id"
        )
    }
    wanted: dict[tuple[int, str], dict[str, str]] = {}
    for r in rows:
        info = wanted.setdefault((r.partner.pk, r.email), {"full_name": "", "job_role": ""})
        if r.full_name:
            info["full_name"] = r.full_name
        if r.job_role:
            info["job_role"] = r.job_role
    logins = {
        (partner_id, email.lower()): user_id
        for partner_id, email, user_id in PartnerUser.objects.filter(
            partner_id__in=partner_ids, user__person__isnull=True
        ).values_list("partner_id", "user__email", "user_id")
    }
    new_people, changed_people = [], []
    linked: set[int] = set()
    now = timezone.now()
    for key, info in wanted.items():
        person = people.get(key)
        if person is None:
            user_id = logins.get(key)
            person = Person(
                partner_id=key[0],
                email=key[1],
                full_name=info["full_name"],
                job_role=info["job_role"],
                user_id=user_id if user_id not in linked else None,
            )
            if user_id:
                linked.add(user_id)
            new_people.append(person)
            people[key] = person
            continue
        changed = False
        for name in ("full_name", "job_role"):
            if info[name] and getattr(person, name) != info[name]:
                setattr(person, name, info[name])
                changed = True
        user_id = logins.get(key)
        if person.user_id is None and user_id and user_id not in linked:
            person.user_id = user_id
            linked.add(user_id)
            changed = True
        if changed:
            person.updated_at = now
            changed_people.append(person)
    Person.objects.bulk_create(new_people, batch_size=1000)
    if changed_people:
        Person.objects.bulk_update(
            changed_people, ["full_name", "job_role", "user_id", "updated_at"], batch_size=1000
        )
    report.people_created = len(new_people)
    report.people_updated = len(changed_people)

    # Completions: merge the file's duplicates (best score), compare with what is stored.
    incoming: dict[tuple[int, int, dt.date], _Row] = {}
    for r in rows:
        key = (people[(r.partner.pk, r.email)].pk, r.course.pk, r.completed_on)
        best = incoming.get(key)
        if best is None or (r.score is not None and (best.score is None or r.score > best.score)):
            incoming[key] = r
    days = [r.completed_on for r in rows]
    stored = {
        (c.person_id, c.course_id, c.completed_on): c
        for c in CourseCompletion.objects.filter(
            person__partner_id__in=partner_ids,
            course_id__in={r.course.pk for r in rows},
            completed_on__gte=min(days),
            completed_on__lte=max(days),
        ).only("id", "person_id", "course_id", "completed_on", "score", "external_id")
    }
    new_completions, better = [], []
    for key, r in incoming.items():
        existing = stored.get(key)
        if existing is None:
            new_completions.append(
                CourseCompletion(
                    person_id=key[0],
                    course_id=key[1],
                    completed_on=key[2],
                    score=r.score,
                    external_id=r.external_id,
                )
            )
        elif r.score is not None and (existing.score is None or r.score > existing.score):
            existing.score = r.score
            existing.external_id = r.external_id or existing.external_id
            better.append(existing)
    CourseCompletion.objects.bulk_create(new_completions, batch_size=1000)
    if better:
        CourseCompletion.objects.bulk_update(better, ["score", "external_id"], batch_size=1000)
    report.completions_created = len(new_completions)
    report.completions_updated = len(better)
    report.completions_unchanged = len(incoming) - len(new_completions) - len(better)
    affected = {c.person_id for c in new_completions} | {c.person_id for c in better}
    if affected:
        report.certifications_awarded = len(certifications_award(people=affected))


def completions_import(
    *,
    rows: Iterable[tuple[int, Mapping]],
    partial: bool = False,
    today: dt.date | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Validate and store numbered LMS rows; see the module docstring. Never raises for bad
    rows: the report lists them and says whether anything was stored (``report.refused``)."""
    today = today or timezone.localdate()
    rows = list(rows)
    report = ImportReport(rows=len(rows), partial=partial)
    good: list[_Row] = []
    bad_rows: set[int] = set()
    for number, raw in rows:
        parsed, errors = _validate_row(number, raw, today)
        if parsed is not None:
            good.append(parsed)
        else:
            report.errors += errors
            bad_rows.add(number)
        if progress is not None:
            progress(1)
    if good:
        resolve_errors = _resolve(good)
        report.errors += resolve_errors
        failed = {e.row for e in resolve_errors}
        bad_rows |= failed
        good = [r for r in good if r.row not in failed]
    report.errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else 0))
    report.rows_skipped = len(bad_rows)
    if report.errors and not partial:
        return report
    with transaction.atomic():
        if good:
            _store(good, report)
        report.stored = True
    return report


def csv_import(
    *,
    data: bytes | str,
    partial: bool = False,
    today: dt.date | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> ImportReport:
    """Read a CSV export and import it (file-level errors refuse it whatever ``partial``)."""
    rows, errors = read_csv(data)
    if errors:
        return ImportReport(errors=errors)
    if on_total is not None:
        on_total(len(rows))
    return completions_import(rows=rows, partial=partial, today=today, progress=progress)
