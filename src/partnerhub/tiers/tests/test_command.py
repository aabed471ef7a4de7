"""``partnerhub tiers evaluate|explain|simulate|schedule`` and the background tasks."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from partnerhub.core.models import Event
from partnerhub.programs.models import ProgramVersion
from partnerhub.tiers.models import EvaluationRun, PartnerTier, TierChange
from partnerhub.tiers.services import tiers_evaluate
from partnerhub.tiers.tests import factories as f

D = dt.date


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("tiers", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


def written() -> tuple[int, int, int, int]:
    return (
        PartnerTier.objects.count(),
        TierChange.objects.count(),
        Event.objects.count(),
        EvaluationRun.objects.count(),
    )


@pytest.fixture
def silver_a(world, monkeypatch):
    """Partner A meets Silver on 2025-09-18; nobody has been evaluated yet."""
    deals = f.fake_deals(monkeypatch, "registered_deals")
    a = world.partner_a
    customer = f.customer("2024-01-01")
    f.bill(a, "100000.00", "2025-03-15", customer=customer)
    f.bill(a, "160000.00", "2025-09-12", customer=customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-09-05")
    deals.add(a.pk, *f.deal_dates("2025-09-14", 5))
    return a


def entry_line(partner) -> str:
    return f"  partner {partner.pk} ev-hardware/var: - → authorized (entry, 2025-03-01)"


# --- evaluate --------------------------------------------------------------------------------


def test_evaluate_dry_run_lists_changes_and_writes_nothing(world, silver_a):
    out, err = run("evaluate", "--as-of", "2025-10-01", "--dry-run", "--no-progress")
    assert err == ""
    a = silver_a
    others = sorted(
        [world.partner_b, world.operator, world.child_1, world.child_2], key=lambda p: p.pk
    )
    assert out.splitlines() == [
        "Evaluated 5 memberships as of 2025-10-01: 6 tier changes would change.",
        entry_line(a),
        f"  partner {a.pk} ev-hardware/var: authorized → silver (promotion, 2025-09-18)",
        *[entry_line(p) for p in others],
    ]
    assert written() == (0, 0, 0, 0)


def test_evaluate_writes_and_a_second_run_changes_nothing(world, silver_a):
    out, _ = run("evaluate", "--as-of", "2025-10-01", "--no-progress")
    assert out == "Evaluated 5 memberships as of 2025-10-01: 6 tier changes changed.\n"
    assert written() == (5, 6, 1, 1)
    assert PartnerTier.objects.get(partner=silver_a).tier_key == "silver"
    out, _ = run("evaluate", "--as-of", "2025-10-01", "--no-progress", "--program", "ev-hardware")
    assert out == "Evaluated 5 memberships as of 2025-10-01: 0 tier changes changed.\n"
    assert written() == (5, 6, 1, 2)


def test_evaluate_shows_progress_on_stderr(world):
    out, err = run("evaluate", "--as-of", "2025-10-01", "--dry-run")
    assert out.startswith("Evaluated 5 memberships as of 2025-10-01: 5 tier changes would change.")
    assert "5/5" in err and "membership" in err
    err = io.StringIO()
    call_command(
        "tiers",
        "evaluate",
        "--as-of",
        "2025-10-01",
        "--dry-run",
        verbosity=0,
        stderr=err,
        stdout=io.StringIO(),
    )
    assert err.getvalue() == ""


def test_evaluate_more_than_50_changes_is_cut(world, ev_program):
    for _ in range(50):
        f.join(f.partner(), ev_program, "var", "2025-03-01")
    out, _ = run("evaluate", "--as-of", "2025-10-01", "--dry-run", "--no-progress")
    lines = out.splitlines()
    assert lines[0] == "Evaluated 55 memberships as of 2025-10-01: 55 tier changes would change."
    assert len(lines) == 52
    assert lines[-1] == "  … and 5 more"


def test_evaluate_errors(world):
    with pytest.raises(CommandError, match="No program with key 'nope'."):
        run("evaluate", "--program", "nope", "--no-progress")
    with pytest.raises(CommandError, match="'2025-13-01' is not a date"):
        run("evaluate", "--as-of", "2025-13-01")
    assert written() == (0, 0, 0, 0)


def test_evaluate_defaults_to_today(world):
    out, _ = run("evaluate", "--dry-run", "--no-progress")
    assert out.startswith(f"Evaluated 5 memberships as of {dt.date.today().isoformat()}:")


# --- explain ---------------------------------------------------------------------------------


def test_explain(world, silver_a):
    tiers_evaluate(as_of=D(2025, 10, 1))
    out, _ = run("explain", str(silver_a.pk), "--as-of", "2025-10-01")
    assert out.splitlines() == [
        "Alpha Charging — ev-hardware/var: Silver since 2025-09-18, held until 2027-01-31",
        "  Silver: all met",
        "    [x] Annual billings of at least $250k: 260000.00 of 250000 (met on 2025-09-12)",
        "    [x] Two certified sales people: 2 of 2 (met on 2025-09-05)",
        "    [x] Five registered projects: 5 of 5 (met on 2025-09-18)",
        "  Gold: not yet met",
        "    [ ] billings fiscal year to date ≥ 1000000: 260000.00 of 1000000 (missing 740000.00)",
        "    [ ] certified people (certification ev-sales) ≥ 5: 2 of 5 (missing 3)",
        "    [ ] certified people (certification ev-installer) ≥ 2: 0 of 2 (missing 2)",
        "    [ ] registered deals fiscal year to date ≥ 15: 5 of 15 (missing 10)",
        "    [ ] A dedicated EV sales representative: 0 of 1 (missing 1)",
    ]


def test_explain_a_partner_not_evaluated_yet_and_any_of_groups(world):
    from partnerhub.tiers.services import tier_override_create

    brightlane = f.load_program("saas-three-tier.yaml")
    p = f.partner("Bright Consulting")
    f.join(p, brightlane, "referral", "2025-01-01")
    f.complete(f.person(p), "brightlane-fundamentals", "2025-02-01")
    out, _ = run("explain", str(p.pk), "--as-of", "2025-06-01")
    # trained people cannot tell the day they were met: shown as met, without a day
    assert out.splitlines() == [
        "Bright Consulting — brightlane/referral: Registered",
        "  Registered: all met",
        "  Certified: not yet met",
        "    [ ] Five referrals closed-won this fiscal year: 0 of 5 (missing 5)",
        "    [x] trained people (course brightlane-fundamentals) ≥ 1: 1 of 1 (met)",
    ]
    f.join(p, brightlane, "solution", "2025-01-01")
    tier_override_create(
        actor=world.program_admin,
        partner=p,
        program=brightlane,
        track_key="solution",
        tier_key="certified",
        reason="Pilot",
        starts_on=D(2025, 6, 1),
        expires_on=D(2025, 12, 31),
    )
    tiers_evaluate(as_of=D(2025, 6, 1), program=brightlane)
    out, _ = run("explain", str(p.pk), "--as-of", "2025-06-01")
    lines = out.splitlines()
    assert lines[5] == (
        "Bright Consulting — brightlane/solution: Certified since 2025-06-01, held until 2025-01-01"
    )
    start = lines.index("  Strategic: not yet met")
    assert lines[start + 1 :] == [
        "    [ ] Five or more certified employees: 0 of 5 (missing 5)",
        "    [ ] $100K of subscription revenue in the last 12 months: 0 of 100000 (missing 100000)",
        "    [ ] NPS of at least 50 from joint customers: 0 of 50 (missing 50)",
        "    [ ] Any two of retention, activation, specialisation and references",
        "      [ ] 90 % 12-month customer retention: 0 of 90 (missing 90)",
        "      [ ] 80 % of new customers active after 90 days: 0 of 80 (missing 80)",
        "      [ ] Two specialisations: 0 of 2 (missing 2)",
        "      [ ] Three customer case studies: 0 of 3 (missing 3)",
    ]


def test_explain_unknown_partner(db):
    with pytest.raises(CommandError, match="No partner with id 999999."):
        run("explain", "999999")


# --- simulate --------------------------------------------------------------------------------


def test_simulate_text_and_json_write_nothing(world, tmp_path):
    a = world.partner_a
    customer = f.customer("2024-01-01")
    f.bill(a, "100000.00", "2025-06-01", customer=customer)
    tiers_evaluate(as_of=D(2025, 10, 1))
    before = (written(), ProgramVersion.objects.count())
    source = (f.EXAMPLES / "ev-hardware.yaml").read_text()
    path = tmp_path / "candidate.yaml"
    # the candidate gives Authorized resellers 12 % on hardware instead of 10 %
    path.write_text(
        source.replace("discounts: {hardware: 10, cloud: 5}", "discounts: {hardware: 12, cloud: 5}")
    )

    out, err = run("simulate", "--program", str(path), "--as-of", "2025-10-01")
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "What-if for ev-hardware as of 2025-10-01 (candidate vs version 1):"
    assert lines[1] == "track           tier                   current  candidate   change"
    assert lines[2] == "var             authorized                   5          5       +0"
    assert lines[3] == "var             silver                       0          0       +0"
    assert len(lines) == 2 + 7 + 3
    assert lines[-3] == "Trailing 12 months of billings, cost in USD:"
    assert lines[-2] == (
        "  discounts    current       10000.00  candidate       12000.00  change       +2000.00"
    )
    assert lines[-1] == (
        "  commissions  current        5000.00  candidate        5000.00  change          +0.00"
    )

    out, _ = run("simulate", "--program", str(path), "--as-of", "2025-10-01", "--json")
    report = json.loads(out)
    assert report["program"] == "ev-hardware" and report["current_version"] == 1
    assert report["discount_cost"] == {
        "current": "10000.00",
        "candidate": "12000.00",
        "delta": "2000.00",
    }
    assert report["commission_cost"] == {
        "current": "5000.00",
        "candidate": "5000.00",
        "delta": "0.00",
    }
    assert report["tiers"][0] == {
        "track": "var",
        "tier": "authorized",
        "current": 5,
        "candidate": 5,
        "delta": 0,
    }
    assert (written(), ProgramVersion.objects.count()) == before


def test_simulate_errors(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    source = (f.EXAMPLES / "ev-hardware.yaml").read_text()
    bad.write_text(source.replace("currency: USD", "currency: usd"))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="the candidate program is invalid"):
        call_command("tiers", "simulate", "--program", str(bad), stdout=out, stderr=err)
    assert err.getvalue().startswith(f"{bad}:11: currency: ")
    with pytest.raises(CommandError, match="missing.yaml"):
        run("simulate", "--program", str(tmp_path / "missing.yaml"))
    assert not ProgramVersion.objects.exists()


# --- schedule and tasks ----------------------------------------------------------------------


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def fixed_now(monkeypatch):
    now = dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    return now


def test_schedule_queues_the_nightly_evaluation_once(db, db_tasks, fixed_now):
    from django_tasks_db.models import DBTaskResult

    out, _ = run("schedule")
    assert out == "Nightly evaluation queued for 2026-11-24T02:00:00+00:00.\n"
    out, _ = run("schedule")
    assert out == "The nightly evaluation is already queued.\n"
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "partnerhub.tiers.tasks.evaluate_tiers_nightly"
    assert task.status == "READY"
    assert task.run_after == dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)


def test_next_nightly_run():
    from partnerhub.tiers.tasks import next_nightly_run

    assert next_nightly_run(dt.datetime(2026, 11, 23, 1, 59, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 23, 2, tzinfo=dt.UTC
    )
    assert next_nightly_run(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 24, 2, tzinfo=dt.UTC
    )


def test_nightly_task_evaluates_today_and_queues_the_next_night(world, db_tasks, fixed_now):
    from django_tasks_db.models import DBTaskResult

    from partnerhub.tiers.tasks import evaluate_tiers, evaluate_tiers_nightly

    result = evaluate_tiers_nightly.call()
    assert result == {"as_of": "2026-11-23", "memberships": 5, "changes": 5}
    assert PartnerTier.objects.filter(last_evaluated_on=D(2026, 11, 23)).count() == 5
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert evaluate_tiers.call(as_of="2026-11-23") == {
        "as_of": "2026-11-23",
        "memberships": 5,
        "changes": 0,
    }
