"""/api/v1/tiers: every endpoint, its validation and its tenancy.

Tenancy rules checked: a partner user sees its own organisation (and a sub-operator its
children) and gets 404 for any other partner's tiers, explanation, history, overrides and
evidence; staff-only writes answer 403 to partner users (and to staff roles not allowed); a
partner manager acts only on the partners assigned to them; anonymous callers get 401.
"""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.tiers.models import (
    EvaluationRun,
    EvidenceItem,
    Nomination,
    PartnerTier,
    SurveyResponse,
    TierChange,
    TierOverride,
)
from partnerhub.tiers.services import tiers_evaluate
from partnerhub.tiers.tests import factories as f

D = dt.date
T = "/tiers"


@pytest.fixture
def deals(monkeypatch):
    return f.fake_deals(monkeypatch, "registered_deals")


@pytest.fixture
def silver_a(world, deals):
    """Partner A reaches Silver on 2025-09-18 (evaluated on 2025-10-01)."""
    a = world.partner_a
    customer = f.customer("2024-01-01")
    f.bill(a, "100000.00", "2025-03-15", customer=customer)
    f.bill(a, "160000.00", "2025-09-12", customer=customer)
    f.certify_people(a, "ev-sales", "2025-04-01", "2025-09-05")
    deals.add(a.pk, *f.deal_dates("2025-09-14", 5))
    tiers_evaluate(as_of=D(2025, 10, 1))
    return a


@pytest.fixture
def fieldwise(world):
    program = f.load_program("field-service-software.yaml")
    for partner in (world.partner_a, world.partner_b):
        f.join(partner, program, "service-provider", "2025-07-01")
    return program


def detail(response) -> list[tuple]:
    return [(tuple(d["loc"]), d["msg"]) for d in response.json()["detail"]]


# --- reads -----------------------------------------------------------------------------------


def test_current_tiers(world, api_as, silver_a):
    r = api_as(world.admin_a).get(f"{T}/partners/{silver_a.pk}")
    assert r.status_code == 200
    assert r.json() == [
        {
            "program": "ev-hardware",
            "track": "var",
            "tier": "silver",
            "rank": 1,
            "since": "2025-09-18",
            "held_until": "2027-01-31",
            "source": "computed",
            "last_evaluated_on": "2025-10-01",
        }
    ]
    assert api_as(world.viewer).get(f"{T}/partners/{world.partner_b.pk}").json()[0]["tier"] == (
        "authorized"
    )


def test_explanation_as_of(world, api_as, silver_a):
    r = api_as(world.sales_a).get(f"{T}/partners/{silver_a.pk}/explanation", as_of="2025-10-01")
    assert r.status_code == 200
    [var] = r.json()
    assert {k: var[k] for k in ("program", "track", "as_of", "current_tier", "since")} == {
        "program": "ev-hardware",
        "track": "var",
        "as_of": "2025-10-01",
        "current_tier": "silver",
        "since": "2025-09-18",
    }
    assert (var["held_until"], var["source"], var["current_tier_name"]) == (
        "2027-01-31",
        "computed",
        "Silver",
    )
    billings, certs, projects = var["current"]["requirements"]
    assert billings == {
        "kind": "metric",
        "label": "Annual billings of at least $250k",
        "met": True,
        "met_on": "2025-09-12",
        "metric": "billings",
        "period": "fiscal_year_to_date",
        "params": {},
        "unit": "money",
        "value": "260000.00",
        "threshold": "250000",
        "gap": "0",
        "source_available": True,
        "needed": None,
        "missing": None,
        "items": None,
    }
    assert (certs["value"], certs["met_on"]) == ("2", "2025-09-05")
    assert (projects["value"], projects["met_on"]) == ("5", "2025-09-18")
    assert var["current"]["met"] is True
    gold = var["next"]
    assert (gold["tier_key"], gold["rank"], gold["met"]) == ("gold", 2, False)
    assert [(q["metric"], q["value"], q["gap"], q["met"]) for q in gold["requirements"]] == [
        ("billings", "260000.00", "740000.00", False),
        ("certified_people", "2", "3", False),
        ("certified_people", "0", "2", False),
        ("registered_deals", "5", "10", False),
        ("evidence", "0", "1", False),
    ]
    # an earlier date: the billings of that day
    r = api_as(world.sales_a).get(f"{T}/partners/{silver_a.pk}/explanation", as_of="2025-06-01")
    assert r.json()[0]["current"]["requirements"][0]["value"] == "100000.00"
    assert r.json()[0]["current"]["requirements"][0]["met"] is False
    # no as_of: today
    r = api_as(world.sales_a).get(f"{T}/partners/{silver_a.pk}/explanation")
    assert r.json()[0]["as_of"] == dt.date.today().isoformat()
    r = api_as(world.sales_a).get(f"{T}/partners/{silver_a.pk}/explanation", as_of="yesterday")
    assert r.status_code == 422


