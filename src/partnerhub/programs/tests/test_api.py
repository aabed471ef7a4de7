"""/api/v1/programs: program admins upload YAML; everyone signed in reads programs."""

from __future__ import annotations

import pytest

from partnerhub.programs.models import Program, ProgramVersion, Tier
from partnerhub.programs.tests.test_schema import BASE, EXAMPLES, edit

FIELDWISE = (EXAMPLES / "field-service-software.yaml").read_text(encoding="utf-8")
EV = (EXAMPLES / "ev-hardware.yaml").read_text(encoding="utf-8")


def counts() -> tuple[int, int, int]:
    return Program.objects.count(), ProgramVersion.objects.count(), Tier.objects.count()


def test_program_admin_uploads_then_repeat_is_unchanged(world, api_as):
    client = api_as(world.program_admin)
    r = client.post("/programs", {"source": FIELDWISE})
    assert r.status_code == 201, r.body
    assert r.body["created"] is True
    version = r.body["version"]
    assert (version["program"], version["number"], version["name"]) == (
        "fieldwise",
        1,
        "Fieldwise Partner Program",
    )
    assert (version["currency"], version["fiscal_year_start"], version["effective_from"]) == (
        "AUD",
        "07-01",
        "2025-07-01",
    )
    assert version["loaded_by_id"] == world.program_admin.pk
    assert [t["key"] for t in version["tracks"]] == [
        "service-provider",
        "technology",
        "referral",
        "accountancy",
    ]
    for track in version["tracks"]:
        assert [(t["key"], t["rank"], t["gate"]) for t in track["tiers"]] == [
            ("registered", 0, ""),
            ("select", 1, ""),
            ("premier", 2, "invite_only"),
        ]
    referral = version["tracks"][2]["tiers"][1]["benefits"]
    assert referral["referral_customer_discount"] == "12.5"
    assert counts() == (2, 2, 19)

    r = client.post("/programs", {"source": FIELDWISE})
    assert r.status_code == 200, r.body
    assert r.body["created"] is False
    assert r.body["version"]["number"] == 1
    assert counts() == (2, 2, 19)


def test_changed_upload_is_version_2(world, api_as):
    client = api_as(world.program_admin)
    changed = EV.replace("effective_from: 2025-02-01", "effective_from: 2026-02-01").replace(
        "deal_protection_days: 90", "deal_protection_days: 120"
    )
    r = client.post("/programs", {"source": changed})
    assert r.status_code == 201, r.body
    assert (r.body["version"]["number"], r.body["version"]["effective_from"]) == (2, "2026-02-01")
    r = client.get("/programs/ev-hardware/versions")
    assert [(v["number"], v["effective_from"]) for v in r.body] == [
        (1, "2025-02-01"),
        (2, "2026-02-01"),
    ]
    gold = client.get("/programs/ev-hardware/versions/1").body["tracks"][0]["tiers"][2]
    assert gold["benefits"]["deal_protection_days"] == 90


def test_invalid_upload_is_400_with_path_and_line(world, api_as):
    source = edit("        name: Member\n", "        name: Member\n        gate: invite_only\n")
    source = edit("{fixed: 100}", "{}", source)
    before = counts()
    r = api_as(world.program_admin).post("/programs", {"source": source})
    assert r.status_code == 400, r.body
    assert r.body == {
        "detail": [
            {
                "loc": ["body", "source", "tracks[0].tiers[0].gate"],
                "msg": "the first tier is the entry tier and cannot be gated",
                "type": "program_invalid",
                "line": 16,
            },
            {
                "loc": ["body", "source", "tracks[0].tiers[1].benefits.referral_fee"],
                "msg": "give exactly one of 'fixed' or 'percent_of_first_order'",
                "type": "program_invalid",
                "line": 31,
            },
        ]
    }
    assert counts() == before


def test_yaml_syntax_error_is_400_at_the_top(world, api_as):
    r = api_as(world.program_admin).post("/programs", {"source": "key: [acme\n"})
    assert r.status_code == 400, r.body
    [detail] = r.body["detail"]
    assert detail["loc"] == ["body", "source"]
    assert detail["type"] == "program_invalid"
    assert detail["line"] == 2
    assert detail["msg"].startswith("not valid YAML: ")
    assert counts() == (1, 1, 7)


