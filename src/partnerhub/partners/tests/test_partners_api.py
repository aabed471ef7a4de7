"""Partners through the API: create, validate, filter, paginate, change, and the status
lifecycle with its history."""

from __future__ import annotations

import pytest

from partnerhub.partners.models import Invitation, Partner, PartnerStatus, StatusChange


def locs(response) -> list[list]:
    return [d["loc"] for d in response.body["detail"]]


def field_errors(response) -> set[str]:
    """The fields named by an error response (its ``loc`` without the 'body'/'query' part)."""
    return {loc[-1] for loc in locs(response) if len(loc) > 1}


# --- create ------------------------------------------------------------------------------------


def test_program_admin_creates_a_partner(world, api_as):
    client = api_as(world.program_admin)
    r = client.post(
        "/partners",
        {
            "legal_name": "Gamma Ladetechnik GmbH",
            "display_name": "Gamma",
            "country": "DE",
            "vat_id": "DE 136 695 976",
            "duns": "123456789",
            "city": "Berlin",
            "website_domain": "https://www.Example.com/path?x=1",
            "partner_manager_id": world.manager.pk,
            "tracks": [{"program": "ev-hardware", "track": "distributor"}],
        },
    )
    assert r.status_code == 201, r.body
    body = r.body
    assert body["display_name"] == "Gamma"
    assert body["vat_id"] == "DE136695976"
    assert body["website_domain"] == "example.com"
    assert body["status"] == "active"
    assert body["partner_manager_id"] == world.manager.pk
    assert [(t["program"], t["track"]) for t in body["tracks"]] == [("ev-hardware", "distributor")]
    partner = Partner.objects.get(pk=body["id"])
    assert partner.vat_id == "DE136695976" and partner.website_domain == "example.com"
    change = partner.status_changes.get()
    assert (change.from_status, change.to_status, change.author) == (
        "",
        "active",
        world.program_admin,
    )
    assert client.get(f"/partners/{partner.pk}").body == body


def test_display_name_defaults_to_legal_name(world, api_as):
    r = api_as(world.program_admin).post("/partners", {"legal_name": "Solo AG", "country": "CH"})
    assert r.status_code == 201, r.body
    assert r.body["display_name"] == "Solo AG"


def test_partner_manager_creates_and_is_assigned(world, api_as):
    client = api_as(world.manager)
    r = client.post("/partners", {"legal_name": "Managed GmbH", "country": "DE"})
    assert r.status_code == 201, r.body
    assert r.body["partner_manager_id"] == world.manager.pk
    assert client.get(f"/partners/{r.body['id']}").status_code == 200
    assert api_as(world.other_manager).get(f"/partners/{r.body['id']}").status_code == 404


def test_partner_manager_cannot_assign_someone_else_or_a_parent(world, api_as):
    client = api_as(world.manager)
    before = Partner.objects.count()
    r = client.post(
        "/partners",
        {"legal_name": "X GmbH", "country": "DE", "partner_manager_id": world.other_manager.pk},
    )
    assert r.status_code == 403, r.body
    assert field_errors(r) == {"partner_manager_id"}
    r = client.post(
        "/partners", {"legal_name": "X GmbH", "country": "DE", "parent_id": world.operator.pk}
    )
    assert r.status_code == 403, r.body
    assert field_errors(r) == {"parent_id"}
    assert Partner.objects.count() == before


def test_new_partner_may_start_as_applied(world, api_as):
    r = api_as(world.program_admin).post(
        "/partners", {"legal_name": "Later GmbH", "country": "DE", "status": "applied"}
    )
    assert r.status_code == 201, r.body
    assert r.body["status"] == "applied"
    r = api_as(world.program_admin).post(
        "/partners", {"legal_name": "Later GmbH", "country": "DE", "status": "suspended"}
    )
    assert r.status_code == 422
    assert locs(r) == [["body", "status"]]