def test_history(world, api_as, silver_a):
    r = api_as(world.admin_a).get(f"{T}/partners/{silver_a.pk}/history")
    assert r.status_code == 200
    rows = r.json()
    assert [
        (c["program"], c["track"], c["from_tier"], c["to_tier"], c["kind"], c["effective_on"])
        for c in rows
    ] == [
        ("ev-hardware", "var", "", "authorized", "entry", "2025-03-01"),
        ("ev-hardware", "var", "authorized", "silver", "promotion", "2025-09-18"),
    ]
    assert rows[1]["reason"] == "Requirements for Silver met on 2025-09-18."
    assert {"id", "created_at"} <= set(rows[0])


# --- overrides -------------------------------------------------------------------------------


OVERRIDE = {
    "program": "ev-hardware",
    "track": "var",
    "tier": "gold",
    "reason": "Launch partner for the DC charger",
    "starts_on": "2025-05-01",
    "expires_on": "2025-12-31",
}


def test_override_create_list_and_revoke(world, api_as):
    a = world.partner_a
    r = api_as(world.manager).post(f"{T}/partners/{a.pk}/overrides", OVERRIDE)
    assert r.status_code == 201, r.json()
    body = r.json()
    override_id = body.pop("id")
    assert body == {
        "program": "ev-hardware",
        "track": "var",
        "tier": "gold",
        "reason": "Launch partner for the DC charger",
        "author_id": world.manager.pk,
        "starts_on": "2025-05-01",
        "expires_on": "2025-12-31",
        "revoked_at": None,
    }
    listed = api_as(world.admin_a).get(f"{T}/partners/{a.pk}/overrides").json()
    assert [o["id"] for o in listed] == [override_id]
    # applied at the next evaluation
    tiers_evaluate(as_of=D(2025, 5, 1))
    assert PartnerTier.objects.get(partner=a).tier_key == "gold"

    r = api_as(world.program_admin).delete(f"{T}/overrides/{override_id}")
    assert r.status_code == 200
    assert r.json()["revoked_at"] is not None
    r = api_as(world.program_admin).delete(f"{T}/overrides/{override_id}")
    assert r.status_code == 409
    assert detail(r) == [(("body",), "This override is already revoked.")]
    tiers_evaluate(as_of=D(2025, 5, 2))
    assert TierChange.objects.filter(partner=a).last().kind == "override_ended"
    assert api_as(world.admin_a).delete(f"{T}/overrides/999999").status_code == 404


def test_override_starts_today_by_default(world, api_as):
    body = {**OVERRIDE, "expires_on": "2099-01-01"}
    del body["starts_on"]
    r = api_as(world.program_admin).post(f"{T}/partners/{world.partner_a.pk}/overrides", body)
    assert r.status_code == 201
    assert r.json()["starts_on"] == dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("change", "status", "loc", "msg"),
    [
        (
            {"expires_on": "2025-04-30"},
            400,
            ("body", "expires_on"),
            "The expiry must not be before the start.",
        ),
        ({"reason": "   "}, 400, ("body", "reason"), "A reason is required for an override."),
        ({"tier": "platinum"}, 400, ("body", "tier"), "Track 'var' has no tier 'platinum'."),
        (
            {"track": "contractor"},
            400,
            ("body", "track"),
            "Alpha Charging is not in track 'contractor' of 'ev-hardware'.",
        ),
        ({"program": "nope"}, 400, ("body", "program"), "No program with key 'nope'."),
    ],
)
def test_override_validation(world, api_as, change, status, loc, msg):
    r = api_as(world.program_admin).post(
        f"{T}/partners/{world.partner_a.pk}/overrides", {**OVERRIDE, **change}
    )
    assert r.status_code == status
    assert detail(r) == [(loc, msg)]
    assert not TierOverride.objects.exists()