def test_earlier_effective_from_is_400(world, api_as):
    earlier = EV.replace("effective_from: 2025-02-01", "effective_from: 2025-01-01").replace(
        "deal_protection_days: 90", "deal_protection_days: 120"
    )
    r = api_as(world.program_admin).post("/programs", {"source": earlier})
    assert r.status_code == 400, r.body
    assert r.body["detail"] == [
        {
            "loc": ["body", "source", "effective_from"],
            "msg": "a new version must take effect on or after the current version's date "
            "(2025-02-01); got 2025-01-01",
            "type": "program_invalid",
            "line": 13,
        }
    ]
    assert counts() == (1, 1, 7)


@pytest.mark.parametrize("who", ["admin_a", "sales_a", "viewer", "finance", "manager"])
def test_only_program_admins_upload(who, world, api_as):
    before = counts()
    assert before == (1, 1, 7)
    r = api_as(getattr(world, who)).post("/programs", {"source": BASE})
    assert r.status_code == 403, r.body
    assert r.body["detail"][0]["type"] == "permission_denied"
    # Not even an invalid file is examined for them.
    r = api_as(getattr(world, who)).post("/programs", {"source": "key: ["})
    assert r.status_code == 403, r.body
    assert counts() == before
    assert not Program.objects.filter(key="acme").exists()


def test_anonymous_upload_is_401(world, api_as):
    r = api_as(None).post("/programs", {"source": BASE})
    assert r.status_code == 401, r.body
    assert r.body["detail"][0]["type"] == "unauthenticated"
    assert counts() == (1, 1, 7)


def test_anonymous_read_is_401(world, api_as):
    assert api_as(None).get("/programs").status_code == 401
    assert api_as(None).get("/programs/ev-hardware/current").status_code == 401


@pytest.mark.parametrize("who", ["admin_a", "sales_a", "viewer", "finance", "manager"])
def test_any_authenticated_user_reads_programs(who, world, api_as):
    client = api_as(getattr(world, who))
    r = client.get("/programs")
    assert r.status_code == 200, r.body
    assert r.body == [
        {
            "key": "ev-hardware",
            "name": "Voltaris EV Charging Partner Program",
            "current_version": 1,
            "latest_version": 1,
            "versions": 1,
        }
    ]
    r = client.get("/programs/ev-hardware")
    assert r.status_code == 200, r.body
    assert r.body["current_version"] == 1

    r = client.get("/programs/ev-hardware/versions")
    assert r.status_code == 200, r.body
    assert [(v["number"], v["currency"]) for v in r.body] == [(1, "USD")]

    for path in ("/programs/ev-hardware/current", "/programs/ev-hardware/versions/1"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.body)
        assert r.body["program"] == "ev-hardware"
        assert r.body["fiscal_year_start"] == "02-01"
        assert r.body["product_categories"] == ["hardware", "cloud", "services", "nfr"]
        assert {t["key"]: [x["key"] for x in t["tiers"]] for t in r.body["tracks"]} == {
            "var": ["authorized", "silver", "gold"],
            "distributor": ["authorized", "premier"],
            "contractor": ["listed", "preferred"],
        }

    r = client.get("/programs/ev-hardware/versions/1/source")
    assert r.status_code == 200, r.body
    assert r.body == {"number": 1, "source": EV}


@pytest.mark.parametrize(
    "path",
    [
        "/programs/nope",
        "/programs/nope/versions",
        "/programs/nope/current",
        "/programs/nope/versions/1",
        "/programs/nope/versions/1/source",
        "/programs/ev-hardware/versions/2",
        "/programs/ev-hardware/versions/0",
        "/programs/ev-hardware/versions/2/source",
    ],
)
def test_unknown_program_or_version_is_404(path, world, api_as):
    r = api_as(world.viewer).get(path)
    assert r.status_code == 404, r.body
    assert r.body["detail"][0]["type"] == "not_found"


def test_program_without_a_version_in_force_today_has_no_current(world, api_as):
    future = edit("effective_from: 2025-01-01", "effective_from: 2999-01-01")
    r = api_as(world.program_admin).post("/programs", {"source": future})
    assert r.status_code == 201, r.body
    r = api_as(world.viewer).get("/programs/acme")
    assert r.status_code == 200, r.body
    assert (r.body["current_version"], r.body["latest_version"]) == (None, 1)
    assert api_as(world.viewer).get("/programs/acme/current").status_code == 404
