"""The program YAML schema: the examples parse, and every kind of wrong file is refused with the
YAML path and line of each problem, all problems at once, and nothing stored."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from partnerhub.programs.models import Program, ProgramVersion, Tier, Track
from partnerhub.programs.schema import METRICS, ProgramInvalid, parse_program
from partnerhub.programs.services import program_load

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "programs"

# A small valid program; the line numbers in the cases below refer to this text.
BASE = """\
schema_version: 1
key: acme
name: Acme Partner Program
currency: EUR
fiscal_year_start: "01-01"
effective_from: 2025-01-01
product_categories: [software, services]
policies:
  activation_days: 90
tracks:
  - key: reseller
    name: Reseller
    tiers:
      - key: member
        name: Member
        benefits:
          discounts: {software: 10}
      - key: gold
        name: Gold
        gate: application
        requirements:
          - metric: billings
            min: 50000
            period: fiscal_year_to_date
          - metric: certified_people
            min: 2
            params: {certification: sales}
        benefits:
          discounts: {software: 20, services: 5}
          referral_fee: {fixed: 100}
"""

SECOND_TRACK = """\
  - key: reseller
    name: Another reseller track
    tiers:
      - key: member
        name: Member
"""


def edit(old: str, new: str, source: str = BASE) -> str:
    """BASE with the one occurrence of ``old`` replaced by ``new``."""
    assert source.count(old) == 1, old
    return source.replace(old, new)


def errors_of(source: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ProgramInvalid) as exc:
        parse_program(source)
    return [(e.path, e.line, e.message) for e in exc.value.errors]


# --- the examples --------------------------------------------------------------------------


def test_base_is_valid():
    spec = parse_program(BASE)
    assert spec.key == "acme"
    assert [t.key for t in spec.tracks[0].tiers] == ["member", "gold"]


@pytest.mark.parametrize(
    ("filename", "key", "tracks"),
    [
        (
            "ev-hardware.yaml",
            "ev-hardware",
            {
                "var": [("authorized", None), ("silver", None), ("gold", None)],
                "distributor": [("authorized", None), ("premier", None)],
                "contractor": [("listed", None), ("preferred", None)],
            },
        ),
        (
            "field-service-software.yaml",
            "fieldwise",
            {
                "service-provider": [
                    ("registered", None),
                    ("select", None),
                    ("premier", "invite_only"),
                ],
                "technology": [("registered", None), ("select", None), ("premier", "invite_only")],
                "referral": [("registered", None), ("select", None), ("premier", "invite_only")],
                "accountancy": [("registered", None), ("select", None), ("premier", "invite_only")],
            },
        ),
        (
            "saas-three-tier.yaml",
            "brightlane",
            {
                "solution": [
                    ("registered", None),
                    ("certified", "application"),
                    ("strategic", "invite_only"),
                ],
                "referral": [("registered", None), ("certified", None)],
            },
        ),
    ],
)
def test_examples_parse(filename, key, tracks):
    spec = parse_program((EXAMPLES / filename).read_text(encoding="utf-8"))
    assert spec.key == key
    assert {t.key: [(r.key, r.gate) for r in t.tiers] for t in spec.tracks} == tracks
    assert [t.key for t in spec.tracks] == list(tracks)


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == [
        "ev-hardware.yaml",
        "field-service-software.yaml",
        "saas-three-tier.yaml",
    ]


def test_field_service_program_says_what_the_reference_says():
    spec = parse_program((EXAMPLES / "field-service-software.yaml").read_text(encoding="utf-8"))
    assert spec.currency == "AUD"
    assert spec.policies.closed_won_window_months == 6
    tracks = {t.key: {r.key: r for r in t.tiers} for t in spec.tracks}
    select = tracks["service-provider"]["select"]
    closed_won = select.requirements[0]
    assert (closed_won.metric, closed_won.min, closed_won.period) == (
        "closed_won_deals",
        Decimal(10),
        "trailing_12_months",
    )
    assert select.requirements[1].metric == "certified_people"
    referral = tracks["referral"]
    assert referral["registered"].benefits.referral_fee.fixed == Decimal("250")
    assert referral["registered"].benefits.referral_fee.percent_of_first_order is None
    assert referral["select"].benefits.referral_fee.percent_of_first_order == Decimal("10")
    assert referral["select"].benefits.referral_customer_discount == Decimal("12.5")
    # Dedicated partner manager: Select and Premier only, in every track.
    for key, tiers in tracks.items():
        with_manager = [
            k for k, t in tiers.items() if "dedicated_partner_manager" in t.benefits.flags
        ]
        assert with_manager == ["select", "premier"], key


def test_saas_program_says_what_the_reference_says():
    spec = parse_program((EXAMPLES / "saas-three-tier.yaml").read_text(encoding="utf-8"))
    assert spec.policies.activation_days == 90
    solution = {t.key: t for t in spec.tracks[0].tiers}
    commission = {
        k: (t.benefits.commission.sourced, t.benefits.commission.influenced)
        for k, t in solution.items()
    }
    assert commission == {
        "registered": (Decimal("12.5"), Decimal("5")),
        "certified": (Decimal("20"), Decimal("10")),
        "strategic": (Decimal("32.5"), Decimal("15")),
    }
    assert solution["registered"].benefits.commission.renewal is None
    assert solution["strategic"].benefits.commission.renewal == Decimal("10")
    assert solution["strategic"].benefits.mdf_accrual == Decimal("3")
    group = solution["strategic"].requirements[-1]
    assert group.any == 2
    assert [r.metric for r in group.of] == [
        "customer_retention",
        "activation_rate",
        "competencies",
        "evidence",
    ]
    metrics = {r.metric for r in solution["certified"].requirements}
    assert metrics == {"certified_people", "pipeline_value", "evidence", "nps"}


# --- numbers are exact -----------------------------------------------------------------------


def test_floats_are_read_as_exact_decimals():
    source = edit("min: 50000", "min: 1234567890123456.75")
    source = edit("discounts: {software: 10}", "discounts: {software: 7.5}", source)
    spec = parse_program(source)
    assert spec.tracks[0].tiers[1].requirements[0].min == Decimal("1234567890123456.75")
    discount = spec.tracks[0].tiers[0].benefits.discounts["software"]
    assert isinstance(discount, Decimal)
    assert str(discount) == "7.5"


def test_infinity_and_sexagesimal_are_not_numbers():
    source = edit("discounts: {software: 10}", "discounts: {software: .inf}")
    source = edit("min: 50000", "min: 1:30.5", source)
    assert errors_of(source) == [
        ("tracks[0].tiers[0].benefits.discounts.software", 17, "Input should be a valid decimal"),
        ("tracks[0].tiers[1].requirements[0].min", 23, "Input should be a valid decimal"),
    ]


def test_impossible_date_is_located():
    assert errors_of(edit("effective_from: 2025-01-01", "effective_from: 2025-02-30")) == [
        (
            "effective_from",
            6,
            "Input should be a valid date or datetime, day value is outside expected range",
        )
    ]


# --- every kind of wrong file ----------------------------------------------------------------

GOLD_LINES = "      - key: gold\n        name: Gold\n"

MALFORMED = {
    "yaml syntax": (
        edit("name: Member\n", "name: Member: again\n"),
        [("", 15, "not valid YAML: mapping values are not allowed here")],
    ),
    "not a mapping": (
        "- key: acme\n- name: Acme\n",
        [("", 1, "a program file must be a YAML mapping with key, name, tracks...")],
    ),
    "empty file": (
        "# nothing here\n",
        [("", 1, "a program file must be a YAML mapping with key, name, tracks...")],
    ),
    "duplicate key": (
        edit("    name: Reseller\n", "    name: Reseller\n    name: Again\n"),
        [("tracks[0].name", 13, "this key appears twice")],
    ),
    "unknown field": (
        edit("        name: Member\n", "        name: Member\n        colour: blue\n"),
        [("tracks[0].tiers[0].colour", 16, "unknown field (not part of the program schema)")],
    ),
    "unknown top-level field": (
        edit("key: acme\n", "key: acme\nvendor: Acme\n"),
        [("vendor", 3, "unknown field (not part of the program schema)")],
    ),
    "missing top-level field": (
        edit("currency: EUR\n", ""),
        [("currency", 1, "Field required")],
    ),
    "missing tier name": (
        edit(GOLD_LINES, "      - key: gold\n"),
        [("tracks[0].tiers[1].name", 18, "Field required")],
    ),
    "bad slug": (
        edit("key: gold", "key: Gold Tier"),
        [
            (
                "tracks[0].tiers[1].key",
                18,
                "use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or "
                "digit (for example 'gold' or 'ev-sales')",
            )
        ],
    ),
    "bad currency": (
        edit("currency: EUR", "currency: euro"),
        [
            (
                "currency",
                4,
                "use a three-letter ISO 4217 currency code in capitals, such as USD or EUR",
            )
        ],
    ),
    "bad fiscal_year_start": (
        edit('fiscal_year_start: "01-01"', 'fiscal_year_start: "13-01"'),
        [
            (
                "fiscal_year_start",
                5,
                'give the month and day the fiscal year starts as "MM-DD", for example "02-01"',
            )
        ],
    ),
    "fiscal year starting 02-29": (
        edit('fiscal_year_start: "01-01"', 'fiscal_year_start: "02-29"'),
        [("fiscal_year_start", 5, "02-29 is not a day of every year")],
    ),
    "unknown metric": (
        edit("metric: certified_people", "metric: headcount"),
        [
            (
                "tracks[0].tiers[1].requirements[1].metric",
                25,
                "unknown metric 'headcount'; known metrics: activation_rate, approved_deals, "
                "billings, certified_people, closed_won_deals, competencies, customer_retention, "
                "evidence, nps, pipeline_value, registered_deals, trained_people",
            )
        ],
    ),
    "unknown period": (
        edit("period: fiscal_year_to_date", "period: last_year"),
        [
            (
                "tracks[0].tiers[1].requirements[0].period",
                24,
                "Input should be 'fiscal_year_to_date', 'previous_fiscal_year', "
                "'trailing_12_months', 'calendar_quarter' or 'all_time'",
            )
        ],
    ),
    "metric without its period": (
        edit("            period: fiscal_year_to_date\n", ""),
        [("tracks[0].tiers[1].requirements[0].period", 22, "metric 'billings' needs a period")],
    ),
    "unknown param": (
        edit("params: {certification: sales}", "params: {course: sales}"),
        [
            (
                "tracks[0].tiers[1].requirements[1].params.course",
                27,
                "metric 'certified_people' takes no param 'course' (takes: certification, role)",
            )
        ],
    ),
    "param on a metric without params": (
        edit(
            "            period: fiscal_year_to_date\n",
            "            period: fiscal_year_to_date\n            params: {region: emea}\n",
        ),
        [
            (
                "tracks[0].tiers[1].requirements[0].params.region",
                25,
                "metric 'billings' takes no param 'region' (takes: category)",
            )
        ],
    ),
    "missing required param": (
        edit(
            "          - metric: certified_people\n            min: 2\n"
            "            params: {certification: sales}\n",
            "          - metric: evidence\n            min: 1\n",
        ),
        [("tracks[0].tiers[1].requirements[1].params", 25, "metric 'evidence' needs param 'item'")],
    ),
    "any larger than its group": (
        edit(
            "            params: {certification: sales}\n",
            "            params: {certification: sales}\n"
            "          - any: 3\n"
            "            of:\n"
            "              - metric: competencies\n"
            "                min: 2\n"
            "              - metric: nps\n"
            "                min: 50\n"
            "                period: trailing_12_months\n",
        ),
        [("tracks[0].tiers[1].requirements[2].any", 28, "asks for 3 of only 2 requirements")],
    ),
    "gated entry tier": (
        edit("        name: Member\n", "        name: Member\n        gate: invite_only\n"),
        [
            (
                "tracks[0].tiers[0].gate",
                16,
                "the first tier is the entry tier and cannot be gated",
            )
        ],
    ),
    "entry tier with requirements": (
        edit(
            "        name: Member\n",
            "        name: Member\n"
            "        requirements:\n"
            "          - metric: competencies\n"
            "            min: 1\n",
        ),
        [
            (
                "tracks[0].tiers[0].requirements",
                16,
                "the first tier is the entry tier every new partner starts at; "
                "it cannot have requirements",
            )
        ],
    ),
    "duplicate track key": (
        BASE + SECOND_TRACK,
        [("tracks[1].key", 31, "track key 'reseller' is used twice")],
    ),
    "duplicate tier key": (
        edit("key: gold", "key: member"),
        [("tracks[0].tiers[1].key", 18, "tier key 'member' is used twice in this track")],
    ),
    "discount category not declared": (
        edit("{software: 20, services: 5}", "{software: 20, services: 5, hardware: 3}"),
        [
            (
                "tracks[0].tiers[1].benefits.discounts.hardware",
                29,
                "'hardware' is not one of the program's product_categories (services, software)",
            )
        ],
    ),
    "referral fee with both": (
        edit("{fixed: 100}", "{fixed: 100, percent_of_first_order: 5}"),
        [
            (
                "tracks[0].tiers[1].benefits.referral_fee",
                30,
                "give exactly one of 'fixed' or 'percent_of_first_order'",
            )
        ],
    ),
    "referral fee with neither": (
        edit("{fixed: 100}", "{}"),
        [
            (
                "tracks[0].tiers[1].benefits.referral_fee",
                30,
                "give exactly one of 'fixed' or 'percent_of_first_order'",
            )
        ],
    ),
    "percentage over 100": (
        edit("discounts: {software: 10}", "discounts: {software: 100.5}"),
        [
            (
                "tracks[0].tiers[0].benefits.discounts.software",
                17,
                "Input should be less than or equal to 100",
            )
        ],
    ),
    "negative money": (
        edit("{fixed: 100}", "{fixed: -1}"),
        [
            (
                "tracks[0].tiers[1].benefits.referral_fee.fixed",
                30,
                "Input should be greater than or equal to 0",
            )
        ],
    ),
    "no tracks": (
        BASE.split("tracks:")[0] + "tracks: []\n",
        [("tracks", 10, "List should have at least 1 item after validation, not 0")],
    ),
    "alias cycle": (
        edit("product_categories: [software, services]", "product_categories: &c [*c]"),
        [("", 7, "an alias refers to a value that contains it")],
    ),
}


@pytest.fixture
def acme(db):
    """ACME v1 is stored; a refused file must leave it, and everything else, as it was."""
    return program_load(source=BASE).version


def _counts() -> tuple[int, int, int, int]:
    return (
        Program.objects.count(),
        ProgramVersion.objects.count(),
        Track.objects.count(),
        Tier.objects.count(),
    )


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_program_is_refused_with_path_and_line(case, acme):
    source, expected = MALFORMED[case]
    before = _counts()
    assert before == (1, 1, 1, 2)
    assert errors_of(source) == expected
    with pytest.raises(ProgramInvalid) as exc:
        program_load(source=source)
    assert [(e.path, e.line, e.message) for e in exc.value.errors] == expected
    assert _counts() == before
    assert acme.program.versions.get().source_yaml == BASE


def test_yaml_syntax_error_in_a_new_program_stores_nothing(db):
    with pytest.raises(ProgramInvalid):
        program_load(source=edit("key: acme", "key: [acme"))
    assert _counts() == (0, 0, 0, 0)


def test_all_schema_errors_are_reported_at_once():
    source = edit("currency: EUR", "currency: euro")
    source = edit("        name: Member\n", "        name: Member\n        colour: blue\n", source)
    source = edit("discounts: {software: 10}", "discounts: {software: 110}", source)
    source = edit("metric: certified_people", "metric: headcount", source)
    assert [(path, line) for path, line, _ in errors_of(source)] == [
        ("currency", 4),
        ("tracks[0].tiers[0].benefits.discounts.software", 18),
        ("tracks[0].tiers[0].colour", 16),
        ("tracks[0].tiers[1].requirements[1].metric", 26),
    ]


def test_all_rule_errors_are_reported_at_once():
    source = edit("        name: Member\n", "        name: Member\n        gate: invite_only\n")
    source = edit("key: gold", "key: member", source)
    source = edit("{software: 20, services: 5}", "{hardware: 20}", source)
    source = edit("{fixed: 100}", "{}", source)
    source = edit("            period: fiscal_year_to_date\n", "", source)
    source = edit("params: {certification: sales}", "params: {course: x}", source)
    source = edit('"01-01"', '"02-29"', source)
    assert [(path, line) for path, line, _ in errors_of(source)] == [
        ("fiscal_year_start", 5),
        ("tracks[0].tiers[0].gate", 16),
        ("tracks[0].tiers[1].key", 19),
        ("tracks[0].tiers[1].benefits.discounts.hardware", 29),
        ("tracks[0].tiers[1].benefits.referral_fee", 30),
        ("tracks[0].tiers[1].requirements[0].period", 23),
        ("tracks[0].tiers[1].requirements[1].params.course", 27),
    ]


def test_duplicate_keys_are_reported_with_the_other_errors():
    source = edit("    name: Reseller\n", "    name: Reseller\n    name: Again\n")
    source = edit("currency: EUR", "currency: euro", source)
    assert errors_of(source) == [
        ("tracks[0].name", 13, "this key appears twice"),
        (
            "currency",
            4,
            "use a three-letter ISO 4217 currency code in capitals, such as USD or EUR",
        ),
    ]


def test_errors_inside_an_any_group_are_located():
    source = edit(
        "            params: {certification: sales}\n",
        "            params: {certification: sales}\n"
        "          - any: 1\n"
        "            of:\n"
        "              - metric: nps\n"
        "                min: 50\n"
        "              - metric: headcount\n"
        "                min: 2\n",
    )
    errors = errors_of(source)
    assert [(path, line) for path, line, _ in errors] == [
        ("tracks[0].tiers[1].requirements[2].of[1].metric", 32)
    ]
    source = edit("metric: headcount", "metric: competencies", source)
    assert errors_of(source) == [
        ("tracks[0].tiers[1].requirements[2].of[0].period", 30, "metric 'nps' needs a period")
    ]


def test_alias_bomb_is_refused_quickly():
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    [(path, _, message)] = errors_of(bomb)
    assert (path, message) == (
        "",
        "the file expands to more than 100000 values (check its aliases)",
    )


def test_anchors_and_aliases_may_share_a_block():
    source = edit("discounts: {software: 10}", "discounts: &member {software: 10}")
    source = edit("discounts: {software: 20, services: 5}", "discounts: *member", source)
    spec = parse_program(source)
    assert spec.tracks[0].tiers[1].benefits.discounts == {"software": Decimal("10")}


# --- the documentation stays true --------------------------------------------------------------

DOC = EXAMPLES.parents[1] / "docs" / "program-schema.md"


def test_documented_example_is_valid():
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## A short example\n\n```yaml\n", 1)[1].split("```", 1)[0]
    spec = parse_program(block)
    assert spec.key == "acme-cloud"
    assert [(t.key, t.gate) for t in spec.tracks[0].tiers] == [
        ("member", None),
        ("gold", "application"),
    ]


def test_documented_metrics_match_the_schema():
    text = DOC.read_text(encoding="utf-8")
    table = text.split("Metrics:\n\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    documented = {}
    for row in table:
        cells = [c.strip() for c in row.strip("|").split("|")]
        params = {p.strip("`*") for p in cells[3].split(", ")} - {"none"}
        required = {p.strip("`*") for p in cells[3].split(", ") if p.startswith("**")}
        documented[cells[0].strip("`")] = (cells[2] == "yes", params, required)
    assert documented == {
        name: (info.needs_period, set(info.params), set(info.required_params))
        for name, info in METRICS.items()
    }