@pytest.mark.parametrize("missing", ["reason", "expires_on", "tier"])
def test_override_schema(world, api_as, missing):
    body = {k: v for k, v in OVERRIDE.items() if k != missing}
    r = api_as(world.program_admin).post(f"{T}/partners/{world.partner_a.pk}/overrides", body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", missing]
    r = api_as(world.program_admin).post(
        f"{T}/partners/{world.partner_a.pk}/overrides", {**OVERRIDE, "reason": ""}
    )
    assert r.status_code == 422


# --- nominations -----------------------------------------------------------------------------


NOMINATION = {
    "program": "fieldwise",
    "track": "service-provider",
    "tier": "premier",
    "reason": "Top implementer",
}


def test_nominations_create_list_approve_reject(world, api_as, fieldwise):
    a, b = world.partner_a, world.partner_b
    r = api_as(world.manager).post(f"{T}/partners/{a.pk}/nominations", NOMINATION)
    assert r.status_code == 201, r.json()
    body = r.json()
    nomination_id = body.pop("id")
    assert body == {
        "partner_id": a.pk,
        "program": "fieldwise",
        "track": "service-provider",
        "tier": "premier",
        "reason": "Top implementer",
        "status": "pending",
        "nominated_by_id": world.manager.pk,
        "decided_by_id": None,
        "decided_at": None,
        "decision_reason": "",
    }
    r = api_as(world.manager).post(f"{T}/partners/{a.pk}/nominations", NOMINATION)
    assert r.status_code == 409
    r = api_as(world.program_admin).post(
        f"{T}/partners/{a.pk}/nominations", {**NOMINATION, "tier": "select"}
    )
    assert r.status_code == 400
    assert detail(r) == [
        (("body", "tier"), "Tier 'select' is open: it is reached by meeting its requirements.")
    ]
    other = api_as(world.program_admin).post(f"{T}/partners/{b.pk}/nominations", NOMINATION)
    assert other.status_code == 201
    other_id = other.json()["id"]

    # the program admin sees both; A's manager only A's
    r = api_as(world.program_admin).get(f"{T}/nominations")
    assert (r.status_code, r.json()["count"]) == (200, 2)
    r = api_as(world.manager).get(f"{T}/nominations")
    assert [n["id"] for n in r.json()["items"]] == [nomination_id]

    # approving: program admins only, never one's own nomination
    r = api_as(world.manager).post(f"{T}/nominations/{nomination_id}/approve", {})
    assert r.status_code == 403
    r = api_as(world.program_admin).post(f"{T}/nominations/{other_id}/approve", {})
    assert r.status_code == 409
    assert detail(r) == [(("body",), "A nomination needs a second person's approval.")]
    r = api_as(world.program_admin).post(
        f"{T}/nominations/{nomination_id}/approve", {"reason": "Agreed"}
    )
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["decided_by_id"], r.json()["decision_reason"]) == (
        "approved",
        world.program_admin.pk,
        "Agreed",
    )
    assert r.json()["decided_at"] is not None
    r = api_as(world.program_admin).post(f"{T}/nominations/{nomination_id}/reject", {"reason": "x"})
    assert r.status_code == 409

    # rejecting needs a reason (a program admin may reject their own nomination)
    r = api_as(world.program_admin).post(f"{T}/nominations/{other_id}/reject", {})
    assert r.status_code == 400
    assert detail(r) == [(("body", "reason"), "A reason is required to reject a nomination.")]
    r = api_as(world.program_admin).post(
        f"{T}/nominations/{other_id}/reject", {"reason": "Not this year"}
    )
    assert (r.status_code, r.json()["status"]) == (200, "rejected")

    r = api_as(world.program_admin).get(f"{T}/nominations", status="approved")
    assert [n["id"] for n in r.json()["items"]] == [nomination_id]
    r = api_as(world.program_admin).get(f"{T}/nominations", status="rejected")
    assert [n["id"] for n in r.json()["items"]] == [other_id]
    r = api_as(world.program_admin).get(f"{T}/nominations", status="bogus")
    assert r.json()["count"] == 2
    assert api_as(world.program_admin).post(f"{T}/nominations/999999/approve", {}).status_code == (
        404
    )


# --- evidence and surveys --------------------------------------------------------------------


