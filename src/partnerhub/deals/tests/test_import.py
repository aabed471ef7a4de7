"""`partnerhub deals import FILE`: migrating registrations with the API's validation."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from partnerhub.deals.models import DealRegistration, DealStatus

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id,partner_id,customer_name,customer_website,customer_country,products,"
    "estimated_value,currency,expected_close_date,source,status,submitted_at,approved_on\n"
)


def _file(tmp_path, rows):
    path = tmp_path / "regs.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def _close(days=90):
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_import_submits_in_the_old_systems_order(tmp_path, world, products, capsys):
    a, b = world.partner_a.pk, world.partner_b.pk
    today = timezone.localdate().isoformat()
    day1 = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    day2 = (timezone.localdate() - dt.timedelta(days=9)).isoformat()
    path = _file(
        tmp_path,
        [
            f"OLD-2,{b},ACME Logistics,acme-logistics.de,DE,WB-22:5,5000,USD,{_close()},"
            f"partner_sourced,submitted,{day2}T10:00:00Z,\n",
            f"OLD-1,{a},Acme Logistics GmbH,www.acme-logistics.de,DE,WB-22:5;CL-PRO:5,9000,USD,"
            f"{_close()},partner_sourced,approved,{day1}T10:00:00Z,{today}\n",
        ],
    )
    call_command("deals", "import", str(path), "--no-progress")
    old1 = DealRegistration.objects.get(external_id="OLD-1")
    old2 = DealRegistration.objects.get(external_id="OLD-2")
    assert old1.status == DealStatus.APPROVED and not old1.flagged
    assert old2.status == DealStatus.SUBMITTED and old2.flagged
    assert old1.products.count() == 2
    # Idempotent: a second run changes nothing.
    call_command("deals", "import", str(path), "--no-progress")
    assert DealRegistration.objects.count() == 2
    assert "already there" in capsys.readouterr().out


def test_bad_rows_are_reported_and_nothing_is_stored(tmp_path, world, products, capsys):
    a = world.partner_a.pk
    path = _file(
        tmp_path,
        [
            f"OK-1,{a},Good Customer,good-customer.de,DE,WB-22:1,100,USD,{_close()},referral,,,\n",
            f"BAD-1,{a},Whole Account Inc,,DE,,100,USD,{_close()},referral,,,\n",
            f"BAD-2,{a},Far Future,,DE,WB-22:1,100,USD,{_close(4000)},referral,,,\n",
        ],
    )
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("deals", "import", str(path), "--no-progress")
    err = capsys.readouterr().err
    assert "row 3, products" in err
    assert "row 4, expected_close_date" in err and "horizon" in err
    assert not DealRegistration.objects.exists()
    call_command("deals", "import", str(path), "--no-progress", "--partial")
    assert list(DealRegistration.objects.values_list("external_id", flat=True)) == ["OK-1"]


def test_expire_command(world, register, capsys):
    from partnerhub.deals import services

    reg = register()
    services.registration_approve(registration=reg, approved_by=world.manager)
    later = (timezone.localdate() + dt.timedelta(days=31)).isoformat()
    call_command("deals", "expire", "--on", later)
    assert "1 registration(s) expired" in capsys.readouterr().out
    call_command("deals", "expire", "--on", later)
    assert "0 registration(s) expired" in capsys.readouterr().out
