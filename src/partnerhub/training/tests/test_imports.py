"""LMS completion imports: CSV parsing, all-or-nothing, partial mode, idempotency, set-based
storage and awarding, and the ``partnerhub training`` command."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerhub.training.imports import RowError, csv_import, read_csv
from partnerhub.training.models import CourseCompletion, Person, PersonCertification

from .helpers import D, certify

HEADER = "partner_id,email,full_name,job_role,course_key,completed_on,score,external_id\n"


def csv_for(world, *lines: str) -> str:
    return HEADER + "".join(
        line.format(a=world.partner_a.pk, b=world.partner_b.pk) + "\n" for line in lines
    )


def happy(world) -> str:
    return csv_for(
        world,
        "{a},jo@alpha.test,Jo Weber,Engineer,ev-basics,2025-01-10,,LMS-1",
        "{a},JO@alpha.test,,,ev-install,2025-02-03,,LMS-2",
        "{a},ann@alpha.test,Ann Berg,,ev-install,2025-03-01,,LMS-3",
        "{a},ann@alpha.test,Ann Berg,,ev-exam,2025-03-02,72,LMS-4",
        "{a},ann@alpha.test,Ann Berg,,ev-exam,2025-03-09T14:30:00+01:00,86%,LMS-5",
        "{b},bo@beta.test,Bo Martin,,ev-basics,2025-01-15,,LMS-6",
    )


def counts(report) -> dict:
    return {
        k: getattr(report, k)
        for k in (
            "rows",
            "stored",
            "completions_created",
            "completions_updated",
            "completions_unchanged",
            "people_created",
            "people_updated",
            "certifications_awarded",
        )
    }


def test_happy_import_stores_people_completions_and_awards(catalogue, world):
    report = csv_import(data=happy(world).encode())
    assert report.errors == []
    assert counts(report) == {
        "rows": 6,
        "stored": True,
        "completions_created": 6,
        "completions_updated": 0,
        "completions_unchanged": 0,
        "people_created": 3,
        "people_updated": 0,
        "certifications_awarded": 4,
    }
    jo = Person.objects.get(partner=world.partner_a, email="jo@alpha.test")
    assert (jo.full_name, jo.job_role) == ("Jo Weber", "engineer")
    awarded = sorted(
        PersonCertification.objects.values_list(
            "person__email", "certification__key", "earned_on", "expires_on", "exam_score"
        )
    )
    assert awarded == [
        ("ann@alpha.test", "ev-expert", D(2025, 3, 9), D(2026, 3, 9), 86),
        ("bo@beta.test", "ev-sales", D(2025, 1, 15), None, None),
        ("jo@alpha.test", "ev-installer", D(2025, 2, 3), D(2027, 2, 3), None),
        ("jo@alpha.test", "ev-sales", D(2025, 1, 10), None, None),
    ]
    assert CourseCompletion.objects.get(external_id="LMS-5").completed_on == D(2025, 3, 9)


def test_importing_the_same_file_again_changes_nothing(catalogue, world):
    csv_import(data=happy(world))
    before = (
        list(CourseCompletion.objects.values_list("id", "score")),
        list(PersonCertification.objects.values_list("id", "earned_on")),
    )
    again = csv_import(data=happy(world))
    assert counts(again) == {
        "rows": 6,
        "stored": True,
        "completions_created": 0,
        "completions_updated": 0,
        "completions_unchanged": 6,
        "people_created": 0,
        "people_updated": 0,
        "certifications_awarded": 0,
    }
    after = (
        list(CourseCompletion.objects.values_list("id", "score")),
        list(PersonCertification.objects.values_list("id", "earned_on")),
    )
    assert after == before


def test_bad_rows_refuse_the_whole_import_with_row_numbers(catalogue, world):
    data = csv_for(
        world,
        "{a},jo@alpha.test,Jo,,ev-basics,2025-01-10,,",  # row 2: fine
        "{a},not-an-email,,,ev-basics,2025-01-10,,",  # row 3
        "999999,x@y.test,,,ev-basics,2025-01-10,,",  # row 4
        "{a},jo@alpha.test,,,no-such-course,10/01/2025,,",  # row 5: two errors
        "{a},jo@alpha.test,,,ev-exam,2025-01-10,101,",  # row 6
        "{a},jo@alpha.test,,,ev-exam,2999-01-01,50.5,",  # row 7
        "",  # blank lines are skipped
        ",jo@alpha.test,,,ev-basics,2025-01-10,,",  # row 9
    )
    report = csv_import(data=data)
    assert report.refused and not report.stored
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (3, "email", "'not-an-email' is not an e-mail address."),
        (4, "partner_id", "No partner with id 999999."),
        (5, "completed_on", "'10/01/2025' is not a date (YYYY-MM-DD)."),
        (6, "score", "'101' is not a whole number from 0 to 100."),
        (7, "completed_on", "2999-01-01 is in the future."),
        (7, "score", "'50.5' is not a whole number from 0 to 100."),
        (9, "partner_id", "Give partner_id or partner_duns."),
    ]
    assert report.rows_skipped == 6
    assert (Person.objects.count(), CourseCompletion.objects.count()) == (0, 0)
    assert PersonCertification.objects.count() == 0


def test_unknown_course_is_reported_once_the_row_is_otherwise_valid(catalogue, world):
    report = csv_import(data=csv_for(world, "{a},jo@alpha.test,,,no-such-course,2025-01-10,,"))
    assert report.errors == [RowError(2, "course_key", "No course with key 'no-such-course'.")]


def test_partial_mode_stores_the_good_rows(catalogue, world):
    data = csv_for(
        world,
        "{a},jo@alpha.test,Jo,,ev-basics,2025-01-10,,",
        "{a},bad@,,,ev-basics,2025-01-10,,",
        "{a},ann@alpha.test,,,nope,2025-01-10,,",
        "{a},ann@alpha.test,,,ev-basics,2025-01-11,,",
    )
    report = csv_import(data=data, partial=True)
    assert report.stored and not report.refused
    assert [(e.row, e.column) for e in report.errors] == [(3, "email"), (4, "course_key")]
    assert (report.completions_created, report.people_created, report.rows_skipped) == (2, 2, 2)
    assert sorted(Person.objects.values_list("email", flat=True)) == [
        "ann@alpha.test",
        "jo@alpha.test",
    ]
    assert report.certifications_awarded == 2  # ev-sales for both


def test_partner_by_duns(catalogue, world):
    world.partner_a.duns = "123456789"
    world.partner_a.save()
    world.partner_b.duns = "987654321"
    world.partner_b.save()
    world.child_1.duns = "987654321"
    world.child_1.save()
    data = (
        "partner_duns,partner_id,email,course_key,completed_on\n"
        "123-456-789,,jo@alpha.test,ev-basics,2025-01-10\n"
        f"123456789,{world.partner_b.pk},x@beta.test,ev-basics,2025-01-10\n"
        "987654321,,x@beta.test,ev-basics,2025-01-10\n"
        "111111111,,x@beta.test,ev-basics,2025-01-10\n"
    )
    report = csv_import(data=data)
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (3, "partner_duns", f"Partner {world.partner_b.pk} has DUNS '987654321', not '123456789'."),
        (4, "partner_duns", "DUNS 987654321 matches 2 partners; give partner_id instead."),
        (5, "partner_duns", "No partner with DUNS 111111111."),
    ]
    report = csv_import(data=data, partial=True)
    assert list(Person.objects.values_list("partner_id", "email")) == [
        (world.partner_a.pk, "jo@alpha.test")
    ]


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", [RowError(1, "", "The file is empty: a header row is required.")]),
        (
            b"email;course_key;completed_on\n",
            [RowError(1, "partner_id", "Missing column 'partner_id' or 'partner_duns'.")],
        ),
        (
            b"partner_id,e-mail,course,completed_on\n",
            [RowError(1, "course_key", "Missing column 'course_key'.")],
        ),
        (
            b"\xff\xfepartner_id",
            [RowError(1, "", "The file is not UTF-8 text (byte 0); save it as UTF-8.")],
        ),
        (
            b"partner_id\x00",
            [RowError(1, "", "The file contains NUL characters; is it really CSV?")],
        ),
    ],
)
def test_file_level_errors(data, expected):
    rows, errors = read_csv(data)
    assert (rows, errors) == ([], expected)


def test_semicolon_excel_export_with_bom_and_extra_columns(catalogue, world):
    data = (
        "\ufeffPartner ID;E-mail;Course Key;Completed On;Score;Department\r\n"
        f"{world.partner_a.pk};jo@alpha.test;ev-exam;2025-01-10;85;Field\r\n"
    ).encode()
    rows, errors = read_csv(data)
    assert errors == []
    assert rows == [
        (
            2,
            {
                "partner_id": str(world.partner_a.pk),
                "email": "jo@alpha.test",
                "course_key": "ev-exam",
                "completed_on": "2025-01-10",
                "score": "85",
            },
        )
    ]


def test_better_score_in_a_later_file_updates_the_completion(catalogue, world):
    csv_import(data=csv_for(world, "{a},jo@alpha.test,,,ev-exam,2025-01-10,70,A1"))
    report = csv_import(
        data=csv_for(
            world,
            "{a},jo@alpha.test,,,ev-exam,2025-01-10,90,A2",
            "{a},jo@alpha.test,,,ev-exam,2025-01-10,60,A3",  # same day, worse: merged away
            "{a},jo@alpha.test,,,ev-install,2025-01-09,,",
        )
    )
    assert (report.completions_created, report.completions_updated) == (1, 1)
    assert list(CourseCompletion.objects.filter(course=catalogue.exam).values_list("score")) == [
        (90,)
    ]
    assert list(PersonCertification.objects.values_list("certification__key", "exam_score")) == [
        ("ev-expert", 90)
    ]


def test_import_links_logins_and_updates_names(catalogue, world, make_user):
    user = make_user("jo@alpha.test", partner=world.partner_a, role="technical")
    csv_import(data=csv_for(world, "{a},jo@alpha.test,,,ev-basics,2025-01-10,,"))
    person = Person.objects.get()
    assert (person.user, person.full_name) == (user, "")
    report = csv_import(
        data=csv_for(world, "{a},jo@alpha.test,Jo W,sales lead,ev-basics,2025-01-10,,")
    )
    assert (report.people_updated, report.completions_unchanged) == (1, 1)
    person.refresh_from_db()
    assert (person.full_name, person.job_role, person.user) == ("Jo W", "sales-lead", user)


def test_importing_200_rows_takes_a_bounded_number_of_queries(
    catalogue, world, django_assert_max_num_queries
):
    lines = []
    for i in range(100):
        partner = "{a}" if i % 2 else "{b}"
        lines.append(f"{partner},p{i}@example.test,Person {i},engineer,ev-basics,2025-01-10,,")
        lines.append(
            f"{partner},p{i}@example.test,Person {i},engineer,ev-install,2025-02-{i % 28 + 1:02},,"
        )
    data = csv_for(world, *lines)
    with django_assert_max_num_queries(20):
        report = csv_import(data=data)
    assert (report.rows, report.completions_created, report.people_created) == (200, 200, 100)
    assert report.certifications_awarded == 200  # ev-sales and ev-installer for each
    assert PersonCertification.objects.count() == 200


# --- the command -------------------------------------------------------------------------------


def test_command_imports_and_reports(catalogue, world, tmp_path):
    path = tmp_path / "lms.csv"
    path.write_text(happy(world))
    out, err = StringIO(), StringIO()
    call_command(
        "training", "import-completions", str(path), "--no-progress", stdout=out, stderr=err
    )
    assert out.getvalue() == (
        f"{path}: 6 rows stored: 6 completions new, 0 with a better score, 0 unchanged; "
        "3 people new, 0 updated; 4 certifications awarded; 0 rows with errors.\n"
    )
    assert err.getvalue() == ""


def test_command_refuses_with_non_zero_exit(catalogue, world, tmp_path):
    path = tmp_path / "lms.csv"
    path.write_text(
        csv_for(
            world, "{a},jo@alpha.test,,,ev-basics,2025-01-10,,", "{a},x,,,ev-basics,2025-01-10,,"
        )
    )
    err = StringIO()
    with pytest.raises(CommandError, match="import refused \\(1 errors\\)"):
        call_command("training", "import-completions", str(path), "--no-progress", stderr=err)
    assert f"{path}: row 3, email: 'x' is not an e-mail address." in err.getvalue()
    assert CourseCompletion.objects.count() == 0
    # --partial stores the good row and exits normally.
    out = StringIO()
    call_command(
        "training",
        "import-completions",
        str(path),
        "--partial",
        "--no-progress",
        stdout=out,
        stderr=err,
    )
    assert "1 rows with errors (1 skipped)" in out.getvalue()
    assert CourseCompletion.objects.count() == 1


def test_command_exit_code_through_the_console_script(catalogue, world, tmp_path):
    path = tmp_path / "missing.csv"
    result = subprocess.run(
        [sys.executable, "-m", "partnerhub.manage", "training", "import-completions", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "partnerhub.settings_test"},
        check=False,
    )
    assert result.returncode == 1
    assert "cannot read" in result.stderr


def test_command_lists_expiring_certifications(catalogue, world, person_a):
    from django.utils import timezone

    today = timezone.localdate()
    soon = certify(
        person_a,
        catalogue.installer,
        D(2024, 1, 1),
        today + dt.timedelta(days=30),
    )
    certify(
        person_a,
        catalogue.expert,
        D(2024, 1, 1),
        today + dt.timedelta(days=200),
    )
    out = StringIO()
    call_command("training", "expiring", "--days", "90", stdout=out)
    assert out.getvalue().splitlines() == [
        f"1 certifications expire within 90 days of {today.isoformat()}:",
        f"  valid through {(soon.expires_on - dt.timedelta(days=1)).isoformat()}  Alpha Charging "
        f"(id {world.partner_a.pk})  jo@alpha.test  ev-installer",
    ]
    # Renewed since: no longer listed.
    certify(person_a, catalogue.installer, today, today + dt.timedelta(days=700))
    out = StringIO()
    call_command("training", "expiring", "--days", "90", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("0 certifications expire")
    with pytest.raises(CommandError, match="--days: must be a whole number"):
        call_command("training", "expiring", "--days", "-1")