def test_evidence_create_and_list(world, api_as):
    a = world.partner_a
    r = api_as(world.manager).post(
        f"{T}/partners/{a.pk}/evidence",
        {
            "item": "Dedicated EV sales rep",
            "recorded_on": "2025-05-01",
            "valid_until": "2026-04-30",
            "note": " Jane Doe ",
        },
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    body.pop("id")
    assert body == {
        "item": "dedicated-ev-sales-rep",
        "note": "Jane Doe",
        "recorded_by_id": world.manager.pk,
        "recorded_on": "2025-05-01",
        "valid_until": "2026-04-30",
    }
    r = api_as(world.program_admin).post(f"{T}/partners/{a.pk}/evidence", {"item": "case-study"})
    assert (r.status_code, r.json()["recorded_on"]) == (201, dt.date.today().isoformat())
    listed = api_as(world.sales_a).get(f"{T}/partners/{a.pk}/evidence").json()
    assert sorted(e["item"] for e in listed) == ["case-study", "dedicated-ev-sales-rep"]

    r = api_as(world.manager).post(
        f"{T}/partners/{a.pk}/evidence",
        {"item": "case-study", "recorded_on": "2025-05-01", "valid_until": "2025-04-30"},
    )
    assert r.status_code == 400
    assert detail(r) == [
        (("body", "valid_until"), "'valid_until' must not be before the recording date.")
    ]
    r = api_as(world.manager).post(f"{T}/partners/{a.pk}/evidence", {"item": "!!!"})
    assert r.status_code == 400
    assert detail(r)[0][0] == ("body", "item")
    assert api_as(world.manager).post(f"{T}/partners/{a.pk}/evidence", {}).status_code == 422
    assert EvidenceItem.objects.count() == 2


def _rows(world, partner_id=None):
    customer = f.customer("2024-01-01")
    return [
        {
            "external_id": "NPS-1",
            "partner_id": world.partner_a.pk,
            "score": 10,
            "responded_on": "2025-03-01",
            "customer_external_id": customer.external_id,
        },
        {
            "external_id": "NPS-2",
            "partner_id": partner_id or world.partner_b.pk,
            "score": 3,
            "responded_on": "2025-03-02",
        },
    ]


def test_survey_import_is_idempotent(world, api_as):
    rows = _rows(world)
    r = api_as(world.finance).post(f"{T}/survey-responses", {"rows": rows})
    assert (r.status_code, r.json()) == (200, {"created": 2, "unchanged": 0})
    r = api_as(world.program_admin).post(f"{T}/survey-responses", {"rows": rows})
    assert (r.status_code, r.json()) == (200, {"created": 0, "unchanged": 2})
    first = SurveyResponse.objects.get(external_id="NPS-1")
    assert (first.partner, first.score, first.responded_on) == (
        world.partner_a,
        10,
        D(2025, 3, 1),
    )
    assert first.customer.external_id == rows[0]["customer_external_id"]
    assert SurveyResponse.objects.get(external_id="NPS-2").customer is None


def test_survey_import_names_the_bad_row(world, api_as):
    r = api_as(world.program_admin).post(
        f"{T}/survey-responses", {"rows": _rows(world, partner_id=987654)}
    )
    assert r.status_code == 400
    assert detail(r) == [(("body", "rows"), "Row 2: no partner with id 987654.")]
    assert not SurveyResponse.objects.exists()
    bad = _rows(world)
    bad[0]["score"] = 11
    r = api_as(world.program_admin).post(f"{T}/survey-responses", {"rows": bad})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:4] == ["body", "rows", 0, "score"]
    # the service checks scores too (for callers other than the API)
    from partnerhub.core.errors import ServiceError
    from partnerhub.tiers.services import survey_responses_import

    row = {"external_id": "X", "partner_id": world.partner_a.pk, "responded_on": D(2025, 3, 1)}
    with pytest.raises(ServiceError, match="row 2: score must be a whole number from 0 to 10"):
        survey_responses_import(rows=[{**row, "score": 7}, {**row, "score": 11}])
    assert not SurveyResponse.objects.exists()


# --- evaluations -----------------------------------------------------------------------------


