"""Loading programs: the examples store their tracks and tiers, the same content is a no-op,
changed content becomes a new immutable version from its effective date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from partnerhub.programs.models import Program, ProgramVersion, Tier, Track
from partnerhub.programs.schema import ProgramInvalid
from partnerhub.programs.services import program_load
from partnerhub.programs.tests.test_schema import BASE, EXAMPLES, edit

pytestmark = pytest.mark.django_db

EXPECTED_TIERS = {
    "ev-hardware.yaml": {
        "var": [("authorized", 0, ""), ("silver", 1, ""), ("gold", 2, "")],
        "distributor": [("authorized", 0, ""), ("premier", 1, "")],
        "contractor": [("listed", 0, ""), ("preferred", 1, "")],
    },
    "field-service-software.yaml": {
        "service-provider": [
            ("registered", 0, ""),
            ("select", 1, ""),
            ("premier", 2, "invite_only"),
        ],
        "technology": [("registered", 0, ""), ("select", 1, ""), ("premier", 2, "invite_only")],
        "referral": [("registered", 0, ""), ("select", 1, ""), ("premier", 2, "invite_only")],
        "accountancy": [("registered", 0, ""), ("select", 1, ""), ("premier", 2, "invite_only")],
    },
    "saas-three-tier.yaml": {
        "solution": [
            ("registered", 0, ""),
            ("certified", 1, "application"),
            ("strategic", 2, "invite_only"),
        ],
        "referral": [("registered", 0, ""), ("certified", 1, "")],
    },
}


def stored_tiers(version: ProgramVersion) -> dict[str, list[tuple[str, int, str]]]:
    return {
        track.key: [(t.key, t.rank, t.gate) for t in track.tiers.order_by("rank")]
        for track in version.tracks.order_by("position")
    }


def tier(version: ProgramVersion, track: str, key: str) -> Tier:
    return Tier.objects.get(track__version=version, track__key=track, key=key)


@pytest.mark.parametrize(
    ("filename", "key", "name", "currency", "fiscal_year_start", "effective_from"),
    [
        (
            "ev-hardware.yaml",
            "ev-hardware",
            "Voltaris EV Charging Partner Program",
            "USD",
            (2, 1),
            dt.date(2025, 2, 1),
        ),
        (
            "field-service-software.yaml",
            "fieldwise",
            "Fieldwise Partner Program",
            "AUD",
            (7, 1),
            dt.date(2025, 7, 1),
        ),
        (
            "saas-three-tier.yaml",
            "brightlane",
            "Brightlane Partner Network",
            "USD",
            (1, 1),
            dt.date(2025, 1, 1),
        ),
    ],
)
def test_example_loads_with_its_tracks_and_tiers(
    filename, key, name, currency, fiscal_year_start, effective_from, make_user
):
    admin = make_user("admin@vendor.test", staff_role="program_admin")
    source = (EXAMPLES / filename).read_text(encoding="utf-8")
    result = program_load(source=source, actor=admin)
    assert result.created is True
    version = result.version
    assert (version.program.key, version.program.name, version.number) == (key, name, 1)
    assert (version.name, version.currency) == (name, currency)
    assert (version.fiscal_year_start_month, version.fiscal_year_start_day) == fiscal_year_start
    assert version.effective_from == effective_from
    assert version.source_yaml == source
    assert version.loaded_by == admin
    assert len(version.content_hash) == 64
    assert stored_tiers(version) == EXPECTED_TIERS[filename]
    assert list(version.tracks.values_list("position", flat=True)) == list(
        range(len(EXPECTED_TIERS[filename]))
    )


def test_every_example_is_loaded_here():
    assert sorted(EXPECTED_TIERS) == sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def test_field_service_benefits_and_requirements_are_stored():
    version = program_load(
        source=(EXAMPLES / "field-service-software.yaml").read_text(encoding="utf-8")
    ).version
    assert version.policies == {
        "tier_hold": "rest_of_year",
        "activation_days": None,
        "closed_won_window_months": 6,
        "deal_registration_horizon_days": 180,
        "distributor_discount_reduction": "0",
        "discount_stacking": "add",
    }
    assert version.product_categories == ["subscriptions", "onboarding", "training"]
    select = tier(version, "service-provider", "select")
    assert select.requirements[0] == {
        "metric": "closed_won_deals",
        "min": "10",
        "period": "trailing_12_months",
        "params": {},
        "label": "10+ closed-won opportunities in the last 12 months",
    }
    assert select.requirements[1] == {
        "metric": "certified_people",
        "min": "2",
        "params": {"certification": "fieldwise-implementation"},
        "label": "Two certified implementation consultants",
    }
    assert tier(version, "referral", "registered").benefits["referral_fee"] == {"fixed": "250"}
    referral_select = tier(version, "referral", "select").benefits
    assert referral_select["referral_fee"] == {"percent_of_first_order": "10"}
    assert referral_select["referral_customer_discount"] == "12.5"
    premier = tier(version, "service-provider", "premier")
    assert premier.benefits["commission"] == {"sourced": "7.5", "influenced": "0"}
    assert "quarterly_business_review" in premier.benefits["flags"]
    assert "quarterly_business_review" not in select.benefits["flags"]


def test_saas_any_group_is_stored():
    version = program_load(
        source=(EXAMPLES / "saas-three-tier.yaml").read_text(encoding="utf-8")
    ).version
    strategic = tier(version, "solution", "strategic")
    group = strategic.requirements[-1]
    assert group["any"] == 2
    assert group["label"] == "Any two of retention, activation, specialisation and references"
    assert [(r["metric"], r["min"]) for r in group["of"]] == [
        ("customer_retention", "90"),
        ("activation_rate", "80"),
        ("competencies", "2"),
        ("evidence", "3"),
    ]
    assert strategic.benefits["commission"] == {
        "sourced": "32.5",
        "influenced": "15",
        "renewal": "10",
    }
    assert strategic.benefits["mdf_accrual"] == "3"
    assert strategic.benefits["deal_registration_discount"] == "7.5"
    assert version.policies["activation_days"] == 90


def test_decimals_are_stored_exactly(ev_program):
    version = ev_program.versions.get()
    gold = tier(version, "var", "gold")
    assert gold.benefits["deal_registration_discount"] == "7.5"
    assert tier(version, "distributor", "premier").benefits["mdf_accrual"] == "1.5"
    source = edit("min: 50000", "min: 1234567890123456.75")
    source = edit("discounts: {software: 10}", "discounts: {software: 0.1}", source)
    acme = program_load(source=source).version
    assert tier(acme, "reseller", "gold").requirements[0]["min"] == "1234567890123456.75"
    assert tier(acme, "reseller", "member").benefits["discounts"] == {"software": "0.1"}
    assert acme.definition["tracks"][0]["tiers"][0]["benefits"]["discounts"] == {"software": "0.1"}


# --- versions ----------------------------------------------------------------------------------


def test_loading_the_same_file_again_is_a_no_op():
    first = program_load(source=BASE)
    again = program_load(source=BASE)
    assert (first.created, again.created) == (True, False)
    assert again.version.pk == first.version.pk
    assert (Program.objects.count(), ProgramVersion.objects.count()) == (1, 1)
    assert (Track.objects.count(), Tier.objects.count()) == (1, 2)


def test_comments_and_formatting_do_not_make_a_version():
    program_load(source=BASE)
    reformatted = "# Acme's program, reviewed by legal\n\n" + BASE.replace(
        "key: acme\nname: Acme Partner Program\n",
        "name:   Acme Partner Program   # shown to partners\nkey: 'acme'\n",
    ).replace("discounts: {software: 10}", "discounts:\n            software: 10\n")
    assert reformatted != BASE
    result = program_load(source=reformatted)
    assert result.created is False
    assert result.version.number == 1
    assert result.version.source_yaml == BASE
    assert ProgramVersion.objects.count() == 1


def test_changed_file_becomes_version_2_and_version_1_is_unchanged():
    v1 = program_load(source=BASE).version
    v1_definition = v1.definition
    changed = edit("discounts: {software: 10}", "discounts: {software: 12}")
    changed = edit("effective_from: 2025-01-01", "effective_from: 2025-07-01", changed)
    changed = edit("name: Acme Partner Program", "name: Acme Partners", changed)
    result = program_load(source=changed)
    assert result.created is True
    v2 = result.version
    assert (v2.number, v2.effective_from, v2.name) == (2, dt.date(2025, 7, 1), "Acme Partners")
    assert v2.source_yaml == changed
    assert v2.content_hash != v1.content_hash
    assert tier(v2, "reseller", "member").benefits["discounts"] == {"software": "12"}
    v1.refresh_from_db()
    assert (v1.number, v1.effective_from, v1.name) == (
        1,
        dt.date(2025, 1, 1),
        "Acme Partner Program",
    )
    assert v1.definition == v1_definition
    assert v1.source_yaml == BASE
    assert tier(v1, "reseller", "member").benefits["discounts"] == {"software": "10"}
    assert Program.objects.get(key="acme").name == "Acme Partners"
    assert (Program.objects.count(), ProgramVersion.objects.count(), Track.objects.count()) == (
        1,
        2,
        2,
    )
    # Loading the changed file again is a no-op too.
    assert program_load(source=changed).created is False
    assert ProgramVersion.objects.count() == 2


def test_earlier_effective_from_is_refused_and_nothing_stored():
    program_load(source=BASE)
    earlier = edit("effective_from: 2025-01-01", "effective_from: 2024-12-01")
    earlier = edit("discounts: {software: 10}", "discounts: {software: 12}", earlier)
    with pytest.raises(ProgramInvalid) as exc:
        program_load(source=earlier)
    assert [(e.path, e.line, e.message) for e in exc.value.errors] == [
        (
            "effective_from",
            6,
            "a new version must take effect on or after the current version's date "
            "(2025-01-01); got 2024-12-01",
        )
    ]
    assert (ProgramVersion.objects.count(), Track.objects.count(), Tier.objects.count()) == (
        1,
        1,
        2,
    )


def test_without_effective_from_a_version_takes_effect_today():
    source = edit("effective_from: 2025-01-01\n", "")
    version = program_load(source=source).version
    assert version.effective_from == timezone.localdate()


def test_a_new_version_may_take_effect_the_same_day():
    program_load(source=BASE)
    same_day = edit("discounts: {software: 10}", "discounts: {software: 11}")
    v2 = program_load(source=same_day).version
    assert (v2.number, v2.effective_from) == (2, dt.date(2025, 1, 1))
    assert v2.program.version_as_of(dt.date(2025, 1, 1)) == v2


def test_a_version_in_the_future_refuses_a_new_one_without_a_date():
    future = edit("effective_from: 2025-01-01", "effective_from: 2999-01-01")
    program_load(source=future)
    undated = edit("effective_from: 2025-01-01\n", "")
    with pytest.raises(ProgramInvalid) as exc:
        program_load(source=undated)
    [error] = exc.value.errors
    assert (error.path, error.line) == ("effective_from", None)
    assert ProgramVersion.objects.count() == 1


def test_version_as_of_picks_the_version_in_force():
    v1 = program_load(source=BASE).version
    v2 = program_load(
        source=edit("effective_from: 2025-01-01", "effective_from: 2025-07-01")
    ).version
    v3 = program_load(
        source=edit(
            "discounts: {software: 10}",
            "discounts: {software: 15}",
            edit("effective_from: 2025-01-01", "effective_from: 2026-01-01"),
        )
    ).version
    program = Program.objects.get(key="acme")
    assert [v.number for v in (v1, v2, v3)] == [1, 2, 3]
    assert program.version_as_of(dt.date(2024, 12, 31)) is None
    assert program.version_as_of(dt.date(2025, 1, 1)) == v1
    assert program.version_as_of(dt.date(2025, 6, 30)) == v1
    assert program.version_as_of(dt.date(2025, 7, 1)) == v2
    assert program.version_as_of(dt.date(2025, 12, 31)) == v2
    assert program.version_as_of(dt.date(2026, 1, 1)) == v3
    assert program.version_as_of(dt.date(2030, 1, 1)) == v3


def test_a_concurrent_first_load_of_the_same_program_is_a_conflict(db, monkeypatch):
    """Two first loads of one new program race: the loser gets a clear 409, not a 500."""
    from partnerhub.core.errors import Conflict
    from partnerhub.programs import services as program_services
    from partnerhub.programs.models import Program

    source = (EXAMPLES / "ev-hardware.yaml").read_text()

    def rival_loads_first():
        # The other request's load commits between our read and our insert.
        Program.objects.create(key="ev-hardware", name="loaded by the other request")
        return Program.objects.none()

    monkeypatch.setattr(Program.objects, "select_for_update", rival_loads_first)
    with pytest.raises(Conflict, match="just created by another load"):
        program_services.program_load(source=source)
    assert ProgramVersion.objects.count() == 0  # nothing of the losing load is stored
