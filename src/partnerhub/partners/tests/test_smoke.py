def test_partner_lists_are_scoped(world, api_as):
    r = api_as(world.admin_a).get("/partners")
    assert r.status_code == 200, r.body
    assert [p["display_name"] for p in r.body["items"]] == ["Alpha Charging"]
    r = api_as(world.operator_admin).get("/partners")
    assert sorted(p["display_name"] for p in r.body["items"]) == [
        "Child One",
        "Child Two",
        "Omega Operator",
    ]
    r = api_as(world.manager).get("/partners")
    assert sorted(p["display_name"] for p in r.body["items"]) == [
        "Alpha Charging",
        "Omega Operator",
    ]
    r = api_as(world.viewer).get("/partners")
    assert r.body["count"] == 5