INVALID = [
    ({"country": "XX"}, "country"),
    ({"country": "Germany"}, "country"),
    ({"vat_id": "DE123"}, "vat_id"),
    ({"vat_id": "DE136695977"}, "vat_id"),  # wrong check digit
    ({"duns": "12345"}, "duns"),
    ({"duns": "12345678a"}, "duns"),
    ({"duns": "1234567890"}, "duns"),
    ({"duns": "١٢٣٤٥٦٧٨٩"}, "duns"),  # digits, but not ASCII ones
    ({"website_domain": "not a domain"}, "website_domain"),
    ({"website_domain": "http://"}, "website_domain"),
    ({"website_domain": "localhost"}, "website_domain"),
    ({"legal_name": ""}, "legal_name"),
    ({"legal_name": "x" * 201}, "legal_name"),
    ({"legal_name": "Nul\x00GmbH"}, "legal_name"),
    ({"partner_manager_id": 999999}, "partner_manager_id"),
    ({"partner_manager_id": 0}, "partner_manager_id"),
    ({"partner_manager_id": 2**60}, "partner_manager_id"),
    ({"parent_id": 999999}, "parent_id"),
    ({"parent_id": -1}, "parent_id"),
    ({"parent_id": 2**60}, "parent_id"),
    ({"tracks": [{"program": "nope", "track": "var"}]}, "program"),
    ({"tracks": [{"program": "ev-hardware", "track": "nope"}]}, "track"),
    ({"unknown_field": 1, "country": "XX"}, "unknown_field"),  # unknown fields are refused
]


@pytest.mark.parametrize("data,field", INVALID, ids=[f for _, f in INVALID])
def test_create_validation_names_the_field(data, field, world, api_as):
    before = (Partner.objects.count(), StatusChange.objects.count())
    r = api_as(world.program_admin).post(
        "/partners", {"legal_name": "Valid GmbH", "country": "DE", **data}
    )
    assert r.status_code in (400, 422), r.body
    assert field in field_errors(r), r.body
    assert all(d["msg"] for d in r.body["detail"])
    messages = [d["msg"] for d in r.body["detail"] if d["loc"][-1] == field]
    assert len(messages) == len(set(messages)), "each problem is reported once"
    assert (Partner.objects.count(), StatusChange.objects.count()) == before


def test_create_is_all_or_nothing(world, api_as):
    before = (Partner.objects.count(), StatusChange.objects.count())
    track = {"program": "ev-hardware", "track": "var"}
    r = api_as(world.program_admin).post(
        "/partners", {"legal_name": "Twice GmbH", "country": "DE", "tracks": [track, track]}
    )
    assert r.status_code == 409, r.body
    assert field_errors(r) == {"track"}
    assert (Partner.objects.count(), StatusChange.objects.count()) == before
    assert not Partner.objects.filter(legal_name="Twice GmbH").exists()


def test_manager_must_be_active_vendor_staff(world, api_as):
    client = api_as(world.program_admin)
    for user in (world.admin_a,):
        r = client.post(
            "/partners", {"legal_name": "X", "country": "DE", "partner_manager_id": user.pk}
        )
        assert r.status_code == 400 and field_errors(r) == {"partner_manager_id"}
    world.other_manager.is_active = False
    world.other_manager.save()
    r = client.post(
        "/partners",
        {"legal_name": "X", "country": "DE", "partner_manager_id": world.other_manager.pk},
    )
    assert r.status_code == 400 and field_errors(r) == {"partner_manager_id"}


def test_several_invalid_fields_are_all_reported(world, api_as):
    r = api_as(world.program_admin).post(
        "/partners",
        {"legal_name": "X", "country": "DE", "vat_id": "DE123", "website_domain": "nope"},
    )
    assert r.status_code == 400
    assert field_errors(r) == {"vat_id", "website_domain"}


def test_vat_id_rules_follow_the_country(world, api_as):
    client = api_as(world.program_admin)
    r = client.post("/partners", {"legal_name": "X", "country": "DE", "vat_id": "136695976"})
    assert r.status_code == 201 and r.body["vat_id"] == "DE136695976"
    # Changing the country re-validates the VAT ID against the new one.
    r2 = client.patch(f"/partners/{r.body['id']}", {"country": "FR"})
    assert r2.status_code == 400 and field_errors(r2) == {"vat_id"}
    assert Partner.objects.get(pk=r.body["id"]).country == "DE"
    # Countries without a known scheme keep the ID (upper-cased).
    r = client.post("/partners", {"legal_name": "Y", "country": "ZW", "vat_id": "abc-123"})
    assert r.status_code == 201, r.body
    assert r.body["vat_id"] == "ABC-123"


