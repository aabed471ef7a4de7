"""``partnerhub program load FILE...`` and ``partnerhub program check FILE...``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from partnerhub.programs.models import Program, ProgramVersion
from partnerhub.programs.tests.test_schema import BASE, EXAMPLES, edit

pytestmark = pytest.mark.django_db

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("program", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


def counts() -> tuple[int, int]:
    return Program.objects.count(), ProgramVersion.objects.count()


@pytest.fixture
def bad_file(tmp_path):
    source = edit("        name: Member\n", "        name: Member\n        gate: invite_only\n")
    source = edit("currency: EUR", "currency: euro", source)
    path = tmp_path / "acme.yaml"
    path.write_text(source, encoding="utf-8")
    return path


def test_load_examples_then_repeat_is_unchanged():
    out, err = run("load", *map(str, EXAMPLE_FILES))
    assert err == ""
    assert out.splitlines() == [
        f"{EXAMPLES / 'ev-hardware.yaml'}: loaded ev-hardware version 1 (effective 2025-02-01)",
        f"{EXAMPLES / 'field-service-software.yaml'}: loaded fieldwise version 1 "
        "(effective 2025-07-01)",
        f"{EXAMPLES / 'saas-three-tier.yaml'}: loaded brightlane version 1 (effective 2025-01-01)",
    ]
    assert counts() == (3, 3)
    assert sorted(Program.objects.values_list("key", flat=True)) == [
        "brightlane",
        "ev-hardware",
        "fieldwise",
    ]
    out, err = run("load", str(EXAMPLES / "field-service-software.yaml"))
    assert out.splitlines() == [
        f"{EXAMPLES / 'field-service-software.yaml'}: unchanged (fieldwise version 1)"
    ]
    assert counts() == (3, 3)


def test_load_changed_file_makes_version_2(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(BASE, encoding="utf-8")
    run("load", str(path))
    path.write_text(edit("effective_from: 2025-01-01", "effective_from: 2025-09-01"))
    out, _ = run("load", str(path))
    assert out.splitlines() == [f"{path}: loaded acme version 2 (effective 2025-09-01)"]
    assert counts() == (1, 2)


def test_load_bad_file_fails_with_file_line_path_message(bad_file, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"^1 file\(s\) refused$"):
        call_command(
            "program", "load", str(bad_file), str(good), stdout=out, stderr=err, no_color=True
        )
    assert err.getvalue().splitlines() == [
        f"{bad_file}: refused, nothing stored:",
        f"  {bad_file}:4: currency: use a three-letter ISO 4217 currency code in capitals, "
        "such as USD or EUR",
    ]
    # The good file after it is still loaded; the bad one stored nothing.
    assert out.getvalue().splitlines() == [f"{good}: loaded acme version 1 (effective 2025-01-01)"]
    assert counts() == (1, 1)
    assert ProgramVersion.objects.get().source_yaml == BASE


def test_load_bad_file_exits_non_zero(bad_file):
    # run_from_argv turns a CommandError into sys.exit(returncode).
    with pytest.raises(CommandError) as exc:
        run("load", str(bad_file))
    assert exc.value.returncode == 1
    assert counts() == (0, 0)


def test_rule_errors_are_listed_one_per_line(tmp_path):
    path = tmp_path / "acme.yaml"
    source = edit("        name: Member\n", "        name: Member\n        gate: invite_only\n")
    path.write_text(edit("{fixed: 100}", "{}", source), encoding="utf-8")
    with pytest.raises(CommandError):
        run("load", str(path))
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 file\(s\) invalid$"):
        call_command("program", "check", str(path), stderr=err, stdout=io.StringIO())
    assert err.getvalue().splitlines() == [
        f"{path}: invalid:",
        f"  {path}:16: tracks[0].tiers[0].gate: the first tier is the entry tier and cannot "
        "be gated",
        f"  {path}:31: tracks[0].tiers[1].benefits.referral_fee: give exactly one of 'fixed' or "
        "'percent_of_first_order'",
    ]
    assert counts() == (0, 0)


def test_check_stores_nothing():
    out, err = run("check", *map(str, EXAMPLE_FILES))
    assert err == ""
    assert out.splitlines() == [
        f"{EXAMPLES / 'ev-hardware.yaml'}: valid (ev-hardware, 3 tracks)",
        f"{EXAMPLES / 'field-service-software.yaml'}: valid (fieldwise, 4 tracks)",
        f"{EXAMPLES / 'saas-three-tier.yaml'}: valid (brightlane, 2 tracks)",
    ]
    assert counts() == (0, 0)


def test_unreadable_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run("load", str(tmp_path / "missing.yaml"))
    assert counts() == (0, 0)
