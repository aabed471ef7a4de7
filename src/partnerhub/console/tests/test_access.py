"""Who may open which console page: staff get it, partner users go to the portal, anonymous
visitors to the login page, and objects outside a manager's partners answer 404."""

import pytest
from django.urls import reverse

PAGES = [
    ("console:home", {}),
    ("console:partners", {}),
    ("console:review-queue", {}),
    ("console:programs", {}),
    ("console:audit", {}),
]


def _url(world, name, kwargs):
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_anonymous_goes_to_login(client, world, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_partner_user_goes_to_portal(client, world, name, kwargs):
    client.force_login(world.admin_a)
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_partner_pages_redirect_partner_users(client, world, register):
    reg = register()
    client.force_login(world.sales_a)
    for url in (
        reverse("console:partner", args=[world.partner_a.pk]),
        reverse("console:registration", args=[reg.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")
    response = client.post(reverse("console:registration-approve", args=[reg.pk]))
    assert response.status_code == 302
    reg.refresh_from_db()
    assert reg.status == "submitted"


@pytest.mark.parametrize("role", ["program_admin", "manager", "finance", "viewer"])
def test_staff_see_health_partners_and_audit(client, world, role):
    client.force_login(getattr(world, role))
    for name, key in (
        ("console:home", "Program health"),
        ("console:partners", "Partners"),
        ("console:audit", "Audit log"),
    ):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert key in response.content.decode()


def test_review_queue_and_programs_need_their_permission(client, world):
    client.force_login(world.finance)
    assert client.get(reverse("console:review-queue")).status_code == 403
    assert client.get(reverse("console:programs")).status_code == 403
    client.force_login(world.manager)
    assert client.get(reverse("console:review-queue")).status_code == 200
    assert client.get(reverse("console:programs")).status_code == 403
    client.force_login(world.program_admin)
    assert client.get(reverse("console:programs")).status_code == 200


def test_nav_shows_only_allowed_pages(client, world):
    client.force_login(world.viewer)
    body = client.get(reverse("console:home")).content.decode()
    assert reverse("console:review-queue") not in body
    assert reverse("console:programs") not in body
    client.force_login(world.program_admin)
    body = client.get(reverse("console:home")).content.decode()
    assert reverse("console:review-queue") in body
    assert reverse("console:programs") in body


def test_manager_cannot_open_another_managers_partner(client, world):
    client.force_login(world.manager)
    assert client.get(reverse("console:partner", args=[world.partner_a.pk])).status_code == 200
    assert client.get(reverse("console:partner", args=[world.partner_b.pk])).status_code == 404
    assert client.get(reverse("console:partner", args=[999999])).status_code == 404


def test_manager_cannot_see_or_decide_foreign_registrations(client, world, register):
    foreign = register(world.partner_b, name="Foreign Fleet Ltd")
    client.force_login(world.manager)
    assert client.get(reverse("console:registration", args=[foreign.pk])).status_code == 404
    response = client.post(reverse("console:registration-approve", args=[foreign.pk]), {})
    assert response.status_code == 404
    response = client.post(
        reverse("console:registration-reject", args=[foreign.pk]), {"reason": "no"}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "submitted"
    body = client.get(reverse("console:review-queue")).content.decode()
    assert foreign.reference not in body


def test_pages_have_no_inline_script_or_style(client, world, register):
    register()
    client.force_login(world.program_admin)
    for url in (
        reverse("console:home"),
        reverse("console:partners"),
        reverse("console:partner", args=[world.partner_a.pk]),
        reverse("console:review-queue"),
        reverse("console:programs"),
        reverse("console:audit"),
    ):
        body = client.get(url).content.decode()
        assert "style=" not in body, url
        assert "<script>" not in body and "onclick" not in body, url