@pytest.mark.parametrize(
    "raw,normalised",
    [
        ("https://www.Example.com/path", "example.com"),
        ("Example.COM", "example.com"),
        ("http://shop.example.co.uk:8080/x#y", "shop.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_website_is_normalised_to_a_domain(raw, normalised, world, api_as):
    r = api_as(world.program_admin).post(
        "/partners", {"legal_name": "X", "country": "DE", "website_domain": raw}
    )
    assert r.status_code == 201, r.body
    assert r.body["website_domain"] == normalised


# --- change ------------------------------------------------------------------------------------


def test_parent_cycles_are_refused(world, api_as):
    client = api_as(world.program_admin)
    for parent in (world.operator, world.child_1):
        r = client.patch(f"/partners/{world.operator.pk}", {"parent_id": parent.pk})
        assert r.status_code == 400, r.body
        assert "parent_id" in field_errors(r)
    grandchild = Partner.objects.create(
        legal_name="G", display_name="G", country="DE", parent=world.child_1
    )
    r = client.patch(f"/partners/{world.operator.pk}", {"parent_id": grandchild.pk})
    assert r.status_code == 400 and field_errors(r) == {"parent_id"}
    assert Partner.objects.get(pk=world.operator.pk).parent_id is None
    # Moving a child under another partner, and back to top level, is fine.
    r = client.patch(f"/partners/{world.child_2.pk}", {"parent_id": world.partner_a.pk})
    assert r.status_code == 200 and r.body["parent_id"] == world.partner_a.pk
    r = client.patch(f"/partners/{world.child_2.pk}", {"parent_id": None})
    assert r.status_code == 200 and r.body["parent_id"] is None


def test_unknown_parent_is_a_field_error_not_a_404(world, api_as):
    r = api_as(world.program_admin).patch(f"/partners/{world.partner_a.pk}", {"parent_id": 99999})
    assert r.status_code == 400, r.body
    assert field_errors(r) == {"parent_id"}


def test_partner_admin_edits_profile_fields(world, api_as):
    client = api_as(world.admin_a)
    r = client.patch(
        f"/partners/{world.partner_a.pk}",
        {"display_name": "Alpha", "city": "Köln", "website_domain": "WWW.Alpha.example"},
    )
    assert r.status_code == 200, r.body
    assert (r.body["display_name"], r.body["city"], r.body["website_domain"]) == (
        "Alpha",
        "Köln",
        "alpha.example",
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("partner_manager_id", "other_manager"),
        ("parent_id", "operator"),
        ("parent_id", "partner_a"),
        ("parent_id", "partner_b"),  # a partner it cannot even see: still 403, not a leak
        ("parent_id", None),
        ("allow_user_invitations", False),
    ],
)
def test_partner_admin_cannot_change_staff_fields(field, value, world, api_as):
    value = getattr(world, value).pk if isinstance(value, str) else value
    before = list(Partner.objects.order_by("pk").values())
    r = api_as(world.admin_a).patch(
        f"/partners/{world.partner_a.pk}", {"display_name": "Sneaky", field: value}
    )
    assert r.status_code == 403, r.body
    assert field_errors(r) == {field}
    assert list(Partner.objects.order_by("pk").values()) == before


def test_manager_may_toggle_invitations_but_not_reassign(world, api_as):
    client = api_as(world.manager)
    r = client.patch(f"/partners/{world.partner_a.pk}", {"allow_user_invitations": False})
    assert r.status_code == 200 and r.body["allow_user_invitations"] is False
    r = client.patch(
        f"/partners/{world.partner_a.pk}", {"partner_manager_id": world.other_manager.pk}
    )
    assert r.status_code == 403 and field_errors(r) == {"partner_manager_id"}


def test_patch_rejects_null_for_required_fields(world, api_as):
    r = api_as(world.program_admin).patch(f"/partners/{world.partner_a.pk}", {"legal_name": None})
    assert r.status_code == 400 and field_errors(r) == {"legal_name"}
    # Status is not a profile field: it changes only through POST .../status (with a reason).
    r = api_as(world.program_admin).patch(
        f"/partners/{world.partner_a.pk}", {"status": "suspended"}
    )
    assert r.status_code in (200, 400, 422)
    assert Partner.objects.get(pk=world.partner_a.pk).status == "active"


# --- list: filters and pagination --------------------------------------------------------------


def names(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [p["display_name"] for p in response.body["items"]]


def test_filters(world, api_as):
    client = api_as(world.program_admin)
    Partner.objects.filter(pk=world.partner_b.pk).update(website_domain="beta-energy.example")
    Partner.objects.filter(pk=world.child_2.pk).update(status=PartnerStatus.SUSPENDED)
    r = client.post(
        f"/partners/{world.partner_a.pk}/tracks", {"program": "ev-hardware", "track": "contractor"}
    )
    assert r.status_code == 201, r.body

    assert names(client.get("/partners", q="energy")) == ["Beta Energy"]
    assert names(client.get("/partners", q="BETA-ENERGY.EX")) == ["Beta Energy"]
    assert names(client.get("/partners", q="gmbh"))  # legal name matches too
    assert names(client.get("/partners", status="suspended")) == ["Child Two"]
    assert client.get("/partners", status="nonsense").status_code == 422
    assert names(client.get("/partners", country="FR")) == ["Beta Energy"]
    assert names(client.get("/partners", country="fr")) == ["Beta Energy"]
    assert client.get("/partners", country="FRA").status_code == 422
    assert len(names(client.get("/partners", program="ev-hardware"))) == 5
    assert names(client.get("/partners", program="other")) == []
    assert names(client.get("/partners", track="contractor")) == ["Alpha Charging"]
    assert names(client.get("/partners", program="ev-hardware", track="contractor")) == [
        "Alpha Charging"
    ]
    assert names(client.get("/partners", parent_id=world.operator.pk)) == [
        "Child One",
        "Child Two",
    ]
    assert names(client.get("/partners", partner_manager_id=world.manager.pk)) == [
        "Alpha Charging",
        "Omega Operator",
    ]
    assert names(client.get("/partners", q="o", country="DE", status="active")) == [
        "Child One",
        "Omega Operator",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"parent_id": 10**20},
        {"partner_manager_id": -1},
        {"parent_id": "abc"},
        {"offset": 10**20},
        {"offset": -1},
        {"limit": 0},
        {"limit": 10**6},
        {"q": "x" * 201},
    ],
)
def test_bad_list_parameters_are_422_naming_them(params, world, api_as):
    r = api_as(world.program_admin).get("/partners", **params)
    assert r.status_code == 422, r.body
    assert locs(r) == [["query", next(iter(params))]]


def test_pagination(world, api_as):
    client = api_as(world.program_admin)
    everyone = names(client.get("/partners"))
    assert len(everyone) == 5
    r = client.get("/partners", limit=2)
    assert r.body["count"] == 5 and names(r) == everyone[:2]
    r = client.get("/partners", limit=2, offset=2)
    assert r.body["count"] == 5 and names(r) == everyone[2:4]
    r = client.get("/partners", limit=2, offset=4)
    assert names(r) == everyone[4:]
    r = client.get("/partners", offset=50)
    assert r.body == {"items": [], "count": 5}
    # Scoped counts count only what the caller sees.
    assert api_as(world.operator_admin).get("/partners", limit=1).body["count"] == 3


# --- status lifecycle --------------------------------------------------------------------------


def test_status_lifecycle_end_to_end(world, api_as):
    admin = api_as(world.program_admin)
    r = admin.post("/partners", {"legal_name": "Cycle GmbH", "country": "DE", "status": "applied"})
    assert r.status_code == 201, r.body
    pid = r.body["id"]
    manager = api_as(world.manager)
    admin.patch(f"/partners/{pid}", {"partner_manager_id": world.manager.pk})
    steps = [
        (admin, world.program_admin, "active", "Contract signed"),
        (manager, world.manager, "suspended", "Unpaid invoices"),
        (manager, world.manager, "active", "Invoices paid"),
        (admin, world.program_admin, "terminated", "Contract ended"),
    ]
    for client, _, status, reason in steps:
        r = client.post(f"/partners/{pid}/status", {"status": status, "reason": f"  {reason} "})
        assert r.status_code == 200, r.body
        assert r.body["status"] == status
    history = admin.get(f"/partners/{pid}/status-history")
    assert history.status_code == 200
    assert [
        (h["from_status"], h["to_status"], h["reason"], h["author_id"]) for h in history.body
    ] == [
        ("", "applied", "Created", world.program_admin.pk),
        *[
            (prev, status, reason, author.pk)
            for (prev, (_, author, status, reason)) in zip(
                ["applied", "active", "suspended", "active"], steps, strict=True
            )
        ],
    ]
    # Terminated is final.
    r = admin.post(f"/partners/{pid}/status", {"status": "active", "reason": "Oops"})
    assert r.status_code == 409, r.body
    assert field_errors(r) == {"status"}
    assert "terminated" in r.body["detail"][0]["msg"]
    assert StatusChange.objects.filter(partner_id=pid).count() == 5


@pytest.mark.parametrize(
    "body,status",
    [
        ({"status": "suspended"}, 422),
        ({"status": "suspended", "reason": ""}, 422),
        ({"status": "suspended", "reason": "   "}, 400),
        ({"status": "suspended", "reason": "x" * 2001}, 422),
    ],
)
def test_status_change_needs_a_reason(body, status, world, api_as):
    r = api_as(world.program_admin).post(f"/partners/{world.partner_a.pk}/status", body)
    assert r.status_code == status, r.body
    assert field_errors(r) == {"reason"}
    assert Partner.objects.get(pk=world.partner_a.pk).status == "active"
    assert not StatusChange.objects.filter(partner=world.partner_a).exists()


@pytest.mark.parametrize(
    "start,target",
    [
        ("active", "active"),
        ("active", "applied"),
        ("suspended", "applied"),
        ("terminated", "active"),
        ("terminated", "suspended"),
        ("terminated", "terminated"),
        ("applied", "suspended"),
    ],
)
def test_invalid_transitions_are_409_naming_status(start, target, world, api_as):
    Partner.objects.filter(pk=world.partner_a.pk).update(status=start)
    r = api_as(world.program_admin).post(
        f"/partners/{world.partner_a.pk}/status", {"status": target, "reason": "Try"}
    )
    assert r.status_code == 409, r.body
    assert field_errors(r) == {"status"}
    assert Partner.objects.get(pk=world.partner_a.pk).status == start
    assert not StatusChange.objects.filter(partner=world.partner_a).exists()


def test_unknown_status_is_422(world, api_as):
    r = api_as(world.program_admin).post(
        f"/partners/{world.partner_a.pk}/status", {"status": "deleted", "reason": "x"}
    )
    assert r.status_code == 422 and field_errors(r) == {"status"}


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_suspension_and_termination_revoke_pending_invitations(status, world, api_as):
    admin = api_as(world.admin_a)
    r = admin.post(
        f"/partners/{world.partner_a.pk}/invitations",
        {"email": "new@alpha.example.com", "role": "sales"},
    )
    assert r.status_code == 201, r.body
    other = api_as(world.admin_b).post(
        f"/partners/{world.partner_b.pk}/invitations",
        {"email": "new@beta.example.com", "role": "sales"},
    )
    assert other.status_code == 201
    r = api_as(world.manager).post(
        f"/partners/{world.partner_a.pk}/status", {"status": status, "reason": "Audit"}
    )
    assert r.status_code == 200, r.body
    assert Invitation.objects.get(email="new@alpha.example.com").state == "revoked"
    assert Invitation.objects.get(email="new@beta.example.com").state == "pending"
    listed = api_as(world.manager).get(f"/partners/{world.partner_a.pk}/invitations").body
    assert [i["state"] for i in listed] == ["revoked"]
    # A suspended partner cannot invite anyone new.
    r = api_as(world.manager).post(
        f"/partners/{world.partner_a.pk}/invitations",
        {"email": "late@alpha.example.com", "role": "sales"},
    )
    assert r.status_code == 409, r.body


def test_partner_users_cannot_change_status(world, api_as):
    for user in (world.admin_a, world.sales_a):
        r = api_as(user).post(
            f"/partners/{world.partner_a.pk}/status", {"status": "suspended", "reason": "x"}
        )
        assert r.status_code == 403
    r = api_as(world.operator_admin).post(
        f"/partners/{world.child_1.pk}/status", {"status": "suspended", "reason": "x"}
    )
    assert r.status_code == 403
    assert not StatusChange.objects.exists()


# --- contacts, tracks and users ----------------------------------------------------------------


def test_contacts_crud(world, api_as):
    client = api_as(world.admin_a)
    base = f"/partners/{world.partner_a.pk}/contacts"
    r = client.post(
        base,
        {
            "role": "technical",
            "name": " Tess Tech ",
            "email": "Tess@Alpha.example.com",
            "phone": "030 1234567",
        },
    )
    assert r.status_code == 201, r.body
    assert (r.body["name"], r.body["email"], r.body["phone"]) == (
        "Tess Tech",
        "tess@alpha.example.com",
        "+49301234567",
    )
    cid = r.body["id"]
    r = client.patch(f"{base}/{cid}", {"phone": "+33 1 23 45 67 89"})
    assert r.status_code == 200 and r.body["phone"] == "+33123456789"
    r = client.patch(f"{base}/{cid}", {"phone": "12"})
    assert r.status_code == 400 and field_errors(r) == {"phone"}
    r = client.patch(f"{base}/{cid}", {"email": None})
    assert r.status_code == 400 and field_errors(r) == {"email"}
    r = client.patch(f"{base}/{cid}", {"role": "boss"})
    assert r.status_code == 422 and field_errors(r) == {"role"}
    assert len(client.get(base).body) == 2
    assert client.delete(f"{base}/{cid}").status_code == 204
    assert client.delete(f"{base}/{cid}").status_code == 404
    assert [c["role"] for c in client.get(base).body] == ["billing"]


def test_tracks_join_and_leave(world, api_as):
    client = api_as(world.manager)
    base = f"/partners/{world.partner_a.pk}/tracks"
    r = client.post(base, {"program": "ev-hardware", "track": "distributor"})
    assert r.status_code == 201, r.body
    r2 = client.post(base, {"program": "ev-hardware", "track": "distributor"})
    assert r2.status_code == 409 and field_errors(r2) == {"track"}
    r3 = client.post(base, {"program": "ev-hardware", "track": "astronaut"})
    assert r3.status_code == 400 and field_errors(r3) == {"track"}
    assert "var" in r3.body["detail"][0]["msg"]  # lists the tracks that exist
    assert sorted(t["track"] for t in client.get(base).body) == ["distributor", "var"]
    assert client.delete(f"{base}/{r.body['id']}").status_code == 204
    assert [t["track"] for t in client.get(base).body] == ["var"]


def test_partner_users_role_and_deactivation(world, api_as):
    client = api_as(world.admin_a)
    base = f"/partners/{world.partner_a.pk}/users"
    assert [u["email"] for u in client.get(base).body] == ["admin@alpha.test", "sales@alpha.test"]
    r = client.patch(f"{base}/{world.sales_a.pk}", {"role": "billing"})
    assert r.status_code == 200 and r.body["role"] == "billing"
    r = client.patch(f"{base}/{world.sales_a.pk}", {"is_active": False})
    assert r.status_code == 200 and r.body["is_active"] is False
    r = client.patch(f"{base}/{world.admin_a.pk}", {"role": "sales"})
    assert r.status_code == 409
    r = client.patch(f"{base}/{world.admin_a.pk}", {"is_active": False})
    assert r.status_code == 409
    r = client.patch(f"{base}/{world.sales_a.pk}", {"role": "owner"})
    assert r.status_code == 422 and field_errors(r) == {"role"}


def test_patch_with_a_field_that_cannot_be_changed_is_refused_by_name(world, api_as):
    response = api_as(world.program_admin).patch(
        f"/partners/{world.partner_a.pk}", {"status": "terminated"}
    )
    assert response.status_code == 422
    assert response.body["detail"][0]["loc"] == ["body", "status"]
    world.partner_a.refresh_from_db()
    assert world.partner_a.status == "active"
