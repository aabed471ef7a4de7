"""The installation itself: production settings pass Django's deploy checks, the task worker
runs queued work, the home page and health check answer, the admin shows what roles allow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core import mail
from django.core.management import call_command


def test_production_settings_pass_deploy_check(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        "DEBUG": "0",
        "SECRET_KEY": "x7!k2p" * 12,
        "ALLOWED_HOSTS": "partners.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "partnerhub.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_default_settings_fail_deploy_check_without_a_secret_key(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        "DEBUG": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "partnerhub.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_worker_runs_queued_email(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from partnerhub.core.tasks import send_email

    result = send_email.enqueue(to=["someone@partner.test"], subject="Hello", body="Queued")
    assert mail.outbox == []  # queued, not sent yet
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert [m.subject for m in mail.outbox] == ["Hello"]
    result.refresh()
    assert result.status == "SUCCESSFUL"


def test_worker_alias_runs_the_database_worker():
    from partnerhub.manage import ALIASES

    assert ALIASES["worker"] == ["db_worker"]


def test_home_and_health(client, db):
    assert client.get("/healthz").content == b"ok"
    page = client.get("/")
    assert page.status_code == 200
    assert b"/api/v1/docs" in page.content
    assert b">Sign in<" in page.content


def test_home_offers_a_signed_in_user_the_start_page_not_sign_in(client, world):
    client.force_login(world.admin_a)
    page = client.get("/").content.decode()
    assert ">Your start page<" in page and "signed in as admin@alpha.test" in page
    assert ">Sign in<" not in page


ADMIN_PAGES = [
    "/admin/",
    "/admin/partners/partner/",
    "/admin/partners/contact/",
    "/admin/partners/invitation/",
    "/admin/partners/partnerapplication/",
    "/admin/partners/statuschange/",
    "/admin/programs/program/",
    "/admin/programs/programversion/",
    "/admin/programs/track/",
    "/admin/accounts/user/",
    "/admin/accounts/apitoken/",
    "/admin/auditlog/logentry/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_program_admin_sees_every_admin_page(client, world, url):
    client.force_login(world.program_admin)
    assert client.get(url).status_code == 200


def test_admin_change_pages_render(client, world, ev_program):
    client.force_login(world.program_admin)
    version = ev_program.versions.get()
    for url in (
        f"/admin/partners/partner/{world.partner_a.pk}/change/",
        f"/admin/programs/program/{ev_program.pk}/change/",
        f"/admin/programs/programversion/{version.pk}/change/",
        f"/admin/programs/track/{version.tracks.first().pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


def test_partner_manager_admin_lists_only_assigned_partners(client, world):
    client.force_login(world.manager)
    page = client.get("/admin/partners/partner/")
    assert page.status_code == 200
    listed = {p.display_name for p in page.context["cl"].result_list}
    assert listed == {"Alpha Charging", "Omega Operator"}
    assert client.get(f"/admin/partners/partner/{world.partner_b.pk}/change/").status_code in (
        302,
        403,
        404,
    )


def test_partner_users_cannot_enter_the_back_office(client, world):
    client.force_login(world.admin_a)
    response = client.get("/admin/partners/partner/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_status_action_records_reason_and_author(client, world):
    client.force_login(world.program_admin)
    response = client.post(
        "/admin/partners/partner/",
        {"action": "suspend", "_selected_action": [world.partner_b.pk]},
    )
    assert response.status_code == 302
    world.partner_b.refresh_from_db()
    assert world.partner_b.status == "suspended"
    change = world.partner_b.status_changes.last()
    assert change.author == world.program_admin
    assert change.from_status == "active"