def test_evaluations_dry_run_then_real_then_list(world, api_as, silver_a):
    PartnerTier.objects.all().delete()
    TierChange.objects.all().delete()
    EvaluationRun.objects.all().delete()
    admin = api_as(world.program_admin)
    r = admin.post(f"{T}/evaluations", {"as_of": "2025-10-01"})
    assert r.status_code == 200
    dry = r.json()
    assert (dry["as_of"], dry["dry_run"], dry["memberships"], dry["run_id"]) == (
        "2025-10-01",
        True,
        5,
        None,
    )
    assert dry["per_tier"] == {"ev-hardware/var/authorized": 4, "ev-hardware/var/silver": 1}
    assert [c["kind"] for c in dry["changes"]].count("promotion") == 1
    assert not PartnerTier.objects.exists() and not EvaluationRun.objects.exists()

    r = admin.post(f"{T}/evaluations", {"as_of": "2025-10-01", "dry_run": False})
    real = r.json()
    assert real["dry_run"] is False and real["run_id"] is not None
    assert real["changes"] == dry["changes"]
    assert PartnerTier.objects.get(partner=silver_a).tier_key == "silver"

    r = admin.post(f"{T}/evaluations", {"as_of": "2025-10-01", "program": "nope"})
    assert (r.status_code, detail(r)) == (
        400,
        [(("body", "program"), "No program with key 'nope'.")],
    )
    r = admin.post(
        f"{T}/evaluations", {"as_of": "2025-10-01", "program": "ev-hardware", "dry_run": False}
    )
    assert r.json()["changes"] == []

    r = api_as(world.viewer).get(f"{T}/evaluations")
    assert r.status_code == 200
    assert r.json()["count"] == 2
    latest = r.json()["items"][1]
    assert {k: latest[k] for k in ("id", "as_of", "memberships", "changes", "triggered_by_id")} == {
        "id": real["run_id"],
        "as_of": "2025-10-01",
        "memberships": 5,
        "changes": 6,
        "triggered_by_id": world.program_admin.pk,
    }
    assert latest["finished_at"] is not None


# --- tenancy ---------------------------------------------------------------------------------


def _paths(world, partner, override_id, nomination_id, evidence_id=None):
    pid = partner.pk
    return {
        "tiers": ("get", f"{T}/partners/{pid}", None),
        "explanation": ("get", f"{T}/partners/{pid}/explanation", None),
        "history": ("get", f"{T}/partners/{pid}/history", None),
        "overrides": ("get", f"{T}/partners/{pid}/overrides", None),
        "evidence": ("get", f"{T}/partners/{pid}/evidence", None),
        "override_create": ("post", f"{T}/partners/{pid}/overrides", OVERRIDE),
        "override_revoke": ("delete", f"{T}/overrides/{override_id}", None),
        "nominate": ("post", f"{T}/partners/{pid}/nominations", NOMINATION),
        "approve": ("post", f"{T}/nominations/{nomination_id}/approve", {}),
        "reject": ("post", f"{T}/nominations/{nomination_id}/reject", {"reason": "no"}),
        "evidence_create": ("post", f"{T}/partners/{pid}/evidence", {"item": "case-study"}),
    }


def _call(client, method, path, body):
    if method == "get":
        return client.get(path)
    if method == "delete":
        return client.delete(path)
    return client.post(path, body)


@pytest.fixture
def objects(world, fieldwise, silver_a):
    """An override and a nomination on A and on B (made by the program admin)."""
    from partnerhub.tiers import services

    made = {}
    for partner in (world.partner_a, world.partner_b):
        override = services.tier_override_create(
            actor=world.program_admin,
            partner=partner,
            program=silver_a.track_memberships.get(track_key="var").program,
            track_key="var",
            tier_key="gold",
            reason="r",
            starts_on=D(2025, 5, 1),
            expires_on=D(2025, 6, 1),
        )
        nomination = services.nomination_create(
            actor=world.manager,
            partner=partner,
            program=fieldwise,
            track_key="service-provider",
            tier_key="premier",
            reason="r",
        )
        made[partner.pk] = (override.pk, nomination.pk)
    return made


PARTNER_READS = ("tiers", "explanation", "history", "overrides", "evidence")
STAFF_WRITES = ("override_create", "override_revoke", "nominate", "approve", "reject")


def test_partner_user_gets_404_for_another_partner(world, api_as, objects):
    client = api_as(world.admin_a)
    b = world.partner_b
    paths = _paths(world, b, *objects[b.pk])
    for name, (method, path, body) in paths.items():
        assert _call(client, method, path, body).status_code == 404, name
    assert TierOverride.objects.filter(revoked_at__isnull=False).count() == 0
    assert Nomination.objects.filter(status="pending").count() == 2
    assert EvidenceItem.objects.count() == 0


def test_partner_users_read_their_own_tiers_but_not_write(world, api_as, objects):
    a = world.partner_a
    paths = _paths(world, a, *objects[a.pk])
    for user in (world.admin_a, world.sales_a):
        client = api_as(user)
        for name in PARTNER_READS:
            method, path, body = paths[name]
            assert _call(client, method, path, body).status_code == 200, name
        for name in (*STAFF_WRITES, "evidence_create"):
            method, path, body = paths[name]
            assert _call(client, method, path, body).status_code == 403, name
        for method, path, body in (
            ("get", f"{T}/nominations", None),
            ("get", f"{T}/evaluations", None),
            ("post", f"{T}/evaluations", {"as_of": "2025-10-01"}),
            ("post", f"{T}/survey-responses", {"rows": []}),
        ):
            assert _call(client, method, path, body).status_code == 403, path
    assert TierOverride.objects.count() == 2 and EvidenceItem.objects.count() == 0


def test_sub_operator_sees_its_children_not_the_reverse(world, api_as):
    tiers_evaluate(as_of=D(2025, 10, 1))
    r = api_as(world.operator_admin).get(f"{T}/partners/{world.child_1.pk}")
    assert (r.status_code, r.json()[0]["tier"]) == (200, "authorized")
    assert api_as(world.child_1_admin).get(f"{T}/partners/{world.operator.pk}").status_code == 404
    assert (
        api_as(world.child_1_admin).get(f"{T}/partners/{world.child_2.pk}/history").status_code
        == 404
    )


def test_partner_manager_acts_only_for_assigned_partners(world, api_as, objects):
    client = api_as(world.manager)
    a, b = world.partner_a, world.partner_b
    on_b = _paths(world, b, *objects[b.pk])
    for name, (method, path, body) in on_b.items():
        assert _call(client, method, path, body).status_code == 404, name
    on_a = _paths(world, a, *objects[a.pk])
    for name in PARTNER_READS:
        method, path, body = on_a[name]
        assert _call(client, method, path, body).status_code == 200, name
    assert _call(client, *on_a["override_create"]).status_code == 201
    assert _call(client, *on_a["override_revoke"]).status_code == 200
    assert _call(client, *on_a["evidence_create"]).status_code == 201
    # deciding nominations and running evaluations are the program admin's
    assert _call(client, *on_a["approve"]).status_code == 403
    assert _call(client, *on_a["reject"]).status_code == 403
    assert client.post(f"{T}/evaluations", {"as_of": "2025-10-01"}).status_code == 403
    assert client.post(f"{T}/survey-responses", {"rows": []}).status_code == 403
    assert client.get(f"{T}/evaluations").status_code == 200
    # the other manager sees B's nomination only
    r = api_as(world.other_manager).get(f"{T}/nominations")
    assert [n["partner_id"] for n in r.json()["items"]] == [b.pk]


@pytest.mark.parametrize("role", ["finance", "viewer"])
def test_finance_and_viewer_read_everything_write_nothing(world, api_as, objects, role):
    client = api_as(getattr(world, role))
    b = world.partner_b
    paths = _paths(world, b, *objects[b.pk])
    for name in PARTNER_READS:
        assert _call(client, *paths[name]).status_code == 200, name
    for name in (*STAFF_WRITES, "evidence_create"):
        assert _call(client, *paths[name]).status_code == 403, name
    assert client.get(f"{T}/nominations").status_code == 403
    assert client.get(f"{T}/evaluations").status_code == 200
    assert client.post(f"{T}/evaluations", {"as_of": "2025-10-01"}).status_code == 403
    expected = 200 if role == "finance" else 403
    assert client.post(f"{T}/survey-responses", {"rows": []}).status_code == expected


def test_anonymous_gets_401_everywhere(world, api_as, objects):
    client = api_as(None)
    a = world.partner_a
    for name, (method, path, body) in _paths(world, a, *objects[a.pk]).items():
        assert _call(client, method, path, body).status_code == 401, name
    for method, path, body in (
        ("get", f"{T}/nominations", None),
        ("get", f"{T}/evaluations", None),
        ("post", f"{T}/evaluations", {}),
        ("post", f"{T}/survey-responses", {"rows": []}),
    ):
        assert _call(client, method, path, body).status_code == 401, path
